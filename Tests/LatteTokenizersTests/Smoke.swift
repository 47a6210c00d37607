import XCTest
@testable import LatteTokenizers
final class LatteTokenizersSmokeTests: XCTestCase { func testBuilds() { XCTAssertTrue(true) } }
