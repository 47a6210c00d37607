import Foundation

/// One line of every training log (`TrainingRun` writes it for the generator, the autoencoder and the
/// classifier alike): flat, so each metric is its own column for `TrainingLog.series` and for scripts.
///
///     {"applied":true,"g0":1.92,"grad_norm":2.9,"loss":1.96,"lr":0.0005,"seconds":0.18,"step":1}
///
/// `metrics` are the trainer's own columns (per-group losses "g0"…, or "mse", "l1", "kl").
public struct TrainingLogRecord: Codable, Equatable, Sendable {
    public let step: Int
    public let loss: Float
    public let learningRate: Float
    /// Global gradient norm before clipping.
    public let gradientNorm: Float
    /// False when the step was skipped for a non-finite loss or gradient.
    public let applied: Bool
    public let seconds: Double
    public let metrics: [String: Float]

    public init(step: Int, loss: Float, learningRate: Float, gradientNorm: Float, applied: Bool, seconds: Double,
                metrics: [String: Float] = [:]) {
        self.step = step
        self.loss = loss
        self.learningRate = learningRate
        self.gradientNorm = gradientNorm
        self.applied = applied
        self.seconds = seconds
        self.metrics = metrics
    }

    static let fixedKeys: Set<String> = ["step", "loss", "lr", "grad_norm", "applied", "seconds"]

    struct Key: CodingKey {
        let stringValue: String
        init(_ name: String) { stringValue = name }
        init?(stringValue: String) { self.stringValue = stringValue }
        var intValue: Int? { nil }
        init?(intValue: Int) { nil }
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: Key.self)
        try c.encode(step, forKey: Key("step"))
        try c.encode(loss, forKey: Key("loss"))
        try c.encode(learningRate, forKey: Key("lr"))
        try c.encode(gradientNorm, forKey: Key("grad_norm"))
        try c.encode(applied, forKey: Key("applied"))
        try c.encode(seconds, forKey: Key("seconds"))
        for (name, value) in metrics {
            precondition(!Self.fixedKeys.contains(name), "metric '\(name)' would overwrite a column of the log record")
            try c.encode(value, forKey: Key(name))
        }
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: Key.self)
        step = try c.decode(Int.self, forKey: Key("step"))
        loss = try c.decode(Float.self, forKey: Key("loss"))
        learningRate = try c.decode(Float.self, forKey: Key("lr"))
        gradientNorm = try c.decode(Float.self, forKey: Key("grad_norm"))
        applied = try c.decode(Bool.self, forKey: Key("applied"))
        seconds = try c.decode(Double.self, forKey: Key("seconds"))
        var metrics: [String: Float] = [:]
        for key in c.allKeys where !Self.fixedKeys.contains(key.stringValue) {
            metrics[key.stringValue] = try c.decode(Float.self, forKey: key)
        }
        self.metrics = metrics
    }
}
