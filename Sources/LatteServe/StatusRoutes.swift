import Foundation
import Hummingbird

/// `GET /health`, `GET /v1/models` and `GET /metrics`.
struct StatusRoutes {
    let state: ServerState
    let metrics: ServeMetrics

    func add(to router: Router<BasicRequestContext>) {
        router.get("/health") { _, _ -> Response in
            switch state.phase {
            case .loading: return JSON.response(["status": "loading"], status: .serviceUnavailable)
            case .failed(let message): return JSON.response(["status": "failed", "error": message], status: .serviceUnavailable)
            case .ready(let r): return JSON.response(["status": "ok", "model": r.model.id, "queue_depth": r.board.queueDepth])
            }
        }
        router.get("/v1/models") { _, _ -> Response in
            let r = try state.ready()
            let m = r.model
            return JSON.response(["object": "list", "data": [[
                "id": m.id, "object": "model", "created": 0, "owned_by": "latteflow",
                "image_size": m.size, "backbone": m.pipeline.manifest.backbone, "can_see": m.canSee,
            ] as [String: Any]]])
        }
        router.get("/metrics") { _, _ -> Response in
            let depth: Int
            if case .ready(let r) = state.phase { depth = r.board.queueDepth } else { depth = 0 }
            return Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                            body: .init(byteBuffer: ByteBuffer(string: metrics.render(queueDepth: depth))))
        }
    }
}
