import Foundation
import Hummingbird
import LatteFormats

/// The native job API for long image jobs: `POST /v1/jobs` (202 at once), `GET /v1/jobs/{id}`,
/// `GET /v1/jobs/{id}/events` (server-sent progress) and `POST /v1/jobs/{id}/cancel`.
struct JobRoutes {
    let state: ServerState
    let configuration: ServeConfiguration

    func add(to router: Router<BasicRequestContext>) {
        router.post("/v1/jobs") { request, _ -> Response in
            let ready = try state.ready()
            let fields = try await RequestFields.read(request, limit: configuration.maxBodyBytes)
            var parsed = try ImageRoutes.parse(fields, model: ready.model, streamingDefaultPartials: 0)
            // Jobs have no streaming response of their own; previews go to /events when asked for.
            parsed.job.partialImages = try fields.int("partial_images") ?? 0
            guard (0...10).contains(parsed.job.partialImages) else {
                throw APIError.invalid("partial_images", "'partial_images' must be between 0 and 10, got \(parsed.job.partialImages)")
            }
            let (id, _) = try ready.board.submit(parsed.job)
            let position = ready.board.snapshot(id)?.queuePosition ?? 0
            return JSON.response(["id": id, "object": "image.job", "status": "queued", "queue_position": position,
                                  "seed": Int(parsed.job.seed)], status: .accepted)
        }
        router.get("/v1/jobs/:id") { _, context -> Response in
            let ready = try state.ready()
            let id = try context.parameters.require("id")
            guard let s = ready.board.snapshot(id) else { throw APIError.notFound("no job '\(id)'") }
            return JSON.response(try Self.describe(s))
        }
        router.post("/v1/jobs/:id/cancel") { _, context -> Response in
            let ready = try state.ready()
            let id = try context.parameters.require("id")
            guard let before = ready.board.snapshot(id) else { throw APIError.notFound("no job '\(id)'") }
            let accepted = ready.board.cancel(id)
            guard accepted else {
                throw APIError(.conflict, "job '\(id)' has already finished (\(before.state.rawValue))", code: "job_finished")
            }
            let now = ready.board.snapshot(id) ?? before
            return JSON.response(try Self.describe(now, note: now.state == .cancelled ? nil : "cancellation takes effect at the next sampling step"))
        }
        router.get("/v1/jobs/:id/events") { _, context -> Response in
            let ready = try state.ready()
            let id = try context.parameters.require("id")
            guard let (snapshot, events) = ready.board.subscribe(id) else { throw APIError.notFound("no job '\(id)'") }
            return ServerSentEvents.response { sse in
                try await sse.send(event: "status", json: try Self.describe(snapshot, images: false))
                guard let events else {
                    try await sse.send(event: snapshot.state.rawValue, json: try Self.describe(snapshot))
                    return
                }
                for await item in withHeartbeat(events) {
                    switch item {
                    case .tick: try await sse.heartbeat()
                    case .event(let event):
                        if let (name, body) = try Self.sse(event, id: id) { try await sse.send(event: name, json: body) }
                    }
                }
            }
        }
    }

    /// A job's status as JSON; `images` adds the finished images (base64 PNG).
    static func describe(_ s: JobBoard.Snapshot, images: Bool = true, note: String? = nil) throws -> [String: Any] {
        var o: [String: Any] = ["id": s.id, "object": "image.job", "status": s.state.rawValue, "created": Int(s.created.timeIntervalSince1970),
                                "prompt": s.prompt, "seed": Int(s.seed), "step": s.step, "total_steps": s.totalSteps]
        if let p = s.queuePosition { o["queue_position"] = p }
        if let e = s.error { o["error"] = ["message": e, "type": "server_error"] }
        if let note { o["note"] = note }
        if images && s.state == .done {
            o["data"] = try s.images.map { ["b64_json": Data(try PNG.encode($0)).base64EncodedString()] }
        }
        return o
    }

    /// An event as an SSE name and body; nil for none.
    static func sse(_ event: ImageJobEvent, id: String) throws -> (String, [String: Any])? {
        switch event {
        case .queued(let position): return ("queued", ["id": id, "queue_position": position])
        case .started: return ("running", ["id": id])
        case .step(let step, let of, let seconds): return ("progress", ["id": id, "step": step, "total_steps": of, "step_seconds": seconds])
        case .preview(let step, let of, let index, let images):
            return ("preview", ["id": id, "step": step, "total_steps": of, "partial_image_index": index,
                                "data": try images.map { ["b64_json": Data(try PNG.encode($0)).base64EncodedString()] }])
        case .done(let images, let seconds):
            return ("done", ["id": id, "seconds": seconds, "data": try images.map { ["b64_json": Data(try PNG.encode($0)).base64EncodedString()] }])
        case .failed(let message): return ("failed", ["id": id, "error": ["message": message, "type": "server_error"]])
        case .cancelled: return ("cancelled", ["id": id])
        }
    }
}
