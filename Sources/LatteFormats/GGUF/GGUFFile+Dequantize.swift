extension GGUFFile {
    /// Dequantises `rows` of `tensor` (all rows when nil) into `destination`, which must hold exactly
    /// `rows.count × tensor.rowLength` floats. Row ranges let a matrix-vector product decode one
    /// block of rows at a time instead of the whole weight.
    public func dequantize(_ tensor: GGUFTensorInfo, rows: Range<Int>? = nil,
                           into destination: UnsafeMutableBufferPointer<Float>) throws {
        guard tensor.type.isDequantizable else {
            throw GGUFError(.unsupportedDequantization, path: path,
                            "tensor '\(tensor.name)' has type \(tensor.type), which cannot be dequantised (supported: F32, F16, BF16, Q8_0, Q4_0, Q4_1, Q4_K, Q6_K)")
        }
        let rows = rows ?? 0..<tensor.rowCount
        let raw = try rawBytes(of: tensor, rows: rows)
        let count = rows.count * tensor.rowLength
        guard destination.count == count else {
            throw GGUFError(.badRange, path: path,
                            "destination holds \(destination.count) floats, but rows \(rows) of '\(tensor.name)' have \(count)")
        }
        guard count > 0, let source = raw.baseAddress, let out = destination.baseAddress else { return }
        GGUFDequantizer.dequantize(tensor.type, from: source, elementCount: count, into: out)
    }

    /// The whole tensor (or `rows` of it) as Float32, row-major in `tensor.shape` order.
    public func dequantize(_ tensor: GGUFTensorInfo, rows: Range<Int>? = nil) throws -> [Float] {
        let n = (rows?.count ?? tensor.rowCount) * tensor.rowLength
        guard n > 0 else {
            try dequantize(tensor, rows: rows, into: UnsafeMutableBufferPointer(start: nil, count: 0))
            return []
        }
        return try [Float](unsafeUninitializedCapacity: n) { buffer, initialised in
            try dequantize(tensor, rows: rows, into: buffer)
            initialised = n
        }
    }

    /// The tensor called `name` as Float32.
    public func dequantize(_ name: String) throws -> [Float] {
        try dequantize(try tensorInfo(named: name))
    }
}
