import LatteTensor

/// 2-D cross-correlation over [N, C, H, W] with weight [out, in/groups, kh, kw] (torch.nn.Conv2d).
public final class Conv2d: Module, UnaryLayer {
    public let weight: Parameter
    public let bias: Parameter?
    public let stride: Int
    public let padding: Int
    public let groups: Int

    /// Randomly initialised as torch: U(±1/√fanIn), fanIn = in/groups · kh · kw.
    public init(_ inChannels: Int, _ outChannels: Int, kernelSize: Int, stride: Int = 1, padding: Int = 0,
                groups: Int = 1, bias: Bool = true, weightInit: Initializer = .torchDefault, generator: inout RandomGenerator) {
        precondition(inChannels % groups == 0 && outChannels % groups == 0,
                     "Conv2d: channels \(inChannels)→\(outChannels) do not split into \(groups) groups")
        let fanIn = inChannels / groups * kernelSize * kernelSize
        weight = Parameter(weightInit.make([outChannels, inChannels / groups, kernelSize, kernelSize], fanIn: fanIn, generator: &generator))
        self.bias = bias ? Parameter(Initializer.torchDefault.make([outChannels], fanIn: fanIn, generator: &generator)) : nil
        self.stride = stride
        self.padding = padding
        self.groups = groups
    }

    /// Zero placeholders for a layer loaded from a checkpoint.
    public init(_ inChannels: Int, _ outChannels: Int, kernelSize: Int, stride: Int = 1, padding: Int = 0, groups: Int = 1, bias: Bool = true) {
        weight = Parameter(.placeholderZeros([outChannels, inChannels / groups, kernelSize, kernelSize]))
        self.bias = bias ? Parameter(.placeholderZeros([outChannels])) : nil
        self.stride = stride
        self.padding = padding
        self.groups = groups
    }

    public func callAsFunction(_ x: Tensor) -> Tensor {
        Tensor.conv2d(x, weight: weight.tensor, bias: bias?.tensor, stride: stride, padding: padding, groups: groups)
    }
}
