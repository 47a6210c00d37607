import Foundation

/// What `latte serve`'s flags set.
public struct ServeConfiguration: Sendable {
    public var host = "127.0.0.1"
    /// 0 picks a free port (tests); `LatteServer.run`'s `onListening` says which.
    public var port = 8080
    /// Requests other than `GET /health` must carry `Authorization: Bearer KEY` when set.
    public var apiKey: String?
    /// Image jobs that may wait (not counting the running ones); one more is a 429.
    public var maxQueue = 16
    /// Image jobs sampled together by cross-request batching (`BatchingImageJobRunner`); false: one at a
    /// time (`SerialImageJobRunner`).
    public var batching = true
    /// Batching: most rows in one network call (an image is one row, two with classifier-free guidance).
    public var maxBatchRows = 16
    /// Batching: jobs sampled at once; nil = `maxBatchRows`.
    public var maxActiveJobs: Int?
    /// Largest request body accepted (413 past it); chat images come in the body, base64.
    public var maxBodyBytes = 8 << 20
    /// Seconds an image made with `response_format: url` stays downloadable.
    public var fileLifetime: TimeInterval = 3600
    /// Seconds a finished job's status stays readable at `/v1/jobs/{id}`.
    public var jobRetention: TimeInterval = 3600
    /// Signals that shut the server down gracefully (none in tests, which call `shutdown()`).
    public var handlesSignals = true

    public init() {}
}
