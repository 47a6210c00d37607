import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import LatteFormats
import LatteTestSupport
import XCTest

/// The web page at `GET /`: its files are served with their content types and without the API key,
/// and in headless Chromium (Debian's `chromium`, installed by .ci/run) the page runs an image job
/// through the job API, shows the images with their seeds, streams a chat answer, and shows the
/// server's 400 when an image is dropped on the chat of a model that cannot see.
final class WebPageTests: XCTestCase {
    func testPageAndItsFilesAreServedWithoutTheKey() async throws {
        let s = try await TestServer.get()
        for (path, type, marker) in [("/", "text/html", "<title>LatteFlow</title>"), ("/web/app.js", "text/javascript", "/v1/jobs"),
                                     ("/web/app.css", "text/css", "#gallery")] {
            let (data, response) = try await URLSession.shared.data(for: URLRequest(url: s.base.appendingPathComponent(path)))
            let http = try XCTUnwrap(response as? HTTPURLResponse)
            XCTAssertEqual(http.statusCode, 200, path)
            XCTAssertEqual(http.value(forHTTPHeaderField: "Content-Type")?.hasPrefix(type), true, "\(path): \(http.value(forHTTPHeaderField: "Content-Type") ?? "no Content-Type")")
            XCTAssertNotNil(http.value(forHTTPHeaderField: "Content-Security-Policy"), path)
            XCTAssertTrue(String(decoding: data, as: UTF8.self).contains(marker), "\(path) does not hold \(marker)")
        }
        // Only the page's own files; the API keeps needing the key.
        let (missing, _) = try await s.request("GET", "/web/WebRoutes.swift", key: nil)
        XCTAssertEqual(missing, 404)
        let (models, _) = try await s.request("GET", "/v1/models", key: nil)
        XCTAssertEqual(models, 401)
    }

    func testChromiumRunsAJobShowsTheImagesAndChats() async throws {
        guard let chromium = Self.executable("chromium") else {
            if PinnedAssets.isCI(ProcessInfo.processInfo.environment) {
                return XCTFail("chromium is missing (.ci/run installs Debian's chromium package)")
            }
            throw XCTSkip("chromium is not installed (apt-get install chromium)")
        }
        let s = try await TestServer.get()
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("web-page-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let dropped = dir.appendingPathComponent("dropped.png")
        try Data(PNG.encode(Image(width: 16, height: 16, channels: 3, fill: [200, 40, 40]))).write(to: dropped)

        let seed = 41
        let page = "\(s.base.absoluteString)/?prompt=a%20red%20bag&seed=\(seed)&count=2&steps=2&autorun=1&max_tokens=8#key=\(TestServer.apiKey)"
        let script = try XCTUnwrap(Bundle.module.url(forResource: "web_page_check", withExtension: "py"))
        let p = Process(), out = Pipe(), err = Pipe()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["python3", script.path, page, "--chromium", chromium, "--timeout", "120", "--chat", "Say hi.", "--chat-image", dropped.path]
        p.standardOutput = out
        p.standardError = err
        try p.run()
        // Read on other threads: the server runs in this process, and the script waits on it.
        async let output = Task.detached { out.fileHandleForReading.readDataToEndOfFile() }.value
        async let errors = Task.detached { err.fileHandleForReading.readDataToEndOfFile() }.value
        let (stdout, stderr) = await (output, errors)
        p.waitUntilExit()
        let text = String(decoding: stdout, as: UTF8.self)
        XCTAssertEqual(p.terminationStatus, 0, text + String(decoding: stderr, as: UTF8.self))
        let report = try object(stdout)

        XCTAssertEqual(report["state"] as? String, "done", text)
        XCTAssertEqual(report["image_error"] as? String, "")
        XCTAssertTrue((report["model"] as? String)?.contains("32x32") == true, "the page shows the model: \(report["model"] ?? "nil")")
        let gallery = try XCTUnwrap(report["gallery"] as? [[String: Any]])
        XCTAssertEqual(gallery.map { $0["seed"] as? Int }, [seed, seed + 1], "the gallery holds both images with their seeds")
        XCTAssertEqual(gallery.map { $0["caption"] as? String }, ["seed \(seed)", "seed \(seed + 1)"])
        // The same request through the Images API: the page shows exactly these PNGs.
        let (status, body) = try await s.request("POST", "/v1/images/generations", json: ["prompt": "a red bag", "n": 2, "seed": seed, "steps": 2])
        XCTAssertEqual(status, 200, String(decoding: body, as: UTF8.self))
        let expected = try XCTUnwrap(try object(body)["data"] as? [[String: Any]]).map { $0["b64_json"] as? String }
        for (i, item) in gallery.enumerated() {
            let src = try XCTUnwrap(item["src"] as? String)
            let prefix = "data:image/png;base64,"
            XCTAssertTrue(src.hasPrefix(prefix), String(src.prefix(40)))
            let png = try XCTUnwrap(Data(base64Encoded: String(src.dropFirst(prefix.count))))
            let image = try PNG.decode([UInt8](png))
            XCTAssertEqual([image.width, image.height], [32, 32], "image \(i) has the model's size")
            XCTAssertEqual([item["width"] as? Int, item["height"] as? Int], [32, 32], "Chromium decoded image \(i)")
            XCTAssertEqual(String(src.dropFirst(prefix.count)), expected[i], "image \(i) is the one seed \(seed + i) makes")
        }

        // Chat: the answer streamed in; the dropped image was refused with the server's message.
        let chat = try XCTUnwrap(report["chat"] as? [[String: Any]])
        XCTAssertEqual(chat.map { $0["role"] as? String }, ["user", "assistant"], text)
        XCTAssertEqual(chat.first?["text"] as? String, "Say hi.")
        XCTAssertFalse((chat.last?["text"] as? String ?? "").trimmingCharacters(in: .whitespacesAndNewlines).isEmpty, "an answer streamed in")
        let chatError = report["chat_error"] as? String ?? ""
        XCTAssertTrue(chatError.hasPrefix("400: ") && chatError.contains("cannot see images"), chatError)
    }

    /// The executable's path in PATH, or nil.
    static func executable(_ name: String) -> String? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        return path.split(separator: ":").map { "\($0)/\(name)" }.first { FileManager.default.isExecutableFile(atPath: $0) }
    }
}
