import Foundation

/// A value produced by the minimal pickle interpreter. Lists, dicts and objects are reference
/// types because pickle mutates them after they are memoised (APPENDS, SETITEMS, BUILD).
public indirect enum PickleValue {
    case none
    case bool(Bool)
    case int(Int)
    case float(Double)
    case string(String)
    case tuple([PickleValue])
    case list(PickleList)
    case dict(PickleDict)
    case global(module: String, name: String)
    case object(PickleObject)
    /// A persistent-id storage reference: ("storage", type, key, device, element count).
    case storage(PickleStorage)
    /// `torch._utils._rebuild_tensor_v2(storage, offset, size, stride, …)`.
    case tensor(PickleTensor)
    case mark

    public var int: Int? { if case .int(let v) = self { return v }; return nil }
    public var string: String? { if case .string(let v) = self { return v }; return nil }
}

public final class PickleList { public var items: [PickleValue] = [] }

public final class PickleDict {
    public var entries: [(key: PickleValue, value: PickleValue)] = []
    public subscript(key: String) -> PickleValue? { entries.last { $0.key.string == key }?.value }
}

/// An instance made by NEWOBJ (a TorchScript module); BUILD sets its state (a dict of attributes).
public final class PickleObject {
    public let module: String
    public let name: String
    public var state: PickleValue = .none
    init(module: String, name: String) { (self.module, self.name) = (module, name) }
}

public struct PickleStorage {
    public let typeName: String   // "FloatStorage", …
    public let key: String        // the archive entry data/<key>
    public let count: Int
}

public struct PickleTensor {
    public let storage: PickleStorage
    public let offset: Int
    public let shape: [Int]
    public let strides: [Int]
}

/// Interprets the subset of pickle protocol 2 that PyTorch uses for TorchScript `data.pkl` and
/// `torch.save` state dicts: containers, ints, strings, globals, NEWOBJ/BUILD objects, persistent
/// storage ids and the few REDUCE callables that rebuild tensors and lists. Anything else is an
/// error naming the opcode and offset, never an arbitrary call.
public struct TorchPickle {
    let bytes: UnsafeRawBufferPointer
    let file: String

    public init(bytes: UnsafeRawBufferPointer, file: String) {
        self.bytes = bytes
        self.file = file
    }

    public func load() throws -> PickleValue { try load(startingAt: 0).value }

    /// Interprets the pickle that starts at byte `start` and returns its value and the byte after its
    /// STOP: a legacy `torch.save` file is several pickles one after another (`TorchLegacyArchive`).
    public func load(startingAt start: Int) throws -> (value: PickleValue, end: Int) {
        var stack: [PickleValue] = []
        var memo: [Int: PickleValue] = [:]
        var pos = start
        func fail(_ message: String) -> TorchArchiveError { TorchArchiveError(file: file, "pickle: \(message)") }
        func need(_ n: Int) throws { guard pos + n <= bytes.count else { throw fail("truncated at byte \(pos)") } }
        func readUInt(_ n: Int) throws -> Int {
            try need(n)
            var v = 0
            for k in 0..<n { v |= Int(bytes[pos + k]) << (8 * k) }
            pos += n
            return v
        }
        func readString(_ n: Int) throws -> String {
            try need(n)
            let s = String(decoding: UnsafeRawBufferPointer(rebasing: bytes[pos..<(pos + n)]), as: UTF8.self)
            pos += n
            return s
        }
        func readLine() throws -> String {
            var end = pos
            while end < bytes.count && bytes[end] != 0x0A { end += 1 }
            guard end < bytes.count else { throw fail("unterminated line at byte \(pos)") }
            let s = String(decoding: UnsafeRawBufferPointer(rebasing: bytes[pos..<end]), as: UTF8.self)
            pos = end + 1
            return s
        }
        func pop() throws -> PickleValue {
            guard let v = stack.popLast() else { throw fail("stack underflow at byte \(pos)") }
            return v
        }
        func popToMark() throws -> [PickleValue] {
            guard let m = stack.lastIndex(where: { if case .mark = $0 { return true }; return false }) else {
                throw fail("no MARK on the stack at byte \(pos)")
            }
            let items = Array(stack[(m + 1)...])
            stack.removeSubrange(m...)
            return items
        }
        func ints(_ v: PickleValue, _ what: String) throws -> [Int] {
            guard case .tuple(let items) = v else { throw fail("\(what) is not a tuple") }
            return try items.map { guard let i = $0.int else { throw fail("\(what) holds a non-integer") }; return i }
        }

        while true {
            try need(1)
            let op = bytes[pos]
            let opPos = pos
            pos += 1
            switch op {
            case 0x80: _ = try readUInt(1)                                  // PROTO
            case 0x95: _ = try readUInt(8)                                  // FRAME
            case 0x2E: return (try pop(), pos)                              // STOP
            case 0x28: stack.append(.mark)                                  // MARK
            case 0x29: stack.append(.tuple([]))                             // EMPTY_TUPLE
            case 0x74: stack.append(.tuple(try popToMark()))                // TUPLE
            case 0x85: stack.append(.tuple([try pop()]))                    // TUPLE1
            case 0x86: let b = try pop(), a = try pop(); stack.append(.tuple([a, b]))
            case 0x87: let c = try pop(), b = try pop(), a = try pop(); stack.append(.tuple([a, b, c]))
            case 0x5D: stack.append(.list(PickleList()))                    // EMPTY_LIST
            case 0x7D: stack.append(.dict(PickleDict()))                    // EMPTY_DICT
            case 0x61:                                                      // APPEND
                let v = try pop()
                guard case .list(let l)? = stack.last else { throw fail("APPEND to a non-list at byte \(opPos)") }
                l.items.append(v)
            case 0x65:                                                      // APPENDS
                let items = try popToMark()
                guard case .list(let l)? = stack.last else { throw fail("APPENDS to a non-list at byte \(opPos)") }
                l.items += items
            case 0x73:                                                      // SETITEM
                let v = try pop(), k = try pop()
                guard case .dict(let d)? = stack.last else { throw fail("SETITEM on a non-dict at byte \(opPos)") }
                d.entries.append((k, v))
            case 0x75:                                                      // SETITEMS
                let items = try popToMark()
                guard items.count % 2 == 0, case .dict(let d)? = stack.last else { throw fail("bad SETITEMS at byte \(opPos)") }
                for k in stride(from: 0, to: items.count, by: 2) { d.entries.append((items[k], items[k + 1])) }
            case 0x71: guard let v = stack.last else { throw fail("BINPUT on empty stack") }; memo[try readUInt(1)] = v
            case 0x72: guard let v = stack.last else { throw fail("LONG_BINPUT on empty stack") }; memo[try readUInt(4)] = v
            case 0x94: guard let v = stack.last else { throw fail("MEMOIZE on empty stack") }; memo[memo.count] = v
            case 0x68, 0x6A:                                                // BINGET, LONG_BINGET
                let key = try readUInt(op == 0x68 ? 1 : 4)
                guard let v = memo[key] else { throw fail("memo key \(key) unset at byte \(opPos)") }
                stack.append(v)
            case 0x4B: stack.append(.int(try readUInt(1)))                  // BININT1
            case 0x4D: stack.append(.int(try readUInt(2)))                  // BININT2
            case 0x4A: stack.append(.int(Int(Int32(truncatingIfNeeded: try readUInt(4)))))   // BININT
            case 0x8A:                                                      // LONG1
                let n = try readUInt(1)
                guard n <= 8 else { throw fail("LONG1 of \(n) bytes is too large at byte \(opPos)") }
                var v = n == 0 ? 0 : try readUInt(n)
                if n > 0 && n < 8 && v & (1 << (8 * n - 1)) != 0 { v -= 1 << (8 * n) }
                stack.append(.int(v))
            case 0x47:                                                      // BINFLOAT (big-endian)
                try need(8)
                var raw: UInt64 = 0
                for k in 0..<8 { raw = raw << 8 | UInt64(bytes[pos + k]) }
                pos += 8
                stack.append(.float(Double(bitPattern: raw)))
            case 0x4E: stack.append(.none)                                  // NONE
            case 0x88: stack.append(.bool(true))                            // NEWTRUE
            case 0x89: stack.append(.bool(false))                           // NEWFALSE
            case 0x58: stack.append(.string(try readString(try readUInt(4))))   // BINUNICODE
            case 0x8C: stack.append(.string(try readString(try readUInt(1))))   // SHORT_BINUNICODE
            case 0x63:                                                      // GLOBAL "module\nname\n"
                let module = try readLine(), name = try readLine()
                stack.append(.global(module: module, name: name))
            case 0x93:                                                      // STACK_GLOBAL
                let name = try pop(), module = try pop()
                guard let m = module.string, let n = name.string else { throw fail("STACK_GLOBAL without strings at byte \(opPos)") }
                stack.append(.global(module: m, name: n))
            case 0x81:                                                      // NEWOBJ
                _ = try pop()
                guard case .global(let module, let name) = try pop() else { throw fail("NEWOBJ of a non-class at byte \(opPos)") }
                stack.append(.object(PickleObject(module: module, name: name)))
            case 0x62:                                                      // BUILD
                let state = try pop()
                switch stack.last {
                case .object(let o)?: o.state = state
                // A state dict's OrderedDict carries `_metadata` (per-module versions) as its state: not weights.
                case .dict?: break
                default: throw fail("BUILD on a non-object at byte \(opPos)")
                }
            case 0x51:                                                      // BINPERSID
                // Zip archives: ("storage", type, key, device, count); legacy files add a view (None).
                guard case .tuple(let pid) = try pop(), pid.count == 5 || pid.count == 6, pid[0].string == "storage",
                      case .global(_, let typeName) = pid[1], let key = pid[2].string, let count = pid[4].int else {
                    throw fail("unsupported persistent id at byte \(opPos)")
                }
                stack.append(.storage(PickleStorage(typeName: typeName, key: key, count: count)))
            case 0x52:                                                      // REDUCE
                let args = try pop()
                guard case .global(let module, let name) = try pop(), case .tuple(let a) = args else {
                    throw fail("REDUCE of a non-global at byte \(opPos)")
                }
                switch (module, name) {
                case ("collections", "OrderedDict"):
                    stack.append(.dict(PickleDict()))
                case ("torch._utils", "_rebuild_tensor_v2"):
                    guard a.count >= 4, case .storage(let s) = a[0], let offset = a[1].int else {
                        throw fail("malformed _rebuild_tensor_v2 arguments at byte \(opPos)")
                    }
                    stack.append(.tensor(PickleTensor(storage: s, offset: offset, shape: try ints(a[2], "tensor size"),
                                                      strides: try ints(a[3], "tensor stride"))))
                case ("torch.jit._pickle", "build_intlist"), ("torch.jit._pickle", "build_doublelist"),
                     ("torch.jit._pickle", "build_boollist"), ("torch.jit._pickle", "build_tensorlist"):
                    guard a.count == 1 else { throw fail("malformed \(name) at byte \(opPos)") }
                    stack.append(a[0])
                default:
                    throw fail("refusing to call \(module).\(name) at byte \(opPos)")
                }
            default:
                throw fail(String(format: "unsupported opcode 0x%02x at byte %d", Int(op), opPos))
            }
        }
    }
}
