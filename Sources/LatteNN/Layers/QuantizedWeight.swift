import LatteKernels
import LatteTensor

/// A weight matrix [rows, columns] kept in a GGUF block-quantised format (Q8_0 or Q4_1) for inference:
/// the bytes stay as the file stores them (usually inside its memory mapping, so nothing is copied)
/// and the products dequantise in registers (`QuantizedGemv`). Set on a `Linear` or `Embedding`
/// (`quantizedWeight`), it replaces that layer's float32 weight in the forward pass.
///
/// Inference only: there is no gradient with respect to quantised weights or through them, so a
/// forward pass whose input needs a gradient stops with a message (run it under `withoutGradient`,
/// or load float32 weights to train).
public final class QuantizedWeight: @unchecked Sendable {
    public let format: QuantizedFormat
    public let rows: Int
    public let columns: Int
    public let rowBytes: Int
    /// The first row's first block. Valid while this object is alive.
    public let bytes: UnsafeRawPointer
    /// What keeps `bytes` alive when they are borrowed (e.g. the mapped GGUF file).
    private let owner: AnyObject?
    /// Set when the bytes are this object's own copy.
    private let ownedBuffer: UnsafeMutableRawPointer?

    /// Borrows `bytes` (rows × rowBytes, kept alive by `owner`) without copying.
    public init(format: QuantizedFormat, rows: Int, columns: Int, bytes: UnsafeRawBufferPointer, owner: AnyObject?) throws {
        rowBytes = try Self.check(format: format, rows: rows, columns: columns, byteCount: bytes.count)
        (self.format, self.rows, self.columns, self.owner, ownedBuffer) = (format, rows, columns, owner, nil)
        self.bytes = bytes.baseAddress ?? UnsafeRawPointer(bitPattern: 64)!
    }

    /// Copies `bytes` with the rows reordered: row i of this weight is row `rowOrder[i]` of the source
    /// (for permutations such as llama.cpp's Q/K row interleave, undone per row of whole blocks).
    public init(format: QuantizedFormat, rows: Int, columns: Int, copying bytes: UnsafeRawBufferPointer, rowOrder: [Int]) throws {
        let rb = try Self.check(format: format, rows: rows, columns: columns, byteCount: bytes.count)
        guard rowOrder.count == rows, rowOrder.allSatisfy({ (0..<rows).contains($0) }) else {
            throw QuantizedWeightError("row order of \(rowOrder.count) entries does not index \(rows) rows")
        }
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: max(1, rows * rb), alignment: 64)
        if let src = bytes.baseAddress {
            for (i, r) in rowOrder.enumerated() { (buffer + i * rb).copyMemory(from: src + r * rb, byteCount: rb) }
        }
        (self.format, self.rows, self.columns, rowBytes, owner, ownedBuffer) = (format, rows, columns, rb, nil, buffer)
        self.bytes = UnsafeRawPointer(buffer)
    }

    /// Quantises a float matrix [rows, columns] (any float dtype, e.g. a bf16 checkpoint's) into an owned
    /// buffer, `blockRows` rows converted to float32 at a time so a large table (the 2B model's
    /// 151936-row head) never exists as a whole float32 copy. Blocks are quantised in parallel.
    public init(quantizing matrix: Tensor, format: QuantizedFormat, blockRows: Int = 256) throws {
        guard matrix.rank == 2 else { throw QuantizedWeightError("only a matrix can be quantised, got shape \(matrix.shape)") }
        let (rows, columns) = (matrix.shape[0], matrix.shape[1])
        let rb = try Self.check(format: format, rows: rows, columns: columns, byteCount: rows * format.rowBytes(columns: max(columns, 0)))
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: max(1, rows * rb), alignment: 64)
        let source = matrix.detached()
        let chunks = (rows + blockRows - 1) / blockRows
        Parallel.forEach(chunks) { c in
            let r0 = c * blockRows, r1 = min(rows, r0 + blockRows)
            let block = source.sliced(axis: 0, r0..<r1).toFloat32().contiguous()
            withExtendedLifetime(block) {
                QuantizedGemv.quantize(format: format, rows: r1 - r0, columns: columns, x: block.f32, ldx: columns,
                                       into: buffer + r0 * rb, rowBytes: rb)
            }
        }
        (self.format, self.rows, self.columns, rowBytes, owner, ownedBuffer) = (format, rows, columns, rb, nil, buffer)
        self.bytes = UnsafeRawPointer(buffer)
    }

    deinit { ownedBuffer?.deallocate() }

    private static func check(format: QuantizedFormat, rows: Int, columns: Int, byteCount: Int) throws -> Int {
        guard rows > 0, columns > 0, columns % QuantizedFormat.blockElements == 0 else {
            throw QuantizedWeightError("a \(format) weight needs positive rows and a multiple of 32 columns, got [\(rows), \(columns)]")
        }
        let rb = format.rowBytes(columns: columns)
        guard byteCount == rows * rb else {
            throw QuantizedWeightError("a \(format) weight [\(rows), \(columns)] takes \(rows * rb) bytes, got \(byteCount)")
        }
        return rb
    }

    /// Bytes the weights occupy (borrowed or owned).
    public var byteCount: Int { rows * rowBytes }

    /// The float32 values [rows, columns] (tests, and callers that need the plain matrix).
    public func dequantized() -> Tensor {
        let out = Tensor.empty([rows, columns])
        QuantizedGemv.dequantize(format: format, rows: rows, columns: columns, weights: bytes, rowBytes: rowBytes,
                                 into: out.f32, ld: columns)
        return out
    }

    /// x [..., columns] → x·Wᵀ (+ bias) [..., rows].
    public func linear(_ x: Tensor, bias: Tensor? = nil) -> Tensor {
        refuseGradient(x)
        precondition(x.dim(-1) == columns, "quantised linear: input has \(x.dim(-1)) features, the \(format) weight [\(rows), \(columns)] expects \(columns)")
        let xc = x.toFloat32().contiguous()
        let out = Tensor.empty(Array(x.shape.dropLast()) + [rows])
        withExtendedLifetime(xc) {
            QuantizedGemv.matmul(format: format, rows: rows, columns: columns, weights: bytes, rowBytes: rowBytes,
                                 x: xc.f32, m: xc.count / columns, y: out.f32)
        }
        guard let bias else { return out }
        precondition(bias.count == rows, "quantised linear: bias has \(bias.count) values, expected \(rows)")
        return out + bias.detached().reshaped([rows])
    }

    /// Rows picked by integer `ids` (any shape) → [ids…, columns]: the embedding lookup.
    public func gatherRows(_ ids: Tensor) -> Tensor {
        let idx = ids.toIntArray()
        for i in idx { precondition(i >= 0 && i < rows, "quantised embedding: id \(i) out of range 0..<\(rows)") }
        let out = Tensor.empty(ids.shape + [columns])
        for (k, i) in idx.enumerated() {
            QuantizedGemv.dequantize(format: format, rows: 1, columns: columns, weights: bytes + i * rowBytes,
                                     rowBytes: rowBytes, into: out.f32 + k * columns, ld: columns)
        }
        return out
    }

    private func refuseGradient(_ x: Tensor) {
        precondition(!x.requiresGradient, """
            a \(format) quantised weight is inference-only and has no gradient: run the model under \
            withoutGradient, or load it with float32 weights (keepQuantized: false) to train through it
            """)
    }
}

/// A quantised weight that cannot be built from the given bytes.
public struct QuantizedWeightError: Error, CustomStringConvertible, Sendable {
    public let description: String
    public init(_ description: String) { self.description = description }
}
