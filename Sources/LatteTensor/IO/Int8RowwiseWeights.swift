import Foundation

/// Row-wise int8 weights: a way to store a checkpoint's matrices in a quarter of float32's bytes (half of
/// f16's), for models that must fit a size budget (the repository's default model and its guide).
///
/// A matrix W [rows, …] is stored as codes q (`I8`, same shape) and one scale per row, `<key>_scale`
/// (`F16`, [rows]), with s = max|W[r]| / 127 and q = round(W / s), so W ≈ q · s and every element is off by
/// at most s / 2. The naming follows the `weight_scale` convention of other int8 checkpoint formats.
/// Vectors and tiny matrices (norms, biases, gates) stay in f16: they are few bytes and sensitive.
public enum Int8RowwiseWeights {
    /// Suffix of a quantized tensor's scale key.
    public static let scaleSuffix = "_scale"
    /// Matrices with fewer elements than this stay in f16.
    public static let minimumElements = 1024

    /// Whether `quantize` stores this tensor as int8 codes.
    static func quantizes(_ t: Tensor) -> Bool {
        t.dtype.isFloatingPoint && t.rank >= 2 && t.count >= minimumElements
    }

    /// The tensors to write: matrices as codes plus row scales, everything else as f16.
    public static func quantize(_ tensors: [String: Tensor]) -> [String: Tensor] {
        var out: [String: Tensor] = [:]
        for (key, t) in tensors {
            guard quantizes(t) else { out[key] = t.dtype.isFloatingPoint ? t.to(.float16) : t; continue }
            let rows = t.dim(0), columns = t.count / rows
            let values = t.toFloat32().contiguous().toArray()
            var codes = [Float](repeating: 0, count: values.count)
            var scales = [Float](repeating: 0, count: rows)
            for r in 0..<rows {
                let row = values[(r * columns)..<((r + 1) * columns)]
                let largest = row.reduce(Float(0)) { max($0, abs($1)) }
                // Round the scale to f16 first, so the codes are computed with the scale the file holds.
                let scale = HalfConversion.float(fromFloat16: HalfConversion.float16Bits(largest / 127))
                scales[r] = scale
                guard scale > 0 else { continue }
                // Clamped: the f16-rounded scale may be a hair below max/127; the codes stay symmetric (±127).
                for (i, v) in row.enumerated() { codes[r * columns + i] = max(-127, min(127, (v / scale).rounded())) }
            }
            out[key] = Tensor(codes, shape: t.shape).to(.int8)
            out[key + scaleSuffix] = Tensor(scales, shape: [rows]).to(.float16)
        }
        return out
    }

    /// Float32 tensors back from a file's tensors: each `I8` tensor is multiplied by its row scales and
    /// its scale key removed; other tensors pass through unchanged. `file` names the source in errors.
    public static func dequantize(_ tensors: [String: Tensor], file: String) throws -> [String: Tensor] {
        guard tensors.values.contains(where: { $0.dtype == .int8 }) else { return tensors }
        var out = tensors
        for (key, codes) in tensors where codes.dtype == .int8 {
            let scaleKey = key + scaleSuffix
            guard let scale = tensors[scaleKey] else {
                throw TensorIOError.malformed(file, "int8 tensor '\(key)' has no row scales '\(scaleKey)'")
            }
            guard codes.rank >= 1, scale.dtype.isFloatingPoint, scale.shape == [codes.dim(0)] else {
                throw TensorIOError.malformed(file, "row scales '\(scaleKey)' have shape \(scale.shape) and type \(scale.dtype.rawValue); int8 tensor '\(key)' of shape \(codes.shape) needs a float vector of \(codes.rank >= 1 ? codes.dim(0) : 0)")
            }
            let rows = codes.dim(0), columns = rows == 0 ? 0 : codes.count / rows
            var values = codes.toFloat32().contiguous().toArray()
            let s = scale.toFloat32().toArray()
            for r in 0..<rows { for i in (r * columns)..<((r + 1) * columns) { values[i] *= s[r] } }
            out[key] = Tensor(values, shape: codes.shape)
            out[scaleKey] = nil
        }
        return out
    }
}

extension Safetensors {
    /// Weights as a file of element type `dtype` stores them: floating tensors converted (f32, f16, bf16)
    /// or, for `.int8`, row-wise int8 matrices and f16 for the rest; other tensors unchanged.
    public static func encode(_ tensors: [String: Tensor], as dtype: DType) -> [String: Tensor] {
        if dtype == .int8 { return Int8RowwiseWeights.quantize(tensors) }
        precondition(dtype.isFloatingPoint, "weights are stored as a float type or row-wise int8, not \(dtype.rawValue)")
        return tensors.mapValues { $0.dtype.isFloatingPoint ? $0.to(dtype) : $0 }
    }
}
