import LatteNN

/// Training a subset of the timestep experts. The groups share only the patch embedding and the
/// timestep embedder; everything else in a group (its layers and, with per-group heads, its head) is
/// its own, so the compute of a run can be spent on the experts that still improve. On the default
/// model, swapping trained experts between checkpoints showed the gains of later training came from
/// the low-noise experts (models/latteflow-fashion/README.md), which a run limited to them trains at
/// 2.5× the samples per step.
extension LayerwiseTimestepExperts {
    /// Freezes every parameter except the layers and heads of `groups` (shared embeddings included),
    /// so only those experts learn. Call before packing the parameters for training.
    public func trainOnly(groups: [Int]) throws {
        let c = configuration
        for k in groups where k < 0 || k >= c.groups {
            throw GeneratorError.invalidInput("expert group \(k) does not exist: the model has groups 0…\(c.groups - 1)")
        }
        freeze()
        for k in Set(groups) {
            for l in layerRange(group: k) { layers[l].unfreeze() }
            if c.perGroupHeads { heads[k].unfreeze() }
        }
    }
}

extension GeneratorConfiguration {
    /// The times [lower, upper) owned by `groups`, which must be contiguous (e.g. 3, 4).
    public func timeInterval(groups: [Int]) throws -> (lower: Float, upper: Float) {
        let sorted = Array(Set(groups)).sorted()
        guard let first = sorted.first, let last = sorted.last, first >= 0, last < self.groups else {
            throw GeneratorError.invalidInput("groups \(groups) are not among 0…\(self.groups - 1)")
        }
        guard sorted == Array(first...last) else {
            throw GeneratorError.invalidInput("groups \(groups) are not contiguous: their times must form one interval")
        }
        let b = resolvedBoundaries
        return (b[first], b[last + 1])
    }
}
