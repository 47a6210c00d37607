import LatteTensor

extension ParameterArena {
    /// The L2 norm of all gradients (accumulated in double over one sweep).
    public func gradientNorm() -> Float {
        let g = UnsafePointer(gradientPointer)
        var acc = SIMD8<Double>()
        let n8 = count / 8 * 8
        var i = 0
        while i < n8 {
            let v = SIMD8<Double>(SIMD8<Float>(UnsafeBufferPointer(start: g + i, count: 8)))
            acc += v * v
            i += 8
        }
        var s = acc.sum()
        while i < count { s += Double(g[i]) * Double(g[i]); i += 1 }
        return Float(s.squareRoot())
    }

    /// Scales every gradient by `factor` in one sweep.
    public func scaleGradients(by factor: Float) {
        let g = gradientPointer
        for i in 0..<count { g[i] *= factor }
    }

    /// Clips gradients by global norm as torch.nn.utils.clip_grad_norm_: when the norm exceeds
    /// `maxNorm`, every gradient is multiplied by maxNorm / (norm + 1e-6). Returns the norm before
    /// clipping. A non-finite norm (an overflow or NaN somewhere) is returned and nothing is scaled,
    /// so the caller can skip the step instead of spreading the NaN.
    @discardableResult
    public func clipGradients(maxNorm: Float) -> Float {
        let norm = gradientNorm()
        guard norm.isFinite else { return norm }
        let coefficient = maxNorm / (norm + 1e-6)
        if coefficient < 1 { scaleGradients(by: coefficient) }
        return norm
    }
}
