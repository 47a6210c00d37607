import LatteTensor

/// The learned residual-attention gates of a generator, read out per layer, time and head: the study of
/// whether the gate opens, and where (docs/ablations.md; `latte inspect gates`).
public struct ResidualGateValues: Sendable, Equatable {
    /// The times the gates were evaluated at (t: 0 = noise, 1 = data).
    public let times: [Float]
    /// Per generation layer: nil for a layer without a gate (each group's first layer, which starts the
    /// chain, or every layer with residual attention off); else [time][query head] γ_ℓ(t) in (−1, 1).
    public let layers: [[[Float]]?]
    /// The group owning each time; a layer's gate only acts at the times its own group owns.
    public let owningGroup: [Int]
    /// The group each layer belongs to.
    public let layerGroup: [Int]

    /// Whether layer `layer`'s gate ever acts at `times[index]` (its group owns that time).
    public func isActive(layer: Int, timeIndex: Int) -> Bool { layerGroup[layer] == owningGroup[timeIndex] }
}

extension LayerwiseTimestepExperts {
    /// γ_ℓ(t) = tanh(W·SiLU(temb(t)) + b) for every gated layer at each of `times`: the value sampling
    /// and training use (the same timestep embedder and gate), evaluated without a graph.
    public func residualGateValues(times: [Float]) -> ResidualGateValues {
        let c = configuration
        let layers: [[[Float]]?] = withoutGradient {
            let conditioning = times.isEmpty ? nil : t_embedder(times).silu()
            return self.layers.map { layer -> [[Float]]? in
                guard let gate = layer.residual_gate else { return nil }
                guard let conditioning else { return [] }
                let values = gate(conditioning).toArray()   // [T, heads, 1, 1]
                let heads = values.count / times.count
                return (0..<times.count).map { Array(values[($0 * heads)..<(($0 + 1) * heads)]) }
            }
        }
        return ResidualGateValues(times: times, layers: layers, owningGroup: times.map { c.group(owning: $0) },
                                  layerGroup: (0..<c.layerCount).map { $0 / c.layersPerGroup })
    }
}
