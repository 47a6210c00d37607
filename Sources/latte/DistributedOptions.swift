import ArgumentParser
import LatteKernels

/// The threading and MPI flags every trainer takes (`latte train`, `latte train-vae`): one definition,
/// so the commands cannot drift apart in names, defaults or checks.
struct DistributedOptions: ParsableArguments {
    @Option(help: "Threads (default: all cores; with --distributed, the cores shared among this machine's ranks).") var threads: Int?
    @Flag(help: "Data-parallel over MPI: launch as `mpirun -np N latte COMMAND … --distributed` (or under Slurm's srun); each rank computes its share of every batch, rank 0 writes the run folder and the model (docs/distributed.md). Needs Open MPI.")
    var distributed = false
    @Option(help: "Compute each batch's gradient as the sum of this many shards in shard order: the same count gives the same model on any number of ranks dividing it (default: the resumed checkpoint's, else the number of ranks; without --distributed, the whole batch at once).")
    var gradientShards: Int?
    @Option(help: "With --distributed: check every N steps that the ranks hold the same parameters (0: only at the start).") var checkEvery = 100
    @Option(help: "With --distributed: seconds a rank waits for the others in a collective operation before the job is ended (a rank died or hangs).")
    var collectiveTimeout: Double = 600

    func validate() throws {
        if let threads, threads < 1 { throw ValidationError("--threads must be at least 1") }
        if let gradientShards, gradientShards < 1 { throw ValidationError("--gradient-shards must be at least 1") }
        if checkEvery < 0 { throw ValidationError("--check-every must not be negative") }
        if !(collectiveTimeout > 0) { throw ValidationError("--collective-timeout must be positive") }
    }

    /// Joins the MPI job with --distributed (nil without it) and sets this process's thread count.
    func start() throws -> MPIProcessGroup? {
        guard distributed else {
            if let threads { Parallel.threadCount = threads }
            return nil
        }
        return try DistributedLaunch.start(timeout: collectiveTimeout, threads: threads)
    }
}
