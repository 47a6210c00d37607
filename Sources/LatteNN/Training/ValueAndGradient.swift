import LatteTensor

/// Evaluates `loss(model)` on a fresh tape and adds the gradients of the model's trainable
/// parameters into `arena.gradients`; returns the loss.
///
/// Gradients accumulate: call it once per micro-batch (scale each loss by 1/k for a mean) and zero
/// the arena after the optimiser step. Frozen parameters and everything built under
/// `withoutGradient` record nothing.
@discardableResult
public func valueAndGradient<M: Module>(_ model: M, accumulatingInto arena: ParameterArena, _ loss: (M) throws -> Tensor) rethrows -> Float {
    arena.checkCurrent("valueAndGradient")
    let tape = GradientTape()
    let value = try tape.record { try loss(model) }
    precondition(value.count == 1, "the loss must be a single value, got shape \(value.shape)")
    let grads = tape.backward(from: value)
    for (slot, g) in grads {
        if let index = arena.indexBySlot[slot] { arena.accumulate(g, into: index) }
    }
    return value.item()
}

/// Evaluates `loss(model)` and returns it with the gradient of every trainable parameter by key
/// (zeros for parameters the loss does not depend on). For models without an arena.
public func valueAndGradient<M: Module>(_ model: M, _ loss: (M) throws -> Tensor) rethrows -> (value: Float, gradients: [String: Tensor]) {
    let tape = GradientTape()
    let value = try tape.record { try loss(model) }
    precondition(value.count == 1, "the loss must be a single value, got shape \(value.shape)")
    let grads = tape.backward(from: value)
    var out: [String: Tensor] = [:]
    for (key, p) in model.namedParameters() where p.isTrainable {
        out[key] = grads[ObjectIdentifier(p.slot)]?.contiguous() ?? Tensor.zeros(p.shape)
    }
    return (value.item(), out)
}
