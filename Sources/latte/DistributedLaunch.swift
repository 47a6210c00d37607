import Foundation
import LatteKernels

/// `--distributed` for a command: joins the MPI job this process was launched into and sets its
/// thread count. A failure to start is a clear error (`MPIProcessGroup.start` names the problem).
enum DistributedLaunch {
    /// `threads` nil: the machine's cores shared among the ranks mpirun put on it, so two ranks on a
    /// 2-core machine take one core each instead of both taking both.
    static func start(timeout: Double, threads: Int?) throws -> MPIProcessGroup {
        let group: MPIProcessGroup
        do { group = try MPIProcessGroup.start(timeout: timeout) } catch let error as MPIError { throw CommandFailure(error.message) }
        let cores = ProcessInfo.processInfo.activeProcessorCount
        Parallel.threadCount = threads ?? max(1, cores / (MPIProcessGroup.localRanks ?? 1))
        if group.isWriter {
            say("distributed: \(group.size) ranks (\(group.mpi.library): \(group.mpi.version)), \(Parallel.threadCount) threads per rank")
        }
        return group
    }

    /// Runs `body`; an error on one rank ends every rank of the job (MPI_Abort) with its message, so
    /// no rank is left waiting in a collective for one that has given up.
    static func run<T>(_ group: MPIProcessGroup?, _ body: () throws -> T) throws -> T {
        guard let group, group.size > 1 else { return try body() }
        do { return try body() } catch { group.abort("Error: \(error)") }
    }
}
