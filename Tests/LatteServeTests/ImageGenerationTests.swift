import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import LatteFormats
import XCTest

/// `GET /health`, `GET /v1/models`, `POST /v1/images/generations` (plain, url and streamed) and `/metrics`.
final class ImageGenerationTests: XCTestCase {
    func testHealthAndModelsDescribeTheLoadedModel() async throws {
        let s = try await TestServer.get()
        let (status, body) = try await s.request("GET", "/health", key: nil)
        XCTAssertEqual(status, 200)
        XCTAssertEqual(try object(body)["status"] as? String, "ok")
        let (m, models) = try await s.request("GET", "/v1/models")
        XCTAssertEqual(m, 200)
        let data = try XCTUnwrap(try object(models)["data"] as? [[String: Any]])
        XCTAssertEqual(data.count, 1)
        XCTAssertEqual(data[0]["object"] as? String, "model")
        XCTAssertEqual(data[0]["image_size"] as? String, "32x32")
        XCTAssertEqual(data[0]["can_see"] as? Bool, false)
    }

    func testGenerationReturnsDecodablePNGsOfTheNativeSizeAndIsSeeded() async throws {
        let s = try await TestServer.get()
        let request: [String: Any] = ["prompt": "a red sneaker", "n": 2, "size": "32x32", "response_format": "b64_json", "seed": 7]
        let (status, body) = try await s.request("POST", "/v1/images/generations", json: request)
        XCTAssertEqual(status, 200, String(decoding: body, as: UTF8.self))
        let o = try object(body)
        XCTAssertNotNil(o["created"] as? Int)
        let data = try XCTUnwrap(o["data"] as? [[String: Any]])
        XCTAssertEqual(data.count, 2)
        var images: [Image] = []
        for item in data {
            let b64 = try XCTUnwrap(item["b64_json"] as? String)
            let png = try XCTUnwrap(Data(base64Encoded: b64))
            XCTAssertEqual(Array(png.prefix(4)), [0x89, 0x50, 0x4E, 0x47])
            let image = try PNG.decode([UInt8](png))
            XCTAssertEqual(image.width, 32)
            XCTAssertEqual(image.height, 32)
            images.append(image)
        }
        XCTAssertNotEqual(images[0], images[1], "image 1 starts from seed + 1")
        // The same seed gives the same first image.
        let (_, again) = try await s.request("POST", "/v1/images/generations", json: ["prompt": "a red sneaker", "seed": 7])
        let first = try XCTUnwrap((try object(again)["data"] as? [[String: Any]])?.first?["b64_json"] as? String)
        XCTAssertEqual(try PNG.decode([UInt8](Data(base64Encoded: first)!)), images[0])
    }

    func testURLResponseFormatServesTheFile() async throws {
        let s = try await TestServer.get()
        let (status, body) = try await s.request("POST", "/v1/images/generations", json: ["prompt": "a bag", "response_format": "url", "seed": 1])
        XCTAssertEqual(status, 200, String(decoding: body, as: UTF8.self))
        let url = try XCTUnwrap((try object(body)["data"] as? [[String: Any]])?.first?["url"] as? String)
        let path = try XCTUnwrap(URL(string: url)).path
        XCTAssertTrue(path.hasPrefix("/v1/files/"), url)
        let (fileStatus, png) = try await s.request("GET", path)
        XCTAssertEqual(fileStatus, 200)
        XCTAssertEqual(try PNG.decode([UInt8](png)).width, 32)
        let (missing, error) = try await s.request("GET", "/v1/files/img_nothing.png")
        XCTAssertEqual(missing, 404)
        XCTAssertEqual(try apiError(error)["code"] as? String, "not_found")
    }

    func testStreamingSendsPartialImagesThenTheCompletedImage() async throws {
        let s = try await TestServer.get()
        let request: [String: Any] = ["prompt": "a coat", "stream": true, "partial_images": 2, "steps": 6, "seed": 3]
        let (status, body) = try await s.request("POST", "/v1/images/generations", json: request)
        XCTAssertEqual(status, 200)
        let events = serverSentEvents(body)
        let names = events.map { $0.0 ?? "" }
        XCTAssertEqual(names, ["image_generation.partial_image", "image_generation.partial_image", "image_generation.completed"], "\(names)")
        for (i, (name, data)) in events.enumerated() {
            let o = try object(Data(data.utf8))
            XCTAssertEqual(o["type"] as? String, name)
            XCTAssertEqual(o["size"] as? String, "32x32")
            XCTAssertEqual(o["output_format"] as? String, "png")
            XCTAssertNotNil(o["created_at"] as? Int)
            if name == "image_generation.partial_image" { XCTAssertEqual(o["partial_image_index"] as? Int, i) }
            let png = try XCTUnwrap(Data(base64Encoded: try XCTUnwrap(o["b64_json"] as? String)))
            XCTAssertEqual(try PNG.decode([UInt8](png)).height, 32)
        }
        // The streamed image is the one a plain request with the same seed and steps makes.
        let (_, plain) = try await s.request("POST", "/v1/images/generations", json: ["prompt": "a coat", "steps": 6, "seed": 3])
        let b64 = try XCTUnwrap((try object(plain)["data"] as? [[String: Any]])?.first?["b64_json"] as? String)
        let streamed = try XCTUnwrap(try object(Data(events[2].1.utf8))["b64_json"] as? String)
        XCTAssertEqual(try PNG.decode([UInt8](Data(base64Encoded: b64)!)), try PNG.decode([UInt8](Data(base64Encoded: streamed)!)))
    }

    func testMetricsCountImagesAndSteps() async throws {
        let s = try await TestServer.get()
        _ = try await s.request("POST", "/v1/images/generations", json: ["prompt": "a shirt", "seed": 2])
        let (status, body) = try await s.request("GET", "/metrics")
        XCTAssertEqual(status, 200)
        let text = String(decoding: body, as: UTF8.self)
        for name in ["latte_queue_depth", "latte_jobs{state=\"done\"}", "latte_images_generated_total", "latte_tokens_generated_total",
                     "latte_sampling_step_seconds_bucket"] {
            XCTAssertTrue(text.contains(name), "no \(name) in:\n\(text)")
        }
        let images = text.split(separator: "\n").first { $0.hasPrefix("latte_images_generated_total ") }
        XCTAssertGreaterThanOrEqual(Double(images?.split(separator: " ").last ?? "0") ?? 0, 1)
    }
}
