// Open MPI loaded at run time with dlopen, as OpenBLAS is (OpenBLAS.swift): nothing links against it,
// so the package builds and runs on a machine without MPI; `MPILibrary.shared` then holds the reason.
//
// This binds to Open MPI's ABI. The C API's handles (MPI_Comm, MPI_Datatype, MPI_Request) are pointers
// there, and the predefined ones are the addresses of global objects (`MPI_COMM_WORLD` is
// `&ompi_mpi_comm_world`, `MPI_FLOAT` is `&ompi_mpi_float`), which dlsym resolves. MPICH and its
// derivatives (Intel MPI, Cray MPICH) use integer handles instead, so their libmpi is refused by name
// rather than called with the wrong argument types.
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

public struct MPIError: Error, CustomStringConvertible {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

public final class MPILibrary: @unchecked Sendable {
    // Handles: pointers in Open MPI's ABI.
    public typealias Handle = OpaquePointer
    typealias InitThread = @convention(c) (UnsafeMutablePointer<Int32>?, UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>?,
                                           Int32, UnsafeMutablePointer<Int32>) -> Int32
    typealias Flag = @convention(c) (UnsafeMutablePointer<Int32>) -> Int32
    typealias NoArguments = @convention(c) () -> Int32
    typealias CommInt = @convention(c) (Handle, UnsafeMutablePointer<Int32>) -> Int32
    typealias IBarrier = @convention(c) (Handle, UnsafeMutablePointer<Handle?>) -> Int32
    typealias IBcast = @convention(c) (UnsafeMutableRawPointer?, Int32, Handle, Int32, Handle, UnsafeMutablePointer<Handle?>) -> Int32
    /// MPI_Iallgather and MPI_Ialltoall have the same signature.
    typealias IExchange = @convention(c) (UnsafeRawPointer?, Int32, Handle, UnsafeMutableRawPointer?, Int32, Handle, Handle,
                                          UnsafeMutablePointer<Handle?>) -> Int32
    typealias Test = @convention(c) (UnsafeMutablePointer<Handle?>, UnsafeMutablePointer<Int32>, UnsafeMutableRawPointer?) -> Int32
    typealias Abort = @convention(c) (Handle, Int32) -> Int32
    typealias TextQuery = @convention(c) (UnsafeMutablePointer<CChar>, UnsafeMutablePointer<Int32>) -> Int32
    typealias ErrorString = @convention(c) (Int32, UnsafeMutablePointer<CChar>, UnsafeMutablePointer<Int32>) -> Int32

    /// The library, or why it could not be used (not installed, or not Open MPI).
    public static let shared: Result<MPILibrary, MPIError> = load()

    /// The file name dlopen accepted.
    public let library: String
    let commWorld: Handle, float: Handle, byte: Handle
    let initThread: InitThread, initialized: Flag, finalized: Flag, finalize: NoArguments
    let commRank: CommInt, commSize: CommInt
    let ibarrier: IBarrier, ibcast: IBcast, iallgather: IExchange, ialltoall: IExchange
    let test: Test, abort: Abort
    let libraryVersionFunction: TextQuery, errorStringFunction: ErrorString

    private init(library: String, handle: UnsafeMutableRawPointer) throws {
        self.library = library
        func symbol<T>(_ name: String, _ type: T.Type) throws -> T {
            guard let s = dlsym(handle, name) else { throw MPIError("\(library) has no \(name): too old an MPI (LatteFlow needs MPI 3)") }
            return unsafeBitCast(s, to: type)
        }
        func object(_ name: String) throws -> Handle {
            guard let s = dlsym(handle, name) else {
                throw MPIError("\(library) is not Open MPI (no \(name)): LatteFlow binds Open MPI's ABI, whose handles are pointers; MPICH-family libraries use integer handles and are not supported")
            }
            return Handle(s)
        }
        commWorld = try object("ompi_mpi_comm_world")
        float = try object("ompi_mpi_float")
        byte = try object("ompi_mpi_byte")
        initThread = try symbol("MPI_Init_thread", InitThread.self)
        initialized = try symbol("MPI_Initialized", Flag.self)
        finalized = try symbol("MPI_Finalized", Flag.self)
        finalize = try symbol("MPI_Finalize", NoArguments.self)
        commRank = try symbol("MPI_Comm_rank", CommInt.self)
        commSize = try symbol("MPI_Comm_size", CommInt.self)
        ibarrier = try symbol("MPI_Ibarrier", IBarrier.self)
        ibcast = try symbol("MPI_Ibcast", IBcast.self)
        iallgather = try symbol("MPI_Iallgather", IExchange.self)
        ialltoall = try symbol("MPI_Ialltoall", IExchange.self)
        test = try symbol("MPI_Test", Test.self)
        abort = try symbol("MPI_Abort", Abort.self)
        libraryVersionFunction = try symbol("MPI_Get_library_version", TextQuery.self)
        errorStringFunction = try symbol("MPI_Error_string", ErrorString.self)
    }

    private static func load() -> Result<MPILibrary, MPIError> {
        var notOpenMPI: MPIError?
        for name in ["libmpi.so.40", "libmpi.so", "libmpi.so.12", "libmpi.dylib"] {
            // RTLD_GLOBAL: Open MPI dlopens its own components, which resolve libmpi's symbols globally.
            guard let handle = dlopen(name, RTLD_NOW | RTLD_GLOBAL) else { continue }
            do {
                // The handle stays open for the life of the process: the function pointers live in it.
                return .success(try MPILibrary(library: name, handle: handle))
            } catch let error as MPIError {
                notOpenMPI = notOpenMPI ?? error
                dlclose(handle)
            } catch {
                dlclose(handle)
            }
        }
        return .failure(notOpenMPI ?? MPIError("no MPI library found (libmpi.so.40 or libmpi.so): install Open MPI, e.g. `apt-get install openmpi-bin libopenmpi-dev`"))
    }

    /// MPI_Get_library_version's first line, e.g. "Open MPI v4.1.4, package: Debian OpenMPI, …"
    /// (callable before MPI_Init).
    public var version: String {
        var buffer = [CChar](repeating: 0, count: 8192)   // MPI_MAX_LIBRARY_VERSION_STRING is 256 in Open MPI
        var length: Int32 = 0
        _ = libraryVersionFunction(&buffer, &length)
        let text = String(decoding: buffer.prefix(Int(max(0, length))).map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return text.split(whereSeparator: \.isNewline).first.map { String($0).trimming(" ,\t\0") } ?? "unknown version"
    }

    func errorText(_ code: Int32) -> String {
        var buffer = [CChar](repeating: 0, count: 1024)
        var length: Int32 = 0
        _ = errorStringFunction(code, &buffer, &length)
        return String(decoding: buffer.prefix(Int(max(0, length))).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// One line for `latte info`.
    public static var summary: String {
        switch shared {
        case .success(let mpi): return "found (\(mpi.library): \(mpi.version))"
        case .failure(let error): return "not found (\(error.message))"
        }
    }
}

private extension String {
    func trimming(_ set: String) -> String {
        var s = Substring(self)
        while let c = s.first, set.contains(c) { s = s.dropFirst() }
        while let c = s.last, set.contains(c) { s = s.dropLast() }
        return String(s)
    }
}
