import Foundation

/// A read-only memory map of a whole file, unmapped when the last user lets go.
public final class MappedFile: @unchecked Sendable {
    public let url: URL
    public let base: UnsafeRawPointer
    public let size: Int

    public init(url: URL) throws {
        self.url = url
        let fd = open(url.path, O_RDONLY)
        guard fd >= 0 else { throw TensorIOError.cannotOpen(url.path, String(cString: strerror(errno))) }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw TensorIOError.cannotOpen(url.path, String(cString: strerror(errno))) }
        size = Int(st.st_size)
        if size == 0 {
            base = UnsafeRawPointer(UnsafeMutableRawPointer.allocate(byteCount: 1, alignment: 64))
            isMapped = false
            return
        }
        guard let p = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0), p != MAP_FAILED else {
            throw TensorIOError.cannotOpen(url.path, "mmap failed: \(String(cString: strerror(errno)))")
        }
        base = UnsafeRawPointer(p)
        isMapped = true
    }

    private let isMapped: Bool

    deinit {
        if isMapped { munmap(UnsafeMutableRawPointer(mutating: base), size) } else { UnsafeMutableRawPointer(mutating: base).deallocate() }
    }
}

/// Errors reading or writing tensor files; each names the file and the problem.
public enum TensorIOError: Error, CustomStringConvertible, Equatable {
    case cannotOpen(String, String)
    case malformed(String, String)
    case cannotWrite(String, String)

    public var description: String {
        switch self {
        case .cannotOpen(let f, let why): return "cannot open \(f): \(why)"
        case .malformed(let f, let why): return "\(f): \(why)"
        case .cannotWrite(let f, let why): return "cannot write \(f): \(why)"
        }
    }
}

extension TensorIOError: LocalizedError {
    public var errorDescription: String? { description }
}

/// Writes `data` to `url` atomically: a temporary file in the same folder, flushed, then renamed over
/// the target, so a crash leaves either the old file or the new one, never half of one.
public func writeAtomically(_ url: URL, _ body: (FileHandle) throws -> Void) throws {
    let dir = url.deletingLastPathComponent()
    try? FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    let tmp = dir.appendingPathComponent(".\(url.lastPathComponent).tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
    guard FileManager.default.createFile(atPath: tmp.path, contents: nil) else {
        throw TensorIOError.cannotWrite(url.path, "cannot create temporary file in \(dir.path)")
    }
    do {
        let handle = try FileHandle(forWritingTo: tmp)
        try body(handle)
        try handle.synchronize()
        try handle.close()
        guard rename(tmp.path, url.path) == 0 else {
            throw TensorIOError.cannotWrite(url.path, "rename failed: \(String(cString: strerror(errno)))")
        }
    } catch {
        try? FileManager.default.removeItem(at: tmp)
        if let e = error as? TensorIOError { throw e }
        throw TensorIOError.cannotWrite(url.path, "\(error)")
    }
}
