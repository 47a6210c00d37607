import XCTest
import LatteKernels
#if canImport(Glibc)
import Glibc
#endif

/// LATTE_KERNELS (CLatteKernels/cpu.c): CI runs the kernel suites again under LATTE_KERNELS=avx2 and
/// =generic (.ci/run), and this checks that each dispatcher then really picks the lowered family, so
/// those runs exercise the AVX2 and portable kernels rather than silently the AVX-512 ones.
final class KernelOverrideTests: XCTestCase {
    func testOverrideLowersEveryFamily() {
        let setting = getenv("LATTE_KERNELS").map { String(cString: $0) } ?? ""
        let detected = CPUFeatures.detected, current = CPUFeatures.current
        XCTAssertTrue(detected.isSuperset(of: current), "an override may only remove features")
        switch setting {
        case "avx2":
            XCTAssertFalse(current.contains(.avx512f))
            let expected: GemmKernel = detected.isSuperset(of: [.avx2, .fma]) ? .avx2 : .generic
            XCTAssertEqual(GemmKernel.best, expected)
            XCTAssertEqual(Gemm.kernel, expected)
            XCTAssertEqual(VectorMath.variant.rawValue, expected.rawValue)
            XCTAssertFalse(VectorMath.Variant.avx512.isSupported)
            XCTAssertNotNil(CPUFeatures.overrideNote)
        case "generic":
            XCTAssertTrue(current.isDisjoint(with: [.avx, .avx2, .fma, .f16c, .avx512f]))
            XCTAssertEqual(GemmKernel.best, .generic)
            XCTAssertEqual(VectorMath.variant, .generic)
            XCTAssertEqual(VectorMath.supportedVariants, [.generic])
            XCTAssertTrue(KernelInfo.summary.contains("gemm=generic"), KernelInfo.summary)
        case "", "auto":
            XCTAssertEqual(current, detected)
            XCTAssertNil(CPUFeatures.overrideNote)
        default:
            XCTAssertEqual(current, detected, "an unknown value is ignored")
        }
    }
}
