import Foundation
import XCTest

/// The `latte` executable that `swift build` puts beside the test bundle, run as a child process with
/// its standard output and error captured through files (a pipe could fill and block a chatty command).
enum LatteExecutable {
    static var url: URL { URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("latte") }

    /// Fails the calling test (rather than skipping it) when the executable has not been built.
    static func require(file: StaticString = #filePath, line: UInt = #line) throws {
        guard FileManager.default.isExecutableFile(atPath: url.path) else {
            XCTFail("no latte executable beside the test bundle at \(url.path): build it with `swift build -c release`", file: file, line: line)
            throw CocoaError(.fileNoSuchFile)
        }
    }

    /// Runs `latte ARGUMENTS…` to completion in `directory` (default: this process's); `environment`
    /// entries are added to this process's own.
    static func run(_ arguments: [String], environment: [String: String] = [:], directory: URL? = nil) throws -> (status: Int32, stdout: String, stderr: String) {
        let (status, texts) = try capture(process(arguments, environment: environment, directory: directory), files: 2)
        return (status, texts[0], texts[1])
    }

    /// Runs `latte ARGUMENTS…` to completion with standard output and error interleaved in one text, as
    /// a terminal shows them.
    static func runMerged(_ arguments: [String], directory: URL? = nil) throws -> (status: Int32, output: String) {
        let (status, texts) = try capture(process(arguments, directory: directory), files: 1)
        return (status, texts[0])
    }

    /// Runs `p` to completion with standard output in the first of `files` temporary files and standard
    /// error in the last (one file: both interleaved); returns the exit status and the files' texts.
    private static func capture(_ p: Process, files count: Int) throws -> (Int32, [String]) {
        let files = (0..<count).map { _ in FileManager.default.temporaryDirectory.appendingPathComponent("latte-output-\(UUID().uuidString)") }
        for f in files { FileManager.default.createFile(atPath: f.path, contents: nil) }
        defer { for f in files { try? FileManager.default.removeItem(at: f) } }
        let handles = try files.map { try FileHandle(forWritingTo: $0) }
        p.standardOutput = handles[0]
        p.standardError = handles[count - 1]
        try p.run()
        p.waitUntilExit()
        for h in handles { try h.close() }
        return (p.terminationStatus, try files.map { try String(contentsOf: $0, encoding: .utf8) })
    }

    /// A `latte ARGUMENTS…` process, not yet started.
    static func process(_ arguments: [String], environment: [String: String] = [:], directory: URL? = nil) -> Process {
        let p = Process()
        p.executableURL = url
        p.arguments = arguments
        if !environment.isEmpty { p.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 } }
        if let directory { p.currentDirectoryURL = directory }
        return p
    }
}
