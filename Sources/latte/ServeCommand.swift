import ArgumentParser
import Foundation
import LatteFlow
import LatteKernels
import LatteServe
import Logging

/// `latte serve`: an OpenAI-compatible HTTP server for a LatteFlow model (docs/serving.md).
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Serve a LatteFlow model over HTTP: OpenAI-compatible images and chat, a job API with progress, /health and /metrics.")

    @Option(help: "A LatteFlow model folder (model.json).") var model = defaultModelFolder
    @Option(help: "Address to listen on (default: loopback only; 0.0.0.0 for every interface).") var host = "127.0.0.1"
    @Option(help: "Port to listen on (0: any free port, logged at start).") var port = 8080
    @Option(help: "Require 'Authorization: Bearer KEY' on every request but GET /health.") var apiKey: String?
    @Option(help: "Read the API key from this file (first line), so it stays out of the process list.") var apiKeyFile: String?
    @Option(help: "Image jobs that may wait behind the running ones; one more is answered 429 with Retry-After.") var maxQueue = 16
    @Option(help: "on: concurrent image jobs are sampled together (cross-request batching); off: one job at a time.") var batching = "on"
    @Option(help: "Batching: most rows in one network call (an image is one row, two with guidance); also the largest n.") var maxBatchRows = 16
    @Option(help: "Batching: image jobs sampled at once (default: --max-batch-rows).") var maxActiveJobs: Int?
    @Option(help: "Largest request body in bytes (413 past it); chat images travel in the body as base64.") var maxBodyBytes = 8 << 20
    @Option(help: "Compute threads (default: all cores).") var threads: Int?
    @Option(help: "Log level: trace, debug, info, notice, warning, error, critical.") var logLevel = "info"

    func validate() throws {
        if apiKey != nil && apiKeyFile != nil { throw ValidationError("--api-key and --api-key-file exclude each other") }
        if let apiKey, apiKey.isEmpty { throw ValidationError("--api-key must not be empty") }
        if !(0...65535).contains(port) { throw ValidationError("--port must be between 0 and 65535") }
        if maxQueue < 0 { throw ValidationError("--max-queue must be ≥ 0") }
        if batching != "on" && batching != "off" { throw ValidationError("--batching must be 'on' or 'off', got '\(batching)'") }
        if maxBatchRows < 1 { throw ValidationError("--max-batch-rows must be at least 1") }
        if let maxActiveJobs, maxActiveJobs < 1 { throw ValidationError("--max-active-jobs must be at least 1") }
        if maxBodyBytes < 1024 { throw ValidationError("--max-body-bytes must be at least 1024") }
        if let threads, threads < 1 { throw ValidationError("--threads must be at least 1") }
        if Logger.Level(rawValue: logLevel) == nil { throw ValidationError("--log-level must be one of trace, debug, info, notice, warning, error, critical") }
    }

    func run() async throws {
        if let threads { Parallel.threadCount = threads }
        var c = ServeConfiguration()
        c.host = host
        c.port = port
        c.maxQueue = maxQueue
        c.batching = batching == "on"
        c.maxBatchRows = maxBatchRows
        c.maxActiveJobs = maxActiveJobs
        c.maxBodyBytes = maxBodyBytes
        c.apiKey = try apiKey ?? apiKeyFile.map(Self.readKey)
        var logger = Logger(label: "latte.serve")
        logger.logLevel = Logger.Level(rawValue: logLevel) ?? .info
        if c.apiKey == nil && host != "127.0.0.1" && host != "localhost" && host != "::1" {
            logger.warning("listening beyond loopback without an API key: anyone who can reach \(host):\(port) can use the model (--api-key)")
        }
        let folder = model
        let server = LatteServer(configuration: c, logger: logger) {
            // The same loading (and failure message) as `latte generate`, plus the backbone for chat.
            try loadModelFolder(folder) { try ServedModel.load(directory: $0, assets: .fetchIfMissing(log: say)) }
        }
        do { try await server.run() } catch { throw CommandFailure("\(error)") }
    }

    static func readKey(_ path: String) throws -> String {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { throw CommandFailure("cannot read the API key file \(path)") }
        let key = text.split(whereSeparator: \.isNewline).first.map { $0.trimmingCharacters(in: .whitespaces) } ?? ""
        guard !key.isEmpty else { throw CommandFailure("the API key file \(path) is empty") }
        return key
    }
}
