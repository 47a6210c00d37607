/// An option value a benchmark cannot run with (a malformed shape, a size the model cannot take).
/// The command line shows it as a usage error; code that calls a benchmark gets an ordinary error.
public struct BenchmarkOptionError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
