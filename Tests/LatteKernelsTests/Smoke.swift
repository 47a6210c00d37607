import XCTest
@testable import LatteKernels
final class LatteKernelsSmokeTests: XCTestCase { func testBuilds() { XCTAssertTrue(true) } }
