import Foundation

/// A learning rate as a function of the 0-based update index. Schedules compose: `warmup(_:then:)`
/// prepends a linear ramp, `joined` runs schedules one after another, each restarting its count.
///
///     let lr = LearningRateSchedule.cosine(from: 3e-4, to: 3e-5, steps: 9_000).warmup(1_000)
///
/// The warm-up and cosine forms are those of Hugging Face's get_cosine_schedule_with_warmup
/// (warm-up lr·s/W, so the first update uses 0) and torch's CosineAnnealingLR closed form
/// (floor + (peak − floor)·(1 + cos(π·s/S))/2), holding the floor after S steps.
public struct LearningRateSchedule: Sendable {
    let rate: @Sendable (Int) -> Float

    public init(_ rate: @escaping @Sendable (Int) -> Float) { self.rate = rate }

    public func callAsFunction(_ step: Int) -> Float { rate(Swift.max(step, 0)) }

    public static func constant(_ lr: Float) -> Self { Self { _ in lr } }

    /// Linear from `from` to `to` over `steps` updates, then held at `to`.
    public static func linear(from: Float, to: Float, steps: Int) -> Self {
        Self { s in
            let p = steps <= 0 ? 1 : Swift.min(1, Double(s) / Double(steps))
            return Float(Double(from) + (Double(to) - Double(from)) * p)
        }
    }

    /// Cosine decay from `from` to the floor `to` over `steps` updates, then held at `to`.
    public static func cosine(from: Float, to floor: Float = 0, steps: Int) -> Self {
        Self { s in
            let p = steps <= 0 ? 1 : Swift.min(1, Double(s) / Double(steps))
            return Float(Double(floor) + (Double(from) - Double(floor)) * 0.5 * (1 + Foundation.cos(Double.pi * p)))
        }
    }

    /// A linear ramp from 0 over `steps` updates to this schedule's first value, after which this
    /// schedule runs from its own step 0.
    public func warmup(_ steps: Int) -> Self {
        let base = self
        return Self { s in
            s < steps ? Float(Double(base(0)) * Double(s) / Double(steps)) : base(s - steps)
        }
    }

    /// Runs each schedule for its number of steps (the last one indefinitely).
    public static func joined(_ parts: [(schedule: LearningRateSchedule, steps: Int)]) -> Self {
        precondition(!parts.isEmpty, "joined needs at least one schedule")
        return Self { s in
            var start = 0
            for (i, part) in parts.enumerated() {
                if i == parts.count - 1 || s < start + part.steps { return part.schedule(s - start) }
                start += part.steps
            }
            return parts[parts.count - 1].schedule(s - start)
        }
    }
}
