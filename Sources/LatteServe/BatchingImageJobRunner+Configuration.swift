import Foundation

extension ServeConfiguration {
    /// The image job runner these settings ask for: `BatchingImageJobRunner` (with `maxBatchRows`,
    /// `maxActiveJobs`) when `batching`, else `SerialImageJobRunner`; both report step times to `metrics`.
    public func makeRunner(model: ServedModel, gate: ComputeGate, metrics: ServeMetrics, maxQueue: Int) -> any ImageJobRunning {
        if batching {
            return BatchingImageJobRunner(model: model, maxQueue: maxQueue, gate: gate, maxRows: maxBatchRows, maxActiveJobs: maxActiveJobs) {
                metrics.stepFinished(seconds: $0)
            }
        }
        return SerialImageJobRunner(model: model, maxQueue: maxQueue, gate: gate) { metrics.stepFinished(seconds: $0) }
    }
}
