import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Where one tensor lives in a GGUF file and what it holds.
public struct GGUFTensorInfo: Equatable, Sendable {
    public let name: String
    /// ggml order: `dimensions[0]` is the contiguous row length (`ne[0]`). A PyTorch `[out, in]` weight
    /// is stored as `[in, out]`; `shape` gives the row-major order.
    public let dimensions: [Int]
    public let type: GGMLType
    /// Byte offset from the start of the data section (a multiple of the file's alignment).
    public let offset: Int
    public let elementCount: Int

    /// Row-major shape, outermost first, as PyTorch and safetensors write it.
    public var shape: [Int] { dimensions.reversed() }
    /// Elements per row (`ne[0]`), a whole number of quantisation blocks.
    public var rowLength: Int { dimensions[0] }
    public var rowCount: Int { rowLength == 0 ? 0 : elementCount / rowLength }
    public var rowByteCount: Int { rowLength / type.blockElements * type.blockBytes }
    public var byteCount: Int { rowCount * rowByteCount }
}

/// A GGUF (v2 or v3, little-endian) file opened read-only through `mmap`.
///
/// Layout (GGUF spec): magic `GGUF`, uint32 version, uint64 tensor count, uint64 metadata count, the
/// metadata key/value pairs, the tensor infos (name, uint32 n_dims, uint64 dims, uint32 type, uint64
/// offset), padding to `general.alignment` (default 32), then the tensor data. Every count, length and
/// offset is checked against the file's size before use.
///
/// Pointers handed out by `rawBytes(of:rows:)` stay valid while this object is alive.
public final class GGUFFile: @unchecked Sendable {
    public let path: String
    public let version: Int
    /// Metadata in file order.
    public let metadataKeys: [String]
    public let metadata: [String: GGUFValue]
    /// Tensors in file order.
    public let tensors: [GGUFTensorInfo]
    public let alignment: Int
    /// Absolute byte offset of the data section.
    public let dataOffset: Int
    public let fileSize: Int

    private let base: UnsafeRawPointer
    private let release: () -> Void
    private let tensorIndex: [String: Int]

    static let maxKeyLength = 1 << 16
    static let maxTensorNameLength = 1 << 12
    static let maxStringLength = 1 << 30
    static let maxArrayDepth = 8
    static let maxDimensions = 4
    /// Metadata values (array elements included) a file may hold: each costs a few dozen bytes in
    /// memory, so a hostile file of N bytes must not expand into 24·N. Large vocabularies need about
    /// a million (tokens, scores, types, merges); 16 M leaves room.
    static let maxMetadataValues = 1 << 24

    /// Maps the file at `path` and parses its header; throws `GGUFError` naming the file and the problem.
    public convenience init(path: String) throws {
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else {
            throw GGUFError(.cannotOpen, path: path, "cannot open: \(String(cString: strerror(errno)))")
        }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else {
            throw GGUFError(.cannotOpen, path: path, "cannot stat: \(String(cString: strerror(errno)))")
        }
        guard (st.st_mode & S_IFMT) == S_IFREG else {
            throw GGUFError(.cannotOpen, path: path, "not a regular file")
        }
        let size = Int(st.st_size)
        guard size > 0 else {
            throw GGUFError(.truncated, path: path, "truncated: the file is empty")
        }
        guard let p = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0), p != MAP_FAILED else {
            throw GGUFError(.cannotOpen, path: path, "cannot mmap \(size) bytes: \(String(cString: strerror(errno)))")
        }
        let mapped = UnsafeMutableRawPointer(p)
        try self.init(base: UnsafeRawPointer(mapped), size: size, path: path, release: { munmap(mapped, size) })
    }

    /// Parses a GGUF image held in memory (tests and fuzzing); the bytes are copied.
    public convenience init(bytes: [UInt8], name: String = "<memory>") throws {
        let size = bytes.count
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: max(size, 1), alignment: 64)
        bytes.withUnsafeBytes { buffer.copyMemory(from: $0.baseAddress!, byteCount: size) }
        try self.init(base: UnsafeRawPointer(buffer), size: size, path: name, release: { buffer.deallocate() })
    }

    private init(base: UnsafeRawPointer, size: Int, path: String, release: @escaping () -> Void) throws {
        let parsed: Parsed
        do {
            parsed = try Self.parse(base: base, size: size, path: path)
        } catch {
            release()
            throw error
        }
        self.path = path
        self.base = base
        self.release = release
        self.fileSize = size
        self.version = parsed.version
        self.metadataKeys = parsed.keys
        self.metadata = parsed.metadata
        self.tensors = parsed.tensors
        self.alignment = parsed.alignment
        self.dataOffset = parsed.dataOffset
        var index = [String: Int](minimumCapacity: parsed.tensors.count)
        for (i, t) in parsed.tensors.enumerated() { index[t.name] = i }
        self.tensorIndex = index
    }

    deinit { release() }

    // MARK: Lookup

    public func tensorInfo(named name: String) throws -> GGUFTensorInfo {
        guard let i = tensorIndex[name] else {
            throw GGUFError(.noSuchTensor, path: path, "no tensor named '\(name)' (the file has \(tensors.count) tensors)")
        }
        return tensors[i]
    }

    public func hasTensor(named name: String) -> Bool { tensorIndex[name] != nil }

    /// The stored bytes of `rows` of a tensor: whole quantisation blocks, `rowByteCount` bytes per row,
    /// ready for a fused quantised kernel. Valid while this file object is alive.
    public func rawBytes(of tensor: GGUFTensorInfo, rows: Range<Int>? = nil) throws -> UnsafeRawBufferPointer {
        let rows = rows ?? 0..<tensor.rowCount
        guard rows.lowerBound >= 0, rows.upperBound <= tensor.rowCount else {
            throw GGUFError(.badRange, path: path, "rows \(rows) out of range for tensor '\(tensor.name)' with \(tensor.rowCount) rows")
        }
        let start = dataOffset + tensor.offset + rows.lowerBound * tensor.rowByteCount
        return UnsafeRawBufferPointer(start: base + start, count: rows.count * tensor.rowByteCount)
    }

    // MARK: Parsing

    private struct Parsed {
        var version = 0
        var keys = [String]()
        var metadata = [String: GGUFValue]()
        var tensors = [GGUFTensorInfo]()
        var alignment = 32
        var dataOffset = 0
    }

    private static func parse(base: UnsafeRawPointer, size: Int, path: String) throws -> Parsed {
        var r = GGUFByteReader(base: base, count: size, path: path)
        var out = Parsed()

        let magic = try r.read(UInt32.self, "the magic number")
        guard magic == 0x4655_4747 else {  // "GGUF" read as a little-endian uint32
            let shown = withUnsafeBytes(of: magic.littleEndian) { b in
                b.map { (0x20..<0x7f).contains($0) ? String(UnicodeScalar($0)) : String(format: "\\x%02x", $0) }.joined()
            }
            throw r.fail(.badMagic, "not a GGUF file: magic is '\(shown)', expected 'GGUF'")
        }
        let version = try r.read(UInt32.self, "the version")
        guard version == 2 || version == 3 else {
            if version.byteSwapped == 2 || version.byteSwapped == 3 {
                throw r.fail(.unsupportedVersion, "big-endian GGUF files are not supported (version reads as \(version.byteSwapped) byte-swapped)")
            }
            throw r.fail(.unsupportedVersion, "unsupported GGUF version \(version) (versions 2 and 3 are read)")
        }
        out.version = Int(version)
        // A tensor info takes at least a name length (8), n_dims (4), one dimension (8), type (4), offset (8).
        let tensorCount = try r.readCount(minimumItemBytes: 32, "the tensor count")
        // A key/value pair takes at least a key length (8), a value type (4) and one value byte.
        let kvCount = try r.readCount(minimumItemBytes: 13, "the metadata count")

        out.keys.reserveCapacity(kvCount)
        var valueBudget = maxMetadataValues
        for i in 0..<kvCount {
            let key = try r.readString(maxLength: maxKeyLength, "metadata key #\(i)")
            let typeCode = try r.read(UInt32.self, "the value type of '\(key)'")
            guard let type = GGUFValueType(rawValue: typeCode) else {
                throw r.fail(.badValueType, "metadata '\(key)' has unknown value type \(typeCode)")
            }
            let value = try readValue(&r, type: type, key: key, depth: 0, budget: &valueBudget)
            guard out.metadata.updateValue(value, forKey: key) == nil else {
                throw r.fail(.duplicateName, "metadata key '\(key)' appears twice")
            }
            out.keys.append(key)
        }

        if let a = out.metadata["general.alignment"] {
            guard let n = a.int, n > 0, n & (n - 1) == 0, n <= 1 << 16 else {
                throw r.fail(.badAlignment, "general.alignment is \(a), but must be a power of two between 1 and 65536")
            }
            out.alignment = n
        }

        out.tensors.reserveCapacity(tensorCount)
        var names = Set<String>()
        var infoOffsets = [Int]()
        infoOffsets.reserveCapacity(tensorCount)
        for i in 0..<tensorCount {
            let name = try r.readString(maxLength: maxTensorNameLength, "the name of tensor #\(i)")
            let nDims = try r.read(UInt32.self, "n_dims of tensor '\(name)'")
            guard nDims >= 1, nDims <= UInt32(maxDimensions) else {
                throw r.fail(.badTensorInfo, "tensor '\(name)' has \(nDims) dimensions (1 to \(maxDimensions) allowed)")
            }
            var dims = [Int]()
            var elements = 1
            for d in 0..<Int(nDims) {
                let raw = try r.read(UInt64.self, "dimension \(d) of tensor '\(name)'")
                guard raw <= UInt64(Int32.max) * 64 else {
                    throw r.fail(.badTensorInfo, "tensor '\(name)' dimension \(d) is \(raw), which is absurd")
                }
                let (product, overflow) = elements.multipliedReportingOverflow(by: Int(raw))
                guard !overflow, product <= Int(Int32.max) * 64 else {
                    throw r.fail(.badTensorInfo, "tensor '\(name)' has dimensions whose product overflows")
                }
                elements = product
                dims.append(Int(raw))
            }
            let typeCode = try r.read(UInt32.self, "the type of tensor '\(name)'")
            guard let type = GGMLType(rawValue: typeCode) else {
                throw r.fail(.unknownTensorType, "tensor '\(name)' has unknown ggml type \(typeCode)")
            }
            guard dims[0] % type.blockElements == 0 else {
                throw r.fail(.badTensorInfo, "tensor '\(name)' of type \(type) has rows of \(dims[0]) elements, not a multiple of its \(type.blockElements)-element block")
            }
            let offset = try r.read(UInt64.self, "the data offset of tensor '\(name)'")
            guard offset <= UInt64(size) else {
                throw r.fail(.tensorOutOfBounds, "tensor '\(name)' data offset \(offset) lies beyond the end of the \(size)-byte file")
            }
            guard Int(offset) % out.alignment == 0 else {
                throw r.fail(.badAlignment, "tensor '\(name)' data offset \(offset) is not a multiple of the alignment \(out.alignment)")
            }
            guard names.insert(name).inserted else {
                throw r.fail(.duplicateName, "tensor name '\(name)' appears twice")
            }
            out.tensors.append(GGUFTensorInfo(name: name, dimensions: dims, type: type, offset: Int(offset), elementCount: elements))
        }

        // The data section starts at the next multiple of the alignment after the tensor infos.
        let a = out.alignment
        out.dataOffset = (r.position + a - 1) / a * a
        if !out.tensors.isEmpty && out.dataOffset > size {
            throw r.fail(.truncated, "truncated: the data section should start at offset \(out.dataOffset), past the end of the \(size)-byte file")
        }
        let dataLength = size - min(out.dataOffset, size)
        for t in out.tensors where t.offset > dataLength || t.byteCount > dataLength - t.offset {
            throw r.fail(.tensorOutOfBounds,
                         "tensor '\(t.name)' (\(t.type), shape \(t.shape), \(t.byteCount) bytes at data offset \(t.offset)) extends beyond the end of the file (data section holds \(dataLength) bytes); the file is truncated or corrupt")
        }
        return out
    }

    private static func readValue(_ r: inout GGUFByteReader, type: GGUFValueType, key: String, depth: Int,
                                  budget: inout Int) throws -> GGUFValue {
        budget -= 1
        guard budget >= 0 else {
            throw r.fail(.absurdCount, "metadata holds more than \(maxMetadataValues) values (at '\(key)')")
        }
        switch type {
        case .uint8: return .uint8(try r.read(UInt8.self, "the value of '\(key)'"))
        case .int8: return .int8(try r.read(Int8.self, "the value of '\(key)'"))
        case .uint16: return .uint16(try r.read(UInt16.self, "the value of '\(key)'"))
        case .int16: return .int16(try r.read(Int16.self, "the value of '\(key)'"))
        case .uint32: return .uint32(try r.read(UInt32.self, "the value of '\(key)'"))
        case .int32: return .int32(try r.read(Int32.self, "the value of '\(key)'"))
        case .uint64: return .uint64(try r.read(UInt64.self, "the value of '\(key)'"))
        case .int64: return .int64(try r.read(Int64.self, "the value of '\(key)'"))
        case .float32: return .float32(try r.readFloat("the value of '\(key)'"))
        case .float64: return .float64(try r.readDouble("the value of '\(key)'"))
        case .bool:
            let b = try r.read(UInt8.self, "the value of '\(key)'")
            guard b <= 1 else { throw r.fail(.badValueType, "metadata '\(key)' is a bool stored as \(b) (0 or 1 expected)") }
            return .bool(b == 1)
        case .string: return .string(try r.readString(maxLength: maxStringLength, "the string value of '\(key)'"))
        case .array:
            guard depth < maxArrayDepth else {
                throw r.fail(.badValueType, "metadata '\(key)' nests arrays deeper than \(maxArrayDepth) levels")
            }
            let code = try r.read(UInt32.self, "the element type of array '\(key)'")
            guard let elementType = GGUFValueType(rawValue: code) else {
                throw r.fail(.badValueType, "array '\(key)' has unknown element type \(code)")
            }
            let n = try r.readCount(minimumItemBytes: elementType.minimumEncodedSize, "the element count of array '\(key)'")
            guard n <= budget else {
                throw r.fail(.absurdCount, "array '\(key)' has \(n) elements, more than the \(maxMetadataValues)-value metadata limit allows")
            }
            var items = [GGUFValue]()
            items.reserveCapacity(n)
            for _ in 0..<n {
                items.append(try readValue(&r, type: elementType, key: key, depth: depth + 1, budget: &budget))
            }
            return .array(elementType: elementType, items)
        }
    }
}
