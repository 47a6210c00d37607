import Foundation
import Hummingbird
import LatteFormats
import Logging

/// `POST /v1/images/generations` (OpenAI's Images API) and `GET /v1/files/{name}` for `url` results.
struct ImageRoutes {
    let state: ServerState
    let files: FileStore
    let configuration: ServeConfiguration

    /// An image request's fields, checked against the model.
    struct Parsed {
        var job: ImageJobRequest
        var responseFormat: String
        var stream: Bool
    }

    static func parse(_ f: RequestFields, model: ServedModel, streamingDefaultPartials: Int) throws -> Parsed {
        let prompt = try f.requiredString("prompt")
        guard !prompt.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else { throw APIError.invalid("prompt", "'prompt' is empty") }
        let n = try f.int("n") ?? 1
        guard (1...SerialImageJobRunner.maxImages).contains(n) else {
            throw APIError.invalid("n", "'n' must be between 1 and \(SerialImageJobRunner.maxImages), got \(n)")
        }
        if let size = try f.string("size"), size != "auto", size != model.size {
            throw APIError.invalid("size", "size '\(size)' is not supported: this model makes \(model.size) images only", code: "unsupported_size")
        }
        let format = try f.string("response_format") ?? "b64_json"
        guard format == "b64_json" || format == "url" else {
            throw APIError.invalid("response_format", "response_format must be 'b64_json' or 'url', got '\(format)'")
        }
        if let output = try f.string("output_format"), output != "png" {
            throw APIError.invalid("output_format", "output_format '\(output)' is not supported: images are PNG")
        }
        let stream = try f.bool("stream") ?? false
        let partials = try f.int("partial_images") ?? (stream ? streamingDefaultPartials : 0)
        // Streams take OpenAI's 0–3; the job API (which reuses this parse) checks its own 0–10.
        guard !stream || (0...3).contains(partials) else { throw APIError.invalid("partial_images", "'partial_images' must be between 0 and 3, got \(partials)") }
        let steps = try f.int("steps")
        if let steps, !(1...SerialImageJobRunner.maxSteps).contains(steps) {
            throw APIError.invalid("steps", "'steps' must be between 1 and \(SerialImageJobRunner.maxSteps), got \(steps)")
        }
        let guidance = try f.float("guidance")
        if let guidance, guidance < 0 || guidance > 100 { throw APIError.invalid("guidance", "'guidance' must be between 0 and 100, got \(guidance)") }
        let seed = try f.uint64("seed") ?? UInt64.random(in: 0..<(1 << 31))
        let job = ImageJobRequest(prompt: prompt, count: n, seed: seed, steps: steps, guidance: guidance, partialImages: stream ? partials : 0)
        return Parsed(job: job, responseFormat: format, stream: stream)
    }

    func add(to router: Router<BasicRequestContext>) {
        router.post("/v1/images/generations") { request, context -> Response in
            let ready = try state.ready()
            let fields = try await RequestFields.read(request, limit: configuration.maxBodyBytes)
            let parsed = try Self.parse(fields, model: ready.model, streamingDefaultPartials: 2)
            let (id, events) = try ready.board.submit(parsed.job)
            context.logger.info("image job queued", metadata: ["job": "\(id)", "n": "\(parsed.job.count)", "seed": "\(parsed.job.seed)"])
            if parsed.stream { return stream(id: id, events: events, board: ready.board, size: ready.model.size, logger: context.logger) }
            // A client that hangs up before its images are ready cancels the job (should the handler run
            // after the images are ready, cancelling a finished job does nothing).
            let outcome = try await request.drainedBody.consumeWithInboundCloseHandler { _ in
                await Self.finalEvent(events)
            } onInboundClosed: {
                ready.board.cancel(id)
            }
            switch outcome {
            case .done(let images, _):
                let data = try images.map { image -> [String: Any] in
                    let png = try PNG.encode(image)
                    if parsed.responseFormat == "url" {
                        return ["url": url(for: files.add(png: png), request: request), "revised_prompt": parsed.job.prompt]
                    }
                    return ["b64_json": Data(png).base64EncodedString(), "revised_prompt": parsed.job.prompt]
                }
                return JSON.response(["created": Int(Date().timeIntervalSince1970), "data": data,
                                      "usage": ["input_tokens": 0, "output_tokens": 0, "total_tokens": 0]])
            case .failed(let message):
                throw APIError(.internalServerError, "image generation failed: \(message)", type: "server_error")
            default:
                throw APIError(.serviceUnavailable, "the image job was cancelled", type: "server_error", code: "cancelled")
            }
        }
        router.get("/v1/files/:name") { _, context -> Response in
            let name = try context.parameters.require("name")
            guard let png = files.get(name) else { throw APIError.notFound("no file '\(name)' (files expire \(Int(files.lifetime)) s after they are made)") }
            return Response(status: .ok, headers: [.contentType: "image/png"], body: .init(byteBuffer: ByteBuffer(bytes: png)))
        }
    }

    /// The absolute URL of a stored file, on the host the client used.
    func url(for name: String, request: Request) -> String {
        let host = request.head.authority ?? "\(configuration.host):\(configuration.port)"
        return "http://\(host)/v1/files/\(name)"
    }

    static func finalEvent(_ events: AsyncStream<ImageJobEvent>) async -> ImageJobEvent {
        for await event in events where event.isTerminal { return event }
        return .cancelled
    }

    /// OpenAI's image streaming events: `image_generation.partial_image` for each partial image, then
    /// `image_generation.completed` per image; a failure is an `error` event.
    func stream(id: String, events: AsyncStream<ImageJobEvent>, board: JobBoard, size: String, logger: Logger) -> Response {
        ServerSentEvents.response { sse in
            let common: [String: Any] = ["size": size, "quality": "auto", "background": "opaque", "output_format": "png"]
            func payload(_ type: String, _ image: Image, _ extra: [String: Any]) throws -> [String: Any] {
                var p = common.merging(extra) { $1 }
                p["type"] = type
                p["b64_json"] = Data(try PNG.encode(image)).base64EncodedString()
                p["created_at"] = Int(Date().timeIntervalSince1970)
                return p
            }
            do {
                for await item in withHeartbeat(events) {
                    switch item {
                    case .tick: try await sse.heartbeat()
                    case .event(.preview(_, _, let index, let images)):
                        for (i, image) in images.enumerated() {
                            try await sse.send(event: "image_generation.partial_image",
                                               json: try payload("image_generation.partial_image", image, ["partial_image_index": index, "image_index": i]))
                        }
                    case .event(.done(let images, _)):
                        for (i, image) in images.enumerated() {
                            try await sse.send(event: "image_generation.completed", json: try payload("image_generation.completed", image, [
                                "image_index": i, "usage": ["input_tokens": 0, "output_tokens": 0, "total_tokens": 0,
                                                            "input_tokens_details": ["text_tokens": 0, "image_tokens": 0]]]))
                        }
                    case .event(.failed(let message)):
                        try await sse.send(event: "error", json: APIError(.internalServerError, "image generation failed: \(message)", type: "server_error").body)
                    case .event(.cancelled):
                        try await sse.send(event: "error", json: APIError(.serviceUnavailable, "the image job was cancelled", type: "server_error", code: "cancelled").body)
                    case .event: break
                    }
                }
            } catch {
                // The client went away mid-stream: stop its job.
                logger.info("stream client disconnected; cancelling", metadata: ["job": "\(id)"])
                board.cancel(id)
                throw error
            }
        }
    }
}
