import LatteTensor

/// A learnable value with a stable identity.
///
/// The tensor itself is an immutable value; a parameter is the one place that holds the current
/// value and a `GradSlot` it keeps for life, so the tape can key this parameter's gradient across
/// steps. A frozen parameter hands out its tensor without the slot: ops record nothing for it and no
/// gradient memory is ever spent on it.
public final class Parameter {
    /// The current value (no gradient slot; use `tensor` in forward passes).
    public private(set) var value: Tensor
    /// The gradient identity of this parameter on any tape.
    public let slot = GradSlot()
    /// Frozen parameters are constants to the tape and are left out of gradient arenas.
    public var isTrainable: Bool {
        didSet { if isTrainable != oldValue { arena?.markStale(reason: "a packed parameter was frozen or unfrozen") } }
    }

    /// The arena this parameter's value lives in, if packed (see `ParameterArena`).
    weak var arena: ParameterArena?

    public init(_ value: Tensor, trainable: Bool = true) {
        self.value = value.detached()
        self.isTrainable = trainable
    }

    /// The value as used in a forward pass: differentiable when trainable.
    @inline(__always)
    public var tensor: Tensor { value.withGradSlot(isTrainable ? slot : nil) }

    public var shape: [Int] { value.shape }
    public var count: Int { value.count }

    /// Replaces the value. A packed parameter keeps its arena slot: the new values (any float dtype)
    /// are converted and copied into it, so arena views stay valid. The shape must not change.
    public func assign(_ newValue: Tensor) {
        precondition(newValue.shape == value.shape, "assigning shape \(newValue.shape) to a parameter of shape \(value.shape)")
        if arena != nil, value.dtype == .float32 {
            let src = newValue.detached().toFloat32().contiguous()
            withExtendedLifetime(src) { value.f32.update(from: src.f32, count: value.count) }
        } else {
            value = newValue.detached()
        }
    }

    /// Rebinds the value to a view into an arena (used by `ParameterArena` only).
    func bind(to view: Tensor, arena: ParameterArena) {
        value = view
        self.arena = arena
    }
}

/// How a layer's initial values are drawn.
public enum Initializer: Sendable {
    /// torch.nn.Linear / Conv2d default: kaiming_uniform(a = √5), i.e. U(−1/√fanIn, 1/√fanIn).
    case torchDefault
    /// U(−bound, bound).
    case uniform(Float)
    /// N(0, std²).
    case normal(std: Float)
    /// Every element equal.
    case constant(Float)

    /// A tensor of `shape` drawn from this initialiser; `fanIn` is used by `.torchDefault`.
    public func make(_ shape: [Int], fanIn: Int, generator: inout RandomGenerator) -> Tensor {
        switch self {
        case .torchDefault:
            let bound = 1 / Float(Swift.max(fanIn, 1)).squareRoot()
            return Tensor.uniform(shape, low: -bound, high: bound, generator: &generator)
        case .uniform(let bound):
            return Tensor.uniform(shape, low: -bound, high: bound, generator: &generator)
        case .normal(let std):
            return Tensor.normal(shape, std: std, generator: &generator)
        case .constant(let v):
            return Tensor.full(shape, v)
        }
    }
}

extension Tensor {
    /// Zeros of `shape` that cost one element of memory (a zero-stride view). Layers built only to
    /// receive a checkpoint use these as placeholders, so loading never doubles peak memory.
    static func placeholderZeros(_ shape: [Int]) -> Tensor {
        Tensor(storage: Tensor.zeros([1]).storage, shape: shape, strides: [Int](repeating: 0, count: shape.count))
    }
}
