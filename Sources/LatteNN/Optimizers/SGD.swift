import LatteTensor

/// Stochastic gradient descent with momentum, as torch.optim.SGD:
///
///     g ← g + λ·θ                      (L2 weight decay, coupled)
///     b ← g on the first step, else μ·b + (1 − dampening)·g
///     θ ← θ − lr·(nesterov ? g + μ·b : b)
public final class SGD: Optimizer {
    public let arena: ParameterArena
    public var momentum: Float
    public var dampening: Float
    public var weightDecay: Float
    public var nesterov: Bool
    public private(set) var step = 0
    let buffer: ArenaBuffer

    public init(arena: ParameterArena, momentum: Float = 0, dampening: Float = 0, weightDecay: Float = 0, nesterov: Bool = false) {
        self.arena = arena
        (self.momentum, self.dampening, self.weightDecay, self.nesterov) = (momentum, dampening, weightDecay, nesterov)
        buffer = ArenaBuffer(count: arena.count)
    }

    public func update(learningRate lr: Float) {
        arena.checkCurrent("SGD.update")
        let p = arena.valuePointer, g = UnsafePointer(arena.gradientPointer), b = buffer.pointer
        let (mu, damp, wd, first) = (momentum, 1 - dampening, weightDecay, step == 0)
        for i in 0..<arena.count {
            var d = g[i] + wd * p[i]
            if mu != 0 {
                let bi = first ? d : mu * b[i] + damp * d
                b[i] = bi
                d = nesterov ? d + mu * bi : bi
            }
            p[i] -= lr * d
        }
        step += 1
    }

    public func stateTensors() -> [String: Tensor] { arena.stateViews([("momentum_buffer", buffer)]) }

    public func stateMetadata() -> [String: String] {
        ["optimizer": "SGD", "step": "\(step)", "momentum": "\(momentum)", "dampening": "\(dampening)",
         "weight_decay": "\(weightDecay)", "nesterov": "\(nesterov)"]
    }

    public func loadState(tensors: [String: Tensor], metadata: [String: String]) throws {
        guard metadata["optimizer"] == "SGD" else {
            throw OptimizerStateError(message: "state was saved by optimiser '\(metadata["optimizer"] ?? "unknown")', not SGD")
        }
        let s = try metadataInt(metadata, "step")
        try arena.loadStateViews([("momentum_buffer", buffer)], from: tensors)
        step = s
    }
}
