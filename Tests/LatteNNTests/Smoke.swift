import XCTest
@testable import LatteNN
final class LatteNNSmokeTests: XCTestCase { func testBuilds() { XCTAssertTrue(true) } }
