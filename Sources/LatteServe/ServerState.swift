import Foundation

/// The server's model, once loaded: routes other than `/health` and `/metrics` answer 503 before.
final class ServerState: @unchecked Sendable {
    struct Ready {
        let model: ServedModel
        let board: JobBoard
        let chat: ChatService
    }

    enum Phase {
        case loading
        case ready(Ready)
        case failed(String)
    }

    private let lock = NSLock()
    private var _phase = Phase.loading

    var phase: Phase {
        lock.lock()
        defer { lock.unlock() }
        return _phase
    }

    func set(_ phase: Phase) {
        lock.lock()
        _phase = phase
        lock.unlock()
    }

    /// The loaded model, or a 503.
    func ready() throws -> Ready {
        switch phase {
        case .ready(let r): return r
        case .loading: throw APIError.loading
        case .failed(let message): throw APIError(.serviceUnavailable, "the model failed to load: \(message)", type: "server_error", code: "model_failed")
        }
    }
}
