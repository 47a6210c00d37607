import Foundation

/// A job as it waits its turn in either runner: what cancelling it before it starts needs.
protocol WaitingImageJob {
    var id: String { get }
    var events: @Sendable (ImageJobEvent) -> Void { get }
}

/// The jobs waiting for a runner, first come first served — the part both runners share: queueing
/// with its `.queued` event, taking jobs in order, and ending waiting jobs on cancel or shutdown.
/// Not locked: the runner calls it under its own lock, and sends `.cancelled` after unlocking.
struct WaitingImageJobs<Job: WaitingImageJob> {
    private(set) var jobs: [Job] = []

    var count: Int { jobs.count }
    var isEmpty: Bool { jobs.isEmpty }

    /// Queues the job and tells it its position (before the runner can start it, so `.queued` is first).
    mutating func append(_ job: Job) {
        jobs.append(job)
        job.events(.queued(position: jobs.count))
    }

    /// The first `n` jobs (or fewer), removed.
    mutating func takeFirst(_ n: Int) -> [Job] {
        let taken = Array(jobs.prefix(n))
        jobs.removeFirst(taken.count)
        return taken
    }

    /// The waiting job with this id, removed; its `.cancelled` is the caller's to send once unlocked.
    mutating func remove(id: String) -> Job? {
        guard let i = jobs.firstIndex(where: { $0.id == id }) else { return nil }
        return jobs.remove(at: i)
    }

    /// Every waiting job, removed (shutdown).
    mutating func removeAll() -> [Job] {
        defer { jobs.removeAll() }
        return jobs
    }

    /// A new job id: "imgjob_" and 24 hex digits.
    static func newID() -> String {
        "imgjob_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased().prefix(24)
    }
}
