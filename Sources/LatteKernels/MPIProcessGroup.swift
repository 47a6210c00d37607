// The ranks of an `mpirun` (or Slurm `srun`) launch as a `ProcessGroup`, over Open MPI loaded at run
// time (`MPILibrary`).
//
// Every collective is started non-blocking and then polled (MPI_Test), yielding the core for the first
// second, then sleeping a little: a rank waiting long for another does not spin a core the others
// need, and a wait longer than `timeout` ends the whole job with MPI_Abort and a message saying which
// operation waited, instead of hanging when a rank died or stopped. (mpirun itself takes the job down when a rank exits;
// the timeout covers a rank that hangs, and launchers that do not.) All calls come from one thread.
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

public final class MPIProcessGroup: ProcessGroup {
    public let rank: Int
    public let size: Int
    public let mpi: MPILibrary
    /// Seconds a collective may wait for the other ranks before the job is aborted.
    public var timeout: Double

    /// Environment variables a launcher sets in each rank: Open MPI's mpirun, PMIx (srun --mpi=pmix,
    /// prterun) and PMI-2 (srun --mpi=pmi2).
    static let launcherVariables = ["OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_RANK"]

    /// Whether this process was started by an MPI launcher.
    public static var isLaunched: Bool { launcherVariables.contains { getenv($0) != nil } }

    /// Ranks on this machine as the launcher says (Open MPI's mpirun sets it), else nil.
    public static var localRanks: Int? {
        guard let raw = getenv("OMPI_COMM_WORLD_LOCAL_SIZE"), let n = Int(String(cString: raw)), n > 0 else { return nil }
        return n
    }

    /// Loads Open MPI and initialises it; throws a message naming the problem when MPI is missing, is
    /// not Open MPI, or the process was not started by mpirun / srun.
    public static func start(timeout: Double = 600) throws -> MPIProcessGroup {
        let mpi: MPILibrary
        switch MPILibrary.shared {
        case .success(let m): mpi = m
        case .failure(let error): throw MPIError("--distributed needs MPI: \(error.message)")
        }
        guard isLaunched else {
            throw MPIError("--distributed: this process was not started by an MPI launcher (none of \(launcherVariables.joined(separator: ", ")) is set); run it as `mpirun -np N latte …` or under Slurm's `srun`")
        }
        var flag: Int32 = 0
        _ = mpi.initialized(&flag)
        if flag == 0 {
            var provided: Int32 = 0
            // MPI_THREAD_FUNNELED (1): only the thread that initialised calls MPI; kernel threads never do.
            let code = mpi.initThread(nil, nil, 1, &provided)
            guard code == 0 else { throw MPIError("MPI_Init_thread failed: \(mpi.errorText(code))") }
        }
        var r: Int32 = 0, s: Int32 = 0
        _ = mpi.commRank(mpi.commWorld, &r)
        _ = mpi.commSize(mpi.commWorld, &s)
        return MPIProcessGroup(mpi: mpi, rank: Int(r), size: Int(s), timeout: timeout)
    }

    private init(mpi: MPILibrary, rank: Int, size: Int, timeout: Double) {
        self.mpi = mpi
        self.rank = rank
        self.size = size
        self.timeout = timeout
    }

    /// Ends MPI (call once, after the last collective, on every rank).
    public func finish() {
        var flag: Int32 = 0
        _ = mpi.finalized(&flag)
        if flag == 0 { _ = mpi.finalize() }
    }

    /// Ends every rank of the job with `message` on this rank's stderr.
    public func abort(_ message: String, code: Int32 = 1) -> Never {
        // On a line of its own: rank 0's progress bar may be mid-line.
        fputs("\nrank \(rank) of \(size): \(message)\n", stderr)
        _ = mpi.abort(mpi.commWorld, code)
        exit(code)
    }

    /// Waits for a started request, polling; aborts the job after `timeout`.
    private func wait(_ request: inout MPILibrary.Handle?, started code: Int32, _ what: String, timeout: Double? = nil) throws {
        let timeout = timeout ?? self.timeout
        guard code == 0 else { throw MPIError("rank \(rank): \(what) failed to start: \(mpi.errorText(code))") }
        let start = MonotonicClock.now
        var flag: Int32 = 0
        var polls = 0
        while true {
            let c = mpi.test(&request, &flag, nil)
            guard c == 0 else { throw MPIError("rank \(rank): \(what) failed: \(mpi.errorText(c))") }
            if flag != 0 { return }
            polls += 1
            let waited = MonotonicClock.seconds(since: start)
            if waited > timeout {
                abort("\(what) waited \(Int(waited)) s for the other ranks (more than the \(Int(timeout)) s timeout): a rank died or hangs; ending the job")
            }
            // Open MPI moves a non-blocking collective's data only inside MPI calls, so every poll is
            // progress: sleeping between polls while a 20 MB gradient exchange is under way stretched it
            // (and the 2-rank training step by up to 40 %, `latte bench distributed`). Poll with a yield
            // for the first second (a rank that has its own core loses nothing; an oversubscribed one
            // hands the core over), then sleep between polls: a long wait is a rank writing a
            // checkpoint, starting up, or gone.
            if waited < 1 { sched_yield() } else { usleep(polls % 16 == 0 ? 2000 : 200) }
        }
    }

    public func barrier(_ what: String, timeout: Double?) throws {
        var request: MPILibrary.Handle?
        try wait(&request, started: mpi.ibarrier(mpi.commWorld, &request), "barrier (\(what))", timeout: timeout)
    }

    public func broadcast(_ bytes: UnsafeMutableRawBufferPointer, root: Int, _ what: String) throws {
        for (offset, count) in Self.pieces(bytes.count) {
            var request: MPILibrary.Handle?
            try wait(&request, started: mpi.ibcast(bytes.baseAddress.map { $0 + offset }, Int32(count), mpi.byte, Int32(root), mpi.commWorld, &request),
                     "broadcast (\(what))")
        }
    }

    public func allGather(_ send: UnsafeRawBufferPointer, into receive: UnsafeMutableRawBufferPointer, _ what: String) throws {
        precondition(receive.count == send.count * size, "allGather: \(receive.count) bytes to receive \(size) × \(send.count)")
        guard send.count <= Int(Int32.max) else { throw MPIError("allGather (\(what)): \(send.count) bytes per rank is beyond MPI's int count") }
        var request: MPILibrary.Handle?
        try wait(&request, started: mpi.iallgather(send.baseAddress, Int32(send.count), mpi.byte, receive.baseAddress, Int32(send.count), mpi.byte,
                                                   mpi.commWorld, &request), "all-gather (\(what))")
    }

    public func allToAll(_ send: UnsafePointer<Float>, count: Int, into receive: UnsafeMutablePointer<Float>, _ what: String) throws {
        guard count <= Int(Int32.max) else { throw MPIError("all-to-all (\(what)): \(count) floats per rank is beyond MPI's int count") }
        var request: MPILibrary.Handle?
        try wait(&request, started: mpi.ialltoall(send, Int32(count), mpi.float, receive, Int32(count), mpi.float, mpi.commWorld, &request),
                 "all-to-all (\(what))")
    }

    /// (offset, count) pieces of at most Int32.max bytes.
    static func pieces(_ total: Int) -> [(Int, Int)] {
        let limit = Int(Int32.max)
        return stride(from: 0, to: max(total, 1), by: limit).map { ($0, min(limit, total - $0)) }
    }
}

/// Monotonic seconds (no Foundation in this module).
enum MonotonicClock {
    static var now: timespec {
        var t = timespec()
        clock_gettime(CLOCK_MONOTONIC, &t)
        return t
    }

    static func seconds(since start: timespec) -> Double {
        let t = now
        return Double(t.tv_sec - start.tv_sec) + Double(t.tv_nsec - start.tv_nsec) / 1e9
    }
}
