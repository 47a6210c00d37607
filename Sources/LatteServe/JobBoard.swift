import Foundation
import LatteFormats

/// Where every image job stands, for `GET /v1/jobs/{id}` and its event stream: the board wraps
/// `ImageJobRunning.submit`, records each event, and fans events out to any number of listeners (the
/// request that made the job, `/events` streams). Finished jobs are kept for `retention` seconds.
public final class JobBoard: @unchecked Sendable {
    public enum State: String, Sendable { case queued, running, done, failed, cancelled }

    public struct Snapshot: Sendable {
        public let id: String
        public let state: State
        public let created: Date
        public let prompt: String
        public let seed: UInt64
        /// Jobs ahead of this one plus one, while queued.
        public let queuePosition: Int?
        public let step: Int
        public let totalSteps: Int
        public let images: [Image]
        public let error: String?
    }

    private struct Record {
        let id: String
        let order: Int
        let request: ImageJobRequest
        let created = Date()
        var state = State.queued
        var step = 0
        var totalSteps = 0
        var images: [Image] = []
        var error: String?
        var finished: Date?
        var listeners: [UUID: AsyncStream<ImageJobEvent>.Continuation] = [:]
    }

    public let runner: any ImageJobRunning
    public let retention: TimeInterval
    private let metrics: ServeMetrics
    private let lock = NSLock()
    private var records: [String: Record] = [:]
    private var order = 0

    public init(runner: any ImageJobRunning, metrics: ServeMetrics, retention: TimeInterval = 600) {
        self.runner = runner
        self.metrics = metrics
        self.retention = retention
    }

    /// Queues a job; the stream carries its events from `.queued` to its terminal event, then ends.
    /// Throws what the runner throws (`ImageJobRejection`).
    public func submit(_ request: ImageJobRequest) throws -> (id: String, events: AsyncStream<ImageJobEvent>) {
        prune()
        let (stream, continuation) = AsyncStream<ImageJobEvent>.makeStream(bufferingPolicy: .unbounded)
        let listener = UUID()
        // The runner reports `.queued` before `submit` returns the id: events wait in `delivery` until the
        // record exists, and from then on pass through it one at a time, so they are recorded in order.
        let delivery = OrderedDelivery()
        let id = try runner.submit(request) { [weak self] event in
            delivery.deliver(event) { id, event in self?.record(event, for: id) }
        }
        lock.lock()
        order += 1
        var r = Record(id: id, order: order, request: request)
        r.listeners[listener] = continuation
        records[id] = r
        lock.unlock()
        metrics.jobSubmitted()
        delivery.start(id: id) { id, event in self.record(event, for: id) }
        return (id, stream)
    }

    /// The job's state now, and (if it is not finished) a stream of its later events; nil if unknown.
    public func subscribe(_ id: String) -> (Snapshot, AsyncStream<ImageJobEvent>?)? {
        lock.lock()
        defer { lock.unlock() }
        guard var r = records[id] else { return nil }
        let snapshot = snapshotLocked(r)
        if r.finished != nil { return (snapshot, nil) }
        let (stream, continuation) = AsyncStream<ImageJobEvent>.makeStream(bufferingPolicy: .unbounded)
        r.listeners[UUID()] = continuation
        records[id] = r
        return (snapshot, stream)
    }

    public func snapshot(_ id: String) -> Snapshot? {
        lock.lock()
        defer { lock.unlock() }
        return records[id].map(snapshotLocked)
    }

    /// Asks the runner to cancel; false if the job is unknown or already finished.
    @discardableResult public func cancel(_ id: String) -> Bool { runner.cancel(id) }

    public var queueDepth: Int { runner.queueDepth }

    private func snapshotLocked(_ r: Record) -> Snapshot {
        let position = r.state == .queued ? records.values.filter { $0.state == .queued && $0.order <= r.order }.count : nil
        return Snapshot(id: r.id, state: r.state, created: r.created, prompt: r.request.prompt, seed: r.request.seed,
                        queuePosition: position, step: r.step, totalSteps: r.totalSteps, images: r.images, error: r.error)
    }

    private func record(_ event: ImageJobEvent, for id: String) {
        lock.lock()
        guard var r = records[id], r.finished == nil else { lock.unlock(); return }
        let before = r.state
        switch event {
        case .queued: break
        case .started: r.state = .running
        case .step(let step, let total, _): (r.step, r.totalSteps) = (step, total)
        case .preview: break
        case .done(let images, _): (r.state, r.images) = (.done, images)
        case .failed(let message): (r.state, r.error) = (.failed, message)
        case .cancelled: r.state = .cancelled
        }
        let listeners = Array(r.listeners.values)
        if event.isTerminal {
            r.finished = Date()
            r.listeners.removeAll()
        }
        records[id] = r
        lock.unlock()
        if before != r.state { metrics.jobMoved(from: before, to: r.state) }
        if case .done(let images, _) = event { metrics.imagesGenerated(images.count) }
        for l in listeners {
            l.yield(event)
            if event.isTerminal { l.finish() }
        }
    }

    private func prune() {
        let now = Date()
        lock.lock()
        records = records.filter { _, r in r.finished.map { now.timeIntervalSince($0) < retention } ?? true }
        lock.unlock()
    }
}

/// One job's events, in the order the runner reported them: held until the board knows the job's id,
/// then passed on one at a time (the held ones first).
private final class OrderedDelivery: @unchecked Sendable {
    private let lock = NSLock()
    private var held: [ImageJobEvent] = []
    private var id: String?

    func deliver(_ event: ImageJobEvent, to sink: (String, ImageJobEvent) -> Void) {
        lock.lock()
        defer { lock.unlock() }
        guard let id else { held.append(event); return }
        sink(id, event)
    }

    func start(id: String, sink: (String, ImageJobEvent) -> Void) {
        lock.lock()
        defer { lock.unlock() }
        self.id = id
        for event in held { sink(id, event) }
        held = []
    }
}
