// A persistent thread pool for kernels: workers wait for a job by spinning briefly (dispatch costs a
// few microseconds while they are hot) and then park on a condition variable (idle costs nothing).
// The calling thread always takes part, so `threadCount` = workers + 1.
import CLatteKernels
import Synchronization
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

public enum Parallel {
    /// Number of threads kernels use (the caller included). Defaults to `LATTE_THREADS` when set,
    /// else the number of online processors. Setting it is meant for benchmarks and tests.
    public static var threadCount: Int {
        get { ThreadPool.shared.threadCount }
        set { ThreadPool.shared.threadCount = max(1, newValue) }
    }

    /// Runs `body` with `threadCount` set to `count`, then restores the previous value.
    public static func withThreadCount<T>(_ count: Int, _ body: () throws -> T) rethrows -> T {
        let saved = threadCount
        threadCount = count
        defer { threadCount = saved }
        return try body()
    }

    /// Runs body(i) for i in 0..<count, possibly on several threads; returns when all are done.
    /// Indices are handed out dynamically (an atomic counter), so uneven items balance themselves.
    /// A call made from inside a running body, or while another thread owns the pool, runs inline
    /// and serially on the calling thread: nesting never deadlocks.
    public static func forEach(_ count: Int, _ body: (Int) -> Void) {
        ThreadPool.shared.run(count, body)
    }

    /// True on a pool worker, or on a caller while its `forEach` runs; nested parallel work there
    /// runs serially, so kernels can pick their single-thread variant.
    public static var isInsideParallelRegion: Bool { ThreadPool.shared.insideRegion }
}

/// Default thread count: `LATTE_THREADS` if it parses to a positive integer, else online processors.
func defaultThreadCount() -> Int {
    if let raw = getenv("LATTE_THREADS"), let n = Int(String(cString: raw)), n > 0 { return n }
    return max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))
}

final class ThreadPool: @unchecked Sendable {
    static let shared = ThreadPool()

    /// How long an idle worker spins before parking, and how long the caller spins before yielding.
    private static let spinNanoseconds: UInt64 = 200_000

    // `generation` = serial · 256 + number of helpers for the job, so a worker decides whether it
    // takes part from one atomic load and never reads job fields that may belong to a later job.
    // `job` and `jobCount` are written before the generation is published and stay unchanged until
    // every helper has reported `finished`.
    private let generation = Atomic<Int>(0)
    private let nextIndex = Atomic<Int>(0)
    private let finished = Atomic<Int>(0)
    /// Helpers that joined the current job (low bits) and whether the caller has closed it to newcomers
    /// (`closedFlag`). The caller waits only for helpers that joined, so a helper that is parked or
    /// descheduled when the work runs out never holds the caller up (the machine may be shared).
    private let joined = Atomic<Int>(0)
    private static let closedFlag = 1 << 40
    private let sleepers = Atomic<Int>(0)
    private nonisolated(unsafe) var job: ((Int) -> Void)?
    private nonisolated(unsafe) var jobCount = 0

    private nonisolated(unsafe) var spawned = 0
    private nonisolated(unsafe) var requested: Int
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>
    private let wake: UnsafeMutablePointer<pthread_cond_t>
    /// Held by the thread whose job is running; others that find it taken run serially.
    private let owner: UnsafeMutablePointer<pthread_mutex_t>
    private var regionKey = pthread_key_t()

    private init() {
        requested = defaultThreadCount()
        mutex = .allocate(capacity: 1)
        wake = .allocate(capacity: 1)
        owner = .allocate(capacity: 1)
        pthread_mutex_init(mutex, nil)
        pthread_cond_init(wake, nil)
        pthread_mutex_init(owner, nil)
        pthread_key_create(&regionKey, nil)
    }

    var threadCount: Int {
        get { requested }
        set { requested = newValue }
    }

    var insideRegion: Bool { pthread_getspecific(regionKey) != nil }

    private func setInside(_ inside: Bool) {
        pthread_setspecific(regionKey, inside ? UnsafeRawPointer(bitPattern: 1) : nil)
    }

    func run(_ count: Int, _ body: (Int) -> Void) {
        let participants = min(requested, count, 256)
        if participants <= 1 || insideRegion || pthread_mutex_trylock(owner) != 0 {
            for i in 0..<count { body(i) }
            return
        }
        defer { pthread_mutex_unlock(owner) }
        let helpers = participants - 1
        ensureWorkers(helpers)
        withoutActuallyEscaping(body) { escapable in
            job = escapable
            jobCount = count
            nextIndex.store(0, ordering: .sequentiallyConsistent)
            finished.store(0, ordering: .sequentiallyConsistent)
            joined.store(0, ordering: .sequentiallyConsistent)
            let serial = generation.load(ordering: .relaxed) >> 8 + 1
            generation.store(serial << 8 | helpers, ordering: .sequentiallyConsistent)
            if sleepers.load(ordering: .sequentiallyConsistent) > 0 {
                pthread_mutex_lock(mutex)
                pthread_cond_broadcast(wake)
                pthread_mutex_unlock(mutex)
            }
            setInside(true)
            drain(escapable, count)
            setInside(false)
            waitForHelpers(close())
            job = nil
        }
    }

    private func drain(_ body: (Int) -> Void, _ count: Int) {
        while true {
            let i = nextIndex.add(1, ordering: .relaxed).oldValue
            if i >= count { return }
            body(i)
        }
    }

    /// Stops helpers from joining the current job; returns how many joined.
    private func close() -> Int {
        var current = joined.load(ordering: .sequentiallyConsistent)
        while true {
            let (exchanged, original) = joined.compareExchange(expected: current, desired: current | Self.closedFlag,
                                                               ordering: .sequentiallyConsistent)
            if exchanged { return original }
            current = original
        }
    }

    /// A helper's attempt to take part in the current job; false once the caller has closed it.
    private func join() -> Bool {
        var current = joined.load(ordering: .sequentiallyConsistent)
        while current & Self.closedFlag == 0 {
            let (exchanged, original) = joined.compareExchange(expected: current, desired: current + 1, ordering: .sequentiallyConsistent)
            if exchanged { return true }
            current = original
        }
        return false
    }

    private func waitForHelpers(_ helpers: Int) {
        var start: UInt64 = 0
        var spins = 0
        while finished.load(ordering: .acquiring) < helpers {
            latte_cpu_relax()
            spins += 1
            if spins & 255 == 0 {
                // A helper may have been descheduled (other processes share the cores): stop
                // burning the core it needs after a short while.
                let now = monotonicNanoseconds()
                if start == 0 { start = now } else if now - start > Self.spinNanoseconds { sched_yield() }
            }
        }
    }

    private func ensureWorkers(_ count: Int) {
        while spawned < count {
            spawned += 1
            // The worker must wait for jobs after the current generation, even if it starts running
            // only after the job we are about to publish.
            let start = WorkerStart(pool: self, id: spawned, seen: generation.load(ordering: .sequentiallyConsistent))
            let arg = Unmanaged.passRetained(start).toOpaque()
            var thread = pthread_t()
            let rc = pthread_create(&thread, nil, { raw in
                let start = Unmanaged<WorkerStart>.fromOpaque(raw!).takeRetainedValue()
                start.pool.workerLoop(id: start.id, seen: start.seen)
                return nil
            }, arg)
            if rc != 0 {
                // No more threads available: run with the ones we have.
                Unmanaged<WorkerStart>.fromOpaque(arg).release()
                spawned -= 1
                requested = spawned + 1
                return
            }
            pthread_detach(thread)
        }
    }

    private func workerLoop(id: Int, seen initial: Int) {
        setInside(true)
        var seen = initial
        while true {
            seen = waitForJob(after: seen)
            guard id <= seen & 255, join() else { continue }
            runJob()
            finished.add(1, ordering: .releasing)
        }
    }

    /// The worker's copy of the job closure must be released before it reports `finished`: the
    /// caller's `withoutActuallyEscaping` checks that no reference outlives the call.
    @inline(never)
    private func runJob() {
        guard let body = job else { return }
        drain(body, jobCount)
    }

    private func waitForJob(after seen: Int) -> Int {
        var start: UInt64 = 0
        var spins = 0
        while true {
            let g = generation.load(ordering: .sequentiallyConsistent)
            if g != seen { return g }
            latte_cpu_relax()
            spins += 1
            if spins & 255 != 0 { continue }
            let now = monotonicNanoseconds()
            if start == 0 { start = now; continue }
            if now - start < Self.spinNanoseconds { continue }
            // Park. The sleeper count is raised before re-checking the generation, and the
            // dispatcher bumps the generation before reading the count, so no wake-up is lost.
            pthread_mutex_lock(mutex)
            sleepers.add(1, ordering: .sequentiallyConsistent)
            while generation.load(ordering: .sequentiallyConsistent) == seen {
                pthread_cond_wait(wake, mutex)
            }
            sleepers.subtract(1, ordering: .sequentiallyConsistent)
            pthread_mutex_unlock(mutex)
            start = 0
        }
    }
}

private final class WorkerStart {
    let pool: ThreadPool
    let id: Int
    let seen: Int
    init(pool: ThreadPool, id: Int, seen: Int) {
        self.pool = pool
        self.id = id
        self.seen = seen
    }
}

func monotonicNanoseconds() -> UInt64 {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
}
