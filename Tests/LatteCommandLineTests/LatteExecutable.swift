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
        let p = process(arguments, environment: environment, directory: directory)
        let dir = FileManager.default.temporaryDirectory
        let out = dir.appendingPathComponent("latte-out-\(UUID().uuidString)"), err = dir.appendingPathComponent("latte-err-\(UUID().uuidString)")
        for f in [out, err] { FileManager.default.createFile(atPath: f.path, contents: nil) }
        defer { for f in [out, err] { try? FileManager.default.removeItem(at: f) } }
        let (o, e) = (try FileHandle(forWritingTo: out), try FileHandle(forWritingTo: err))
        p.standardOutput = o
        p.standardError = e
        try p.run()
        p.waitUntilExit()
        try o.close(); try e.close()
        return (p.terminationStatus, try String(contentsOf: out, encoding: .utf8), try String(contentsOf: err, encoding: .utf8))
    }

    /// Runs `latte ARGUMENTS…` to completion with standard output and error interleaved in one text, as
    /// a terminal shows them.
    static func runMerged(_ arguments: [String], directory: URL? = nil) throws -> (status: Int32, output: String) {
        let p = process(arguments, environment: [:], directory: directory)
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("latte-output-\(UUID().uuidString)")
        FileManager.default.createFile(atPath: file.path, contents: nil)
        defer { try? FileManager.default.removeItem(at: file) }
        let handle = try FileHandle(forWritingTo: file)
        p.standardOutput = handle
        p.standardError = handle
        try p.run()
        p.waitUntilExit()
        try handle.close()
        return (p.terminationStatus, try String(contentsOf: file, encoding: .utf8))
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
