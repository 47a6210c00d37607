import Foundation
import Hummingbird
import LatteKernels
import Logging
import NIOCore
import ServiceLifecycle

/// `latte serve`: an OpenAI-compatible HTTP server for one LatteFlow model (docs/serving.md).
///
/// The server listens at once and loads the model on its own thread, answering `/health` with 503
/// until it is ready. Image jobs run behind `ImageJobRunning` (the configuration's runner — cross-request
/// batching by default — unless `makeRunner` says otherwise); chat decodes on its own threads; nothing
/// heavy runs on the event loops.
/// SIGTERM / SIGINT (or `shutdown()`) stop accepting work, cancel queued and running jobs at their next
/// step (their clients get a `cancelled` answer), and let open requests finish.
public final class LatteServer: @unchecked Sendable {
    public let configuration: ServeConfiguration
    public let metrics = ServeMetrics()
    let logger: Logger
    private let load: @Sendable () throws -> ServedModel
    private let makeRunner: @Sendable (ServedModel, ComputeGate, ServeMetrics, Int) -> any ImageJobRunning
    let state = ServerState()
    private let group = Locked<ServiceGroup?>(nil)

    /// `load` reads the model (on a background thread); `makeRunner` builds the image job runner for it
    /// (model, the compute gate to share with chat, metrics, --max-queue); nil: `configuration.makeRunner`.
    public init(configuration: ServeConfiguration, logger: Logger = Logger(label: "latte.serve"),
                load: @escaping @Sendable () throws -> ServedModel,
                makeRunner: (@Sendable (ServedModel, ComputeGate, ServeMetrics, Int) -> any ImageJobRunning)? = nil) {
        self.configuration = configuration
        self.logger = logger
        self.load = load
        self.makeRunner = makeRunner ?? { model, gate, metrics, maxQueue in
            configuration.makeRunner(model: model, gate: gate, metrics: metrics, maxQueue: maxQueue)
        }
    }

    /// Serves until shut down. `onListening` gets the bound port (useful with port 0). Throws if the
    /// model fails to load (after shutting the listener down), so the command exits non-zero.
    public func run(onListening: @escaping @Sendable (Int) -> Void = { _ in }) async throws {
        let router = Router(context: BasicRequestContext.self)
        router.add(middleware: RequestLogMiddleware())
        router.add(middleware: OpenAIErrorMiddleware())
        if let key = configuration.apiKey { router.add(middleware: APIKeyMiddleware(key: key)) }
        let files = FileStore(lifetime: configuration.fileLifetime)
        StatusRoutes(state: state, metrics: metrics).add(to: router)
        ImageRoutes(state: state, files: files, configuration: configuration).add(to: router)
        JobRoutes(state: state, configuration: configuration).add(to: router)
        ChatRoutes(state: state, configuration: configuration).add(to: router)
        WebRoutes().add(to: router)

        let logger = self.logger
        let configuration = self.configuration
        let app = Application(
            router: router,
            configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: "latte"),
            onServerRunning: { channel in
                let port = channel.localAddress?.port ?? configuration.port
                logger.info("listening", metadata: ["host": "\(configuration.host)", "port": "\(port)"])
                onListening(port)
            },
            logger: logger)
        let group = ServiceGroup(configuration: .init(
            services: [.init(service: app), .init(service: JobShutdownService(state: state, logger: logger))],
            gracefulShutdownSignals: configuration.handlesSignals ? [.sigterm, .sigint] : [],
            logger: logger))
        self.group.set(group)
        startLoading(group: group)
        try await group.run()
        if case .failed(let message) = state.phase { throw ServeError(description: "the model failed to load: \(message)") }
    }

    /// Graceful shutdown, as SIGTERM does.
    public func shutdown() async {
        await group.get()?.triggerGracefulShutdown()
    }

    private func startLoading(group: ServiceGroup) {
        let thread = Thread { [self] in
            let started = Date()
            do {
                let model = try load()
                let gate = ComputeGate()
                let runner = makeRunner(model, gate, metrics, configuration.maxQueue)
                let board = JobBoard(runner: runner, metrics: metrics, retention: configuration.jobRetention)
                state.set(.ready(.init(model: model, board: board, chat: ChatService(backbone: model.backbone, gate: gate, metrics: metrics))))
                logger.info("model ready", metadata: ["model": "\(model.id)", "size": "\(model.size)", "can_see": "\(model.canSee)",
                                                      "seconds": "\(String(format: "%.1f", Date().timeIntervalSince(started)))"])
            } catch {
                state.set(.failed("\(error)"))
                logger.critical("model failed to load; shutting down", metadata: ["error": "\(error)"])
                Task { await group.triggerGracefulShutdown() }
            }
        }
        thread.name = "latte-serve-load"
        thread.stackSize = 16 << 20
        thread.start()
    }
}

/// The server could not run (its model failed to load).
public struct ServeError: Error, CustomStringConvertible {
    public let description: String
    public init(description: String) { self.description = description }
}

/// On graceful shutdown, before the HTTP server drains its connections: refuse new jobs and cancel
/// queued and running ones, so the requests waiting on them answer and the drain ends.
struct JobShutdownService: Service {
    let state: ServerState
    let logger: Logger

    func run() async throws {
        try? await gracefulShutdown()
        if case .ready(let ready) = state.phase {
            logger.info("shutting down: cancelling queued and running image jobs", metadata: ["queued": "\(ready.board.queueDepth)"])
            ready.board.runner.shutdown()
        }
    }
}

/// `Authorization: Bearer KEY` on everything but `/health` (a load balancer's probe carries no key) and
/// the web page's files (`WebRoutes.isOpen`: the page holds no secret; its API calls carry the key).
struct APIKeyMiddleware<Context: RequestContext>: RouterMiddleware {
    let key: String

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        if request.uri.path == "/health" || WebRoutes.isOpen(method: request.method, path: request.uri.path) { return try await next(request, context) }
        let given = request.headers[.authorization].flatMap { h -> String? in
            h.lowercased().hasPrefix("bearer ") ? String(h.dropFirst(7)).trimmingCharacters(in: .whitespaces) : nil
        }
        guard let given, Self.constantTimeEqual(given, key) else { throw APIError.unauthorized }
        return try await next(request, context)
    }

    /// Compares without an early exit, so response time does not reveal how much of a guess was right.
    static func constantTimeEqual(_ a: String, _ b: String) -> Bool {
        let x = Array(a.utf8), y = Array(b.utf8)
        var diff = UInt8(x.count == y.count ? 0 : 1)
        for i in 0..<max(x.count, y.count) { diff |= (i < x.count ? x[i] : 0) ^ (i < y.count ? y[i] : 0) }
        return diff == 0
    }
}

/// One structured log line per request: method, path, status, milliseconds.
struct RequestLogMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let started = ContinuousClock.now
        let response = try await next(request, context)
        let ms = (ContinuousClock.now - started).components
        context.logger.info("request", metadata: [
            "method": "\(request.method)", "path": "\(request.uri.path)", "status": "\(response.status.code)",
            "ms": "\(ms.seconds * 1000 + ms.attoseconds / 1_000_000_000_000_000)",
        ])
        return response
    }
}

/// A value behind a lock.
final class Locked<Value>: @unchecked Sendable {
    private let lock = NSLock()
    private var value: Value
    init(_ value: Value) { self.value = value }
    func get() -> Value { lock.lock(); defer { lock.unlock() }; return value }
    func set(_ v: Value) { lock.lock(); value = v; lock.unlock() }
}
