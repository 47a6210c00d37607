import Foundation
import Hummingbird

/// A `text/event-stream` response. The body closure writes events; a write that fails means the client
/// has gone, and the closure's error path is where the request's job is cancelled.
enum ServerSentEvents {
    static func response(_ body: @escaping @Sendable (inout SSEWriter) async throws -> Void) -> Response {
        Response(
            status: .ok,
            headers: [.contentType: "text/event-stream", .cacheControl: "no-cache", .connection: "keep-alive"],
            body: ResponseBody { writer in
                var sse = SSEWriter(writer: writer)
                try await body(&sse)
                try await sse.writer.finish(nil)
            })
    }
}

struct SSEWriter {
    var writer: any ResponseBodyWriter

    /// `event: NAME` (if given) and `data: JSON`.
    mutating func send(event: String? = nil, json: Any) async throws {
        var text = ""
        if let event { text += "event: \(event)\n" }
        text += "data: " + String(decoding: JSON.data(json), as: UTF8.self) + "\n\n"
        try await writer.write(ByteBuffer(string: text))
    }

    mutating func send(raw data: String) async throws {
        try await writer.write(ByteBuffer(string: "data: \(data)\n\n"))
    }

    /// A comment line: keeps proxies from timing out, and finds a client that has gone.
    mutating func heartbeat() async throws {
        try await writer.write(ByteBuffer(string: ": keep-alive\n\n"))
    }
}

/// A job's events with a heartbeat tick every `interval` seconds between them, so a stream notices a
/// departed client even while a long step runs.
enum Ticked<Event: Sendable>: Sendable {
    case event(Event)
    case tick
}

func withHeartbeat<Event: Sendable>(_ events: AsyncStream<Event>, every interval: Double = 1) -> AsyncStream<Ticked<Event>> {
    AsyncStream { continuation in
        let forward = Task {
            for await e in events { continuation.yield(.event(e)) }
            continuation.finish()
        }
        let ticker = Task {
            while !Task.isCancelled {
                try? await Task.sleep(nanoseconds: UInt64(interval * 1e9))
                continuation.yield(.tick)
            }
        }
        continuation.onTermination = { _ in
            forward.cancel()
            ticker.cancel()
        }
    }
}
