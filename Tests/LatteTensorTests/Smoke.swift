import XCTest
@testable import LatteTensor
final class LatteTensorSmokeTests: XCTestCase { func testBuilds() { XCTAssertTrue(true) } }
