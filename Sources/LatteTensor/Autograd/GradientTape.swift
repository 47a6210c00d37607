import Foundation

/// Identity of a differentiable value on a tape. Parameters keep one for life; every recorded op
/// output gets a fresh one. Only identity matters: gradients are kept by the tape, keyed by slot.
public final class GradSlot: @unchecked Sendable {
    public init() {}
}

/// One recorded op: how to turn the gradient of its output into gradients of its inputs.
struct TapeEntry {
    let output: GradSlot
    let inputs: [GradSlot?]
    /// Returns one gradient per input (nil where an input needs none); shapes equal the inputs'.
    let backward: (Tensor) -> [Tensor?]
}

/// Reverse-mode differentiation on a tape.
///
/// Ops record themselves only while a tape is recording on the current thread and at least one
/// input carries a gradient slot, so inference and frozen parts record nothing and keep no
/// activations. The backward pass walks the tape in reverse, frees each output gradient once it has
/// been consumed, and never records (no higher-order gradients).
///
///     let tape = GradientTape()
///     let x = input.requiringGradient()
///     let loss = tape.record { (x * x).sum() }
///     let dx = tape.gradients(of: loss, with: [x])[0]
public final class GradientTape {
    var entries: [TapeEntry] = []

    public init() {}

    /// Runs `body` with this tape recording on the current thread.
    public func record<R>(_ body: () throws -> R) rethrows -> R {
        let state = TapeState.current
        let saved = (state.tape, state.paused)
        state.tape = self
        state.paused = false
        defer { (state.tape, state.paused) = saved }
        return try body()
    }

    /// Number of ops recorded so far.
    public var recordedOps: Int { entries.count }

    /// Gradients of the scalar `output` with respect to each of `inputs` (zeros for inputs the output
    /// does not depend on). `seed` defaults to 1 (d output / d output).
    public func gradients(of output: Tensor, with inputs: [Tensor], seed: Tensor? = nil) -> [Tensor] {
        let slots = inputs.map { t -> GradSlot in
            guard let s = t.gradSlot else { preconditionFailure("gradient requested for a tensor without a gradient slot (call requiringGradient())") }
            return s
        }
        let grads = backward(from: output, seed: seed)
        return zip(slots, inputs).map { slot, t in grads[ObjectIdentifier(slot)] ?? Tensor.zeros(t.shape) }
    }

    /// Runs the backward pass from `output` and returns the gradients of every leaf slot reached
    /// (slots that were never produced by a recorded op: parameters and watched inputs).
    public func backward(from output: Tensor, seed: Tensor? = nil) -> [ObjectIdentifier: Tensor] {
        guard let root = output.gradSlot else { return [:] }
        let seed = seed ?? Tensor.ones(output.shape)
        precondition(seed.shape == output.shape, "seed shape \(seed.shape) differs from output shape \(output.shape)")
        var grads: [ObjectIdentifier: Tensor] = [ObjectIdentifier(root): seed]
        var produced = Set<ObjectIdentifier>()
        for e in entries { produced.insert(ObjectIdentifier(e.output)) }

        let state = TapeState.current
        let saved = state.paused
        state.paused = true
        defer { state.paused = saved }

        for entry in entries.reversed() {
            let key = ObjectIdentifier(entry.output)
            guard let g = grads.removeValue(forKey: key) else { continue }
            let inputGrads = entry.backward(g)
            for (slot, ig) in zip(entry.inputs, inputGrads) {
                guard let slot, let ig else { continue }
                let k = ObjectIdentifier(slot)
                if let existing = grads[k] { grads[k] = existing.adding(ig) } else { grads[k] = ig }
            }
        }
        // Whatever is left belongs to leaves (or to ops whose output was the root and consumed).
        return grads.filter { !produced.contains($0.key) }
    }
}

/// Per-thread recording state.
final class TapeState {
    var tape: GradientTape?
    var paused = false

    private static let key: pthread_key_t = {
        var k = pthread_key_t()
        pthread_key_create(&k) { ptr in if let ptr { Unmanaged<TapeState>.fromOpaque(ptr).release() } }
        return k
    }()

    static var current: TapeState {
        if let p = pthread_getspecific(key) { return Unmanaged<TapeState>.fromOpaque(p).takeUnretainedValue() }
        let s = TapeState()
        pthread_setspecific(key, Unmanaged.passRetained(s).toOpaque())
        return s
    }

    /// The tape that should record right now, if any.
    static var recordingTape: GradientTape? {
        let s = current
        return s.paused ? nil : s.tape
    }
}

/// Runs `body` without recording anything (frozen backbones, inference, EMA updates).
public func withoutGradient<R>(_ body: () throws -> R) rethrows -> R {
    let state = TapeState.current
    let saved = state.paused
    state.paused = true
    defer { state.paused = saved }
    return try body()
}

extension Tensor {
    /// The same values as a differentiable leaf with a fresh gradient slot.
    public func requiringGradient() -> Tensor {
        var t = self
        t.gradSlot = GradSlot()
        return t
    }

    /// The same values with a given slot (parameters keep theirs across steps).
    public func withGradSlot(_ slot: GradSlot?) -> Tensor {
        var t = self
        t.gradSlot = slot
        return t
    }

    /// The same values, cut from the tape (gradients do not flow through).
    public func detached() -> Tensor {
        var t = self
        t.gradSlot = nil
        return t
    }

    public var requiresGradient: Bool { gradSlot != nil }

    /// Records `output` as computed from `inputs` when a tape is recording and some input is
    /// differentiable; `backward` maps the output gradient to one gradient per input.
    @inline(__always)
    static func record(_ output: Tensor, _ inputs: [Tensor], _ backward: @escaping (Tensor) -> [Tensor?]) -> Tensor {
        guard let tape = TapeState.recordingTape, inputs.contains(where: { $0.gradSlot != nil }) else { return output }
        let slot = GradSlot()
        tape.entries.append(TapeEntry(output: slot, inputs: inputs.map(\.gradSlot), backward: backward))
        var out = output
        out.gradSlot = slot
        return out
    }
}

/// The value of `f` at `inputs` and its gradient with respect to each input (f must return a scalar).
public func valueAndGradient(at inputs: [Tensor], _ f: ([Tensor]) -> Tensor) -> (value: Tensor, gradients: [Tensor]) {
    let tape = GradientTape()
    let watched = inputs.map { $0.requiringGradient() }
    let value = tape.record { f(watched) }
    return (value.detached(), tape.gradients(of: value, with: watched))
}
