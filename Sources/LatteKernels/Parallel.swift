// Placeholder: serial. The thread-pool work replaces the body with a persistent pool.

public enum Parallel {
    /// Number of worker threads used by kernels.
    public nonisolated(unsafe) static var threadCount: Int = 1

    /// Runs body(i) for i in 0..<count, possibly on several threads; returns when all are done.
    public static func forEach(_ count: Int, _ body: (Int) -> Void) {
        for i in 0..<count { body(i) }
    }
}
