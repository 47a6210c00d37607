import Foundation
import LatteTestSupport
import XCTest

/// An existing client works unchanged: the official `openai` Python package (installed by .ci/run),
/// pointed at the server with base_url, generates an image and streams a chat answer. Skips where the
/// package is missing, except under CI=true, where that is a failure.
final class OpenAIClientTests: XCTestCase {
    func testOfficialPythonClientGeneratesAnImageAndStreamsChat() async throws {
        let check = Process()
        check.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        check.arguments = ["python3", "-c", "import openai"]
        check.standardError = FileHandle.nullDevice
        try check.run()
        check.waitUntilExit()
        if check.terminationStatus != 0 {
            if PinnedAssets.isCI(ProcessInfo.processInfo.environment) {
                XCTFail("the openai Python package is missing (.ci/run installs it with pip)")
                return
            }
            throw XCTSkip("the openai Python package is not installed (pip install openai)")
        }
        let s = try await TestServer.get()
        let script = try XCTUnwrap(Bundle.module.url(forResource: "openai_client_check", withExtension: "py"))
        let p = Process(), out = Pipe()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["python3", script.path, s.base.appendingPathComponent("v1").absoluteString, TestServer.apiKey]
        p.standardOutput = out
        p.standardError = out
        try p.run()
        // Read on another thread: the server runs in this process, and the script waits on it.
        let output = await Task.detached { out.fileHandleForReading.readDataToEndOfFile() }.value
        p.waitUntilExit()
        let text = String(decoding: output, as: UTF8.self)
        XCTAssertEqual(p.terminationStatus, 0, text)
        XCTAssertTrue(text.contains("OK"), text)
    }
}
