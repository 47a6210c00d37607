import CLatteKernels

/// Optimiser update kernels (C, chosen at run time by CPU feature), run in parallel chunks.
public enum OptimizerKernels {
    /// One AdamW step over n parameters; see latte_optimizer.h for the formula. Bit-identical
    /// whatever the kernel or the chunking.
    public static func adamWStep(
        parameters p: UnsafeMutablePointer<Float>, gradients g: UnsafePointer<Float>,
        firstMoment m: UnsafeMutablePointer<Float>, secondMoment v: UnsafeMutablePointer<Float>, count n: Int,
        oneMinusBeta1: Float, beta2: Float, oneMinusBeta2: Float, biasCorrection2Sqrt: Float,
        eps: Float, stepSize: Float, keep: Float
    ) {
        let chunk = 1 << 16
        let chunks = (n + chunk - 1) / chunk
        Parallel.forEach(chunks) { c in
            let s = c * chunk, len = Swift.min(chunk, n - s)
            latte_adamw_step(p + s, g + s, m + s, v + s, len, oneMinusBeta1, beta2, oneMinusBeta2,
                             biasCorrection2Sqrt, eps, stepSize, keep)
        }
    }
}
