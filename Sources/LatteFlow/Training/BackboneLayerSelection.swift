import Foundation

/// Which frozen backbone layers the generation layers pair with (`latte train --backbone-layers`,
/// `"backbone_layers"` in a generator config file). Generation layer ℓ reads the prompt keys and
/// values of the ℓ-th selected backbone layer, so the generator has as many layers as are selected,
/// in increasing order: its lowest layers (the noisiest expert) read the lowest selected layers.
///
/// Written as text:
///
///     all            every backbone layer (the default; LMFusion's one twin per layer)
///     every:N        layers 0, N, 2N, … below the backbone's layer count (every:2 on 28 layers: 14)
///     0-13           an inclusive range
///     0-6,14-20,27   indices and ranges, comma-separated, increasing
///
/// A configuration file may also give a JSON array of indices.
public enum BackboneLayerSelection: Sendable, Equatable, CustomStringConvertible {
    case all
    case every(Int)
    /// Indices as given (a JSON array).
    case list([Int])
    /// Inclusive ranges as written ("0-13,20" is 0...13 and 20...20), kept as ranges until resolved so a
    /// hostile "0-999999999" costs nothing before it is refused.
    case ranges([ClosedRange<Int>])

    /// Parses the text form above; errors quote the text and say what is wrong.
    public init(parsing text: String) throws {
        let s = text.trimmingCharacters(in: .whitespaces)
        func fail(_ why: String) -> GeneratorError {
            .invalidConfiguration("backbone layers '\(text)': \(why) (use all, every:N, or indices and ranges such as 0-13,20)")
        }
        if s == "all" { self = .all; return }
        if s.hasPrefix("every:") {
            guard let n = Int(s.dropFirst("every:".count)), n >= 1 else { throw fail("every:N needs a whole number N ≥ 1") }
            self = .every(n)
            return
        }
        var ranges: [ClosedRange<Int>] = []
        for item in s.split(separator: ",", omittingEmptySubsequences: false) {
            let part = item.trimmingCharacters(in: .whitespaces)
            let bounds = part.split(separator: "-", omittingEmptySubsequences: false)
            guard (1...2).contains(bounds.count), let first = Int(bounds[0]), let last = Int(bounds[bounds.count - 1]) else {
                throw fail("'\(part)' is neither an index nor a range A-B")
            }
            guard first >= 0, first <= last else { throw fail("'\(part)' is not an increasing range of indices from 0") }
            ranges.append(first...last)
        }
        self = .ranges(ranges)
    }

    public var description: String {
        switch self {
        case .all: return "all"
        case .every(let n): return "every:\(n)"
        case .list(let l): return l.map(String.init).joined(separator: ",")
        case .ranges(let r): return r.map { $0.count == 1 ? "\($0.lowerBound)" : "\($0.lowerBound)-\($0.upperBound)" }.joined(separator: ",")
        }
    }

    /// The selected indices of a backbone with `layerCount` layers: non-empty, increasing, each in
    /// 0..<layerCount, or an error naming the offending index.
    public func resolve(layerCount: Int) throws -> [Int] {
        let indices: [Int]
        switch self {
        case .all: indices = Array(0..<layerCount)
        case .every(let n):
            guard n >= 1 else { throw GeneratorError.invalidConfiguration("backbone layers every:\(n): N must be at least 1") }
            indices = Array(stride(from: 0, to: layerCount, by: n))
        case .list(let l): indices = l
        case .ranges(let r):
            // Bounds first: only ranges inside the backbone are ever expanded.
            if let bad = r.first(where: { $0.upperBound >= layerCount }) {
                throw GeneratorError.invalidConfiguration(
                    "backbone layers '\(self)': layer \(bad.upperBound) does not exist, the backbone has \(layerCount) layers (0-\(layerCount - 1))")
            }
            indices = r.flatMap { Array($0) }
        }
        guard !indices.isEmpty else { throw GeneratorError.invalidConfiguration("backbone layers '\(self)' select no layer") }
        if let bad = indices.first(where: { $0 < 0 || $0 >= layerCount }) {
            throw GeneratorError.invalidConfiguration(
                "backbone layers '\(self)': layer \(bad) does not exist, the backbone has \(layerCount) layers (0-\(layerCount - 1))")
        }
        if let i = indices.indices.dropFirst().first(where: { indices[$0] <= indices[$0 - 1] }) {
            throw GeneratorError.invalidConfiguration(
                "backbone layers '\(self)': layer \(indices[i]) follows \(indices[i - 1]); list each layer once, in increasing order")
        }
        return indices
    }
}
