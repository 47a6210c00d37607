import ArgumentParser
import LatteBenchmarks

/// Runs `body`, turning an option a benchmark rejects into ArgumentParser's usage error, so a bad
/// `--shapes` or `--attention` prints "Error: …" and the usage line like any flag ArgumentParser rejects.
func usageErrors<T>(_ body: () throws -> T) throws -> T {
    do { return try body() } catch let error as BenchmarkOptionError { throw ValidationError(error.description) }
}
