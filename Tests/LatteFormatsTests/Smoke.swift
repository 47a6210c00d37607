import XCTest
@testable import LatteFormats
final class LatteFormatsSmokeTests: XCTestCase { func testBuilds() { XCTAssertTrue(true) } }
