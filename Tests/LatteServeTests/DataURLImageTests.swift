import Foundation
import LatteFormats
import LatteServe
import XCTest

/// Chat images: a base64 PNG or JPEG data URL decodes; a corrupt image, another scheme or bad base64
/// is a 400 naming the field (what `/v1/chat/completions` answers for a model that can see).
final class DataURLImageTests: XCTestCase {
    func testPNGAndJPEGDecodeAndEverythingElseIsA400() throws {
        let image = Image(width: 5, height: 3, channels: 3, fill: [10, 200, 30])
        let png = try PNG.encode(image)
        XCTAssertEqual(try DataURLImage.decode("data:image/png;base64," + Data(png).base64EncodedString(), field: "f"), image)
        let bad: [(String, String?)] = [
            ("https://example.invalid/cat.png", nil),
            ("data:image/png," + Data(png).base64EncodedString(), nil),
            ("data:image/png;base64,%%%%", nil),
            ("data:image/png;base64," + Data(png.prefix(30) + [UInt8](repeating: 7, count: 40)).base64EncodedString(), "invalid_image"),
            ("data:image/jpeg;base64," + Data([0xFF, 0xD8, 0xFF, 0xE0, 1, 2, 3]).base64EncodedString(), "invalid_image"),
        ]
        for (url, code) in bad {
            XCTAssertThrowsError(try DataURLImage.decode(url, field: "messages[0].content[1].image_url.url"), url) { error in
                guard let e = error as? APIError else { return XCTFail("\(error)") }
                XCTAssertEqual(e.status.code, 400)
                XCTAssertEqual(e.param, "messages[0].content[1].image_url.url")
                if let code { XCTAssertEqual(e.code, code) }
            }
        }
    }
}
