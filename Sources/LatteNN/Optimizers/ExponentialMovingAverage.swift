import Foundation
import LatteTensor

/// An exponential moving average of the packed parameters (a shadow arena):
///
///     shadow ← shadow − (1 − d)·(shadow − θ)
///
/// with d = `decay`, or in warm-up form d = min(decay, (1 + n) / (10 + n)) after n earlier updates
/// (as diffusers' EMAModel), so early averages are not dominated by the random initialisation.
public final class ExponentialMovingAverage {
    public let arena: ParameterArena
    public let decay: Float
    public let warmup: Bool
    public private(set) var updates = 0
    let shadow: ArenaBuffer

    /// Starts the shadow at the current parameter values.
    public init(arena: ParameterArena, decay: Float = 0.999, warmup: Bool = false) {
        self.arena = arena
        self.decay = decay
        self.warmup = warmup
        shadow = ArenaBuffer(count: arena.count)
        shadow.pointer.update(from: arena.valuePointer, count: arena.count)
    }

    /// The decay the next update will use.
    public var currentDecay: Float {
        warmup ? Swift.min(decay, Float(1 + updates) / Float(10 + updates)) : decay
    }

    public func update() {
        arena.checkCurrent("ExponentialMovingAverage.update")
        let d = currentDecay, oneMinus = 1 - d
        let s = shadow.pointer, p = UnsafePointer(arena.valuePointer)
        for i in 0..<arena.count { s[i] -= oneMinus * (s[i] - p[i]) }
        updates += 1
    }

    /// Exchanges model values and averages (swap, evaluate, swap back).
    public func swapWithParameters() {
        let s = shadow.pointer, p = arena.valuePointer
        for i in 0..<arena.count { let t = s[i]; s[i] = p[i]; p[i] = t }
    }

    /// The averages keyed by parameter key (views), to save like a model's parameters.
    public func averagedTensors() -> [String: Tensor] {
        var out: [String: Tensor] = [:]
        for e in arena.entries { out[e.key] = shadow.view(e) }
        return out
    }

    public func stateMetadata() -> [String: String] {
        ["ema_decay": "\(decay)", "ema_warmup": "\(warmup)", "ema_updates": "\(updates)"]
    }

    /// Restores averages and update count saved with `averagedTensors` / `stateMetadata`.
    public func loadState(tensors: [String: Tensor], metadata: [String: String]) throws {
        let n = try metadataInt(metadata, "ema_updates")
        var problems: [ParameterLoadError.Problem] = []
        let keys = Set(arena.entries.map(\.key))
        for e in arena.entries {
            guard let t = tensors[e.key] else { problems.append(.missing(key: e.key, expected: e.shape)); continue }
            if t.shape != e.shape { problems.append(.shapeMismatch(key: e.key, expected: e.shape, found: t.shape)) }
        }
        for k in tensors.keys.sorted() where !keys.contains(k) { problems.append(.unexpected(key: k, found: tensors[k]!.shape)) }
        if !problems.isEmpty { throw ParameterLoadError(problems: problems) }
        for e in arena.entries {
            let src = tensors[e.key]!.toFloat32().contiguous()
            withExtendedLifetime(src) { (shadow.pointer + e.offset).update(from: src.f32, count: e.count) }
        }
        updates = n
    }

    public func save(to url: URL) throws {
        try Safetensors.write(averagedTensors(), metadata: stateMetadata(), to: url)
    }

    public func load(from url: URL) throws {
        try readStateFile(url) { try loadState(tensors: $0, metadata: $1) }
    }
}
