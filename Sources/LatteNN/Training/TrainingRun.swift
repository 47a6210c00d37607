import Foundation
import LatteKernels

/// The one training loop of the project (llm.c's rule: the loop that runs is the loop that is tested).
/// A `StepTrainer` supplies each step's loss and gradients; the run owns everything around it:
///
/// - resume or restart: a checkpoint in the run folder is resumed (weights, optimiser, EMA, step and
///   the trainer's state), unless `restart` deletes it and the log first;
/// - the update: the trainer's learning-rate schedule, clipping, optimiser and EMA behind the
///   non-finite guard (`GuardedUpdate`: a bad step is skipped, too many in a row stop the run);
/// - the log: one `TrainingLogRecord` per step in `log.jsonl`, trimmed on resume to the checkpoint's
///   step so a resumed run holds each step once;
/// - checkpoints every `checkpointEvery` steps and at the stop, atomically (`Checkpoint`), each followed
///   by the caller's export hook (a model folder, a loss curve);
/// - `stopAfter`: stop (checkpoint, export) at that step of a `steps`-long schedule, which a later run
///   continues;
/// - progress on stderr.
///
/// Run folder layout: `checkpoint/` (see `Checkpoint`) and `log.jsonl`.
///
/// Data-parallel (`Options.group` of several ranks): every rank runs this loop in step; the trainer
/// reduces its gradients across the ranks (`ShardedGradients`), so every rank takes the same update.
/// Rank 0 alone writes the log, checkpoints (after a barrier) and exports and shows progress; every
/// rank resumes from the same checkpoint (the run folder must be shared). At the start the ranks check
/// that they hold the same configuration, trainer state and parameters, and every `checkEvery` steps
/// the same parameters (a mismatch stops every rank with an error naming the ranks that differ).
public final class TrainingRun {
    public struct Options {
        /// Folder for the checkpoint and the log; nil trains in memory (no checkpoint, no log).
        public var directory: URL?
        /// Length of the schedule the trainer's learning rate follows.
        public var steps: Int
        /// Stop at this step of the schedule (nil: at `steps`).
        public var stopAfter: Int?
        /// Checkpoint (and export) every N steps; 0: only where the run stops.
        public var checkpointEvery: Int
        /// Start over: delete the folder's checkpoint and log instead of resuming them.
        public var restart: Bool
        /// Non-finite steps in a row (each skipped) after which the run stops with an error.
        public var maxNonFiniteSteps: Int
        /// The progress bar's label; nil shows none.
        public var progressLabel: String?
        /// Pause after logging each step, before its checkpoint, in seconds: lets a test kill a real
        /// run between a logged step and its checkpoint (the case log trimming exists for).
        public var pauseAfterLogging: Double
        /// The ranks of a data-parallel run (nil: this process alone).
        public var group: ProcessGroup?
        /// With several ranks: compare a checksum of the parameters every N steps (0: only at the start).
        public var checkEvery: Int
        /// What must be equal on every rank beyond the trainer's checkpoint state (the run's settings, as
        /// text); its checksum is compared at the start.
        public var identity: String

        public init(directory: URL?, steps: Int, stopAfter: Int? = nil, checkpointEvery: Int = 500, restart: Bool = false,
                    maxNonFiniteSteps: Int = 5, progressLabel: String? = nil, pauseAfterLogging: Double = 0,
                    group: ProcessGroup? = nil, checkEvery: Int = 100, identity: String = "") {
            self.directory = directory
            self.steps = steps
            self.stopAfter = stopAfter
            self.checkpointEvery = checkpointEvery
            self.restart = restart
            self.maxNonFiniteSteps = maxNonFiniteSteps
            self.progressLabel = progressLabel
            self.pauseAfterLogging = pauseAfterLogging
            self.group = group
            self.checkEvery = checkEvery
            self.identity = identity
        }
    }

    public let trainer: StepTrainer
    public let options: Options
    /// Steps taken so far (restored from the checkpoint on resume).
    public private(set) var step = 0
    private var guarded: GuardedUpdate
    private let report: (String) -> Void

    public var checkpointURL: URL? { options.directory?.appendingPathComponent("checkpoint") }
    public var logURL: URL? { options.directory?.appendingPathComponent("log.jsonl") }
    /// The step this run stops at.
    public var end: Int { options.stopAfter ?? options.steps }
    /// Whether this process writes the run folder (rank 0, or the only process).
    public var isWriter: Bool { options.group?.isWriter ?? true }

    /// Opens the run: with `restart`, deletes the folder's checkpoint and log; otherwise resumes the
    /// checkpoint found there. `report` receives one-line notes (resuming, skipped steps).
    public init(trainer: StepTrainer, options: Options, report: @escaping (String) -> Void = { _ in }) throws {
        guard options.steps >= 1 else { throw TrainingError(message: "a training run needs at least 1 step, got \(options.steps)") }
        if let stop = options.stopAfter, stop < 1 || stop > options.steps {
            throw TrainingError(message: "stop-after \(stop) lies outside the schedule's steps 1…\(options.steps)")
        }
        guard options.checkpointEvery >= 0 else { throw TrainingError(message: "checkpoint-every must not be negative") }
        self.trainer = trainer
        self.options = options
        self.report = report
        guarded = GuardedUpdate(limit: options.maxNonFiniteSteps)
        guard let directory = options.directory, let checkpointURL, let logURL else { return }
        // Only the writer changes the folder (deletes for a restart, repairs an interrupted save); the
        // other ranks read it after the barrier.
        var found = false
        if isWriter {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            if options.restart {
                try? FileManager.default.removeItem(at: checkpointURL)
                try? FileManager.default.removeItem(at: logURL)
            } else {
                found = Checkpoint.exists(at: checkpointURL)
            }
        }
        if let group = options.group {
            try group.barrier("opening the run folder")
            if !isWriter && !options.restart {
                found = FileManager.default.fileExists(atPath: checkpointURL.appendingPathComponent("checkpoint.json").path)
            }
        }
        if found {
            try resume(from: checkpointURL)
            report("resuming \(directory.relativePath) at step \(step)")
        }
    }

    /// Several ranks: stops every rank when their settings, trainer state (random state, data position)
    /// or parameters differ from rank 0's.
    func checkRanksAgree() throws {
        guard let group = options.group, group.size > 1 else { return }
        var state = try trainer.checkpointState()
        state["step"] = "\(step)"
        let text = options.identity + "\n" + state.keys.sorted().map { "\($0)=\(Self.canonical(state[$0]!))" }.joined(separator: "\n")
        let configuration = Array(text.utf8).withUnsafeBytes { ParameterArena.checksum($0) }
        try group.requireAgreement(configuration, "the run's configuration or training state (step, random state, data position)")
        try group.requireAgreement(trainer.update.arena.valueChecksum(), "the parameters at step \(step)")
    }

    private func resume(from directory: URL) throws {
        let u = trainer.update
        let extra = try Checkpoint.load(model: u.model, optimizer: u.optimizer, ema: u.ema, from: directory)
        guard let saved = extra["step"].flatMap(Int.init), saved >= 0 else {
            throw TrainingError(message: "\(directory.path): not a training checkpoint (no step)")
        }
        try trainer.restore(checkpointState: extra)
        step = saved
    }

    /// JSON with its keys sorted (Foundation's JSONEncoder on Linux writes keys in an order that varies
    /// between processes), other text as it is.
    static func canonical(_ text: String) -> String {
        guard let object = try? JSONSerialization.jsonObject(with: Data(text.utf8), options: [.fragmentsAllowed]),
              let data = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .fragmentsAllowed]) else { return text }
        return String(decoding: data, as: UTF8.self)
    }

    /// Writes the checkpoint of the current step (atomically), if the run has a folder.
    public func saveCheckpoint() throws {
        guard let checkpointURL else { return }
        // Every rank has finished the step; only rank 0 writes.
        try options.group?.barrier("checkpoint at step \(step)")
        guard isWriter else { return }
        let u = trainer.update
        var extra = try trainer.checkpointState()
        extra["step"] = "\(step)"
        try Checkpoint.save(model: u.model, optimizer: u.optimizer, ema: u.ema, extra: extra, to: checkpointURL)
    }

    /// One step: gradients from the trainer, then the guarded update at the schedule's learning rate;
    /// returns the log record and the trainer's progress fields. Throws `NonFiniteTrainingError` when
    /// too many steps in a row were not finite.
    private func takeStep() throws -> (record: TrainingLogRecord, display: [(name: String, value: String)]) {
        let start = DispatchTime.now().uptimeNanoseconds
        let u = trainer.update
        u.arena.zeroGradients()
        let result = try trainer.computeGradients()
        step += 1
        let lr = u.schedule(step - 1)
        let (applied, norm) = try guarded.apply(loss: result.loss, step: step, arena: u.arena, optimizer: u.optimizer, ema: u.ema,
                                                learningRate: lr, clipNorm: u.clipNorm)
        let record = TrainingLogRecord(step: step, loss: result.loss, learningRate: lr, gradientNorm: norm, applied: applied,
                                       seconds: Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9,
                                       metrics: Dictionary(result.metrics, uniquingKeysWith: { $1 }))
        return (record, result.display)
    }

    /// Trains from the current step to `end`. After each step `onStep` sees its log record; after each
    /// checkpoint `export` receives the step (write a model folder, draw a loss curve). A run resumed
    /// exactly at `end` takes no step but exports again: a kill between the last checkpoint and its
    /// export must not leave the export of an earlier checkpoint behind (scripts that copy the export
    /// of each `stopAfter` point, scripts/ablations.sh, rely on it). A run past `end` does nothing.
    public func run(onStep: ((TrainingLogRecord) -> Void)? = nil, export: ((Int) throws -> Void)? = nil) throws {
        try checkRanksAgree()
        let log = try isWriter ? logURL.map { try TrainingLog(url: $0, resumingAt: step) } : nil
        defer { log?.close() }
        if isWriter, step == end, step > 0, checkpointURL != nil { try export?(step) }
        var progress = isWriter ? options.progressLabel.map { TrainingProgress(total: end, startingAt: step, label: $0) } : nil
        while step < end {
            let (record, display) = try takeStep()
            try log?.append(record)
            if !record.applied {
                report("\nstep \(record.step) skipped: non-finite loss \(record.loss) or gradient norm \(record.gradientNorm)")
            }
            onStep?(record)
            progress?.update(step: record.step, fields: [("loss", String(format: "%.4f", record.loss))]
                                + display.map { ($0.name, $0.value) } + [("lr", String(format: "%.1e", record.learningRate))])
            if options.pauseAfterLogging > 0 { usleep(UInt32(options.pauseAfterLogging * 1e6)) }
            if let group = options.group, group.size > 1, options.checkEvery > 0, step % options.checkEvery == 0 {
                try group.requireAgreement(trainer.update.arena.valueChecksum(), "the parameters after step \(step)")
            }
            if (options.checkpointEvery > 0 && step % options.checkpointEvery == 0) || step == end {
                try saveCheckpoint()
                if isWriter { try export?(step) }
            }
        }
    }
}
