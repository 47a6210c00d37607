// OpenBLAS loaded at run time with dlopen: the benchmark's reference and an optional backend
// (LATTE_BLAS=openblas). Nothing links against it, so a machine without it builds and runs the same;
// `OpenBLAS.shared` is then nil.
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

public final class OpenBLAS: @unchecked Sendable {
    // CBLAS enum values (cblas.h) and the LP64 interface of the Debian libopenblas0 packages.
    private static let rowMajor: Int32 = 101, noTrans: Int32 = 111, trans: Int32 = 112

    private typealias SgemmFunction = @convention(c) (
        Int32, Int32, Int32, Int32, Int32, Int32, Float, UnsafePointer<Float>?, Int32,
        UnsafePointer<Float>?, Int32, Float, UnsafeMutablePointer<Float>?, Int32) -> Void
    private typealias SgemvFunction = @convention(c) (
        Int32, Int32, Int32, Int32, Float, UnsafePointer<Float>?, Int32, UnsafePointer<Float>?, Int32,
        Float, UnsafeMutablePointer<Float>?, Int32) -> Void
    private typealias SetThreadsFunction = @convention(c) (Int32) -> Void

    /// The library when it could be loaded, else nil.
    public static let shared: OpenBLAS? = load()

    /// The file name that dlopen accepted.
    public let library: String
    private let sgemmFunction: SgemmFunction
    private let sgemvFunction: SgemvFunction
    private let setThreadsFunction: SetThreadsFunction?

    private init(library: String, sgemm: SgemmFunction, sgemv: SgemvFunction, setThreads: SetThreadsFunction?) {
        self.library = library
        self.sgemmFunction = sgemm
        self.sgemvFunction = sgemv
        self.setThreadsFunction = setThreads
    }

    private static func load() -> OpenBLAS? {
        for name in ["libopenblas.so.0", "libopenblas.so", "libopenblas.dylib"] {
            guard let handle = dlopen(name, RTLD_NOW | RTLD_LOCAL) else { continue }
            guard let gemm = dlsym(handle, "cblas_sgemm"), let gemv = dlsym(handle, "cblas_sgemv") else {
                dlclose(handle)
                continue
            }
            let threads = dlsym(handle, "openblas_set_num_threads")
            // The handle stays open for the life of the process: the function pointers live in it.
            return OpenBLAS(
                library: name,
                sgemm: unsafeBitCast(gemm, to: SgemmFunction.self),
                sgemv: unsafeBitCast(gemv, to: SgemvFunction.self),
                setThreads: threads.map { unsafeBitCast($0, to: SetThreadsFunction.self) })
        }
        return nil
    }

    /// Threads OpenBLAS uses for later calls (no-op when the library lacks the setter).
    public func setThreadCount(_ count: Int) {
        setThreadsFunction?(Int32(count))
    }

    /// cblas_sgemm, row-major; same meaning as `Gemm.sgemm`.
    public func sgemm(
        transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int, alpha: Float,
        a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
        beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int
    ) {
        sgemmFunction(Self.rowMajor, transposeA ? Self.trans : Self.noTrans, transposeB ? Self.trans : Self.noTrans,
                      Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
    }

    /// cblas_sgemv, row-major: y = alpha · op(A) · x + beta · y with A stored m×n.
    public func sgemv(
        transpose: Bool, m: Int, n: Int, alpha: Float, a: UnsafePointer<Float>, lda: Int,
        x: UnsafePointer<Float>, incX: Int, beta: Float, y: UnsafeMutablePointer<Float>, incY: Int
    ) {
        sgemvFunction(Self.rowMajor, transpose ? Self.trans : Self.noTrans, Int32(m), Int32(n), alpha, a,
                      Int32(lda), x, Int32(incX), beta, y, Int32(incY))
    }
}
