import Foundation
import LatteKernels

/// diffusers' side of `VAEBenchmark`: the rows scripts/bench_vae_torch.py printed (matched to ours by
/// name), and a status line saying what ran or why nothing did.
struct DiffusersReference {
    let results: [[String: Any]]
    let conv2d: [[String: Any]]
    let status: String

    init(results: [[String: Any]] = [], conv2d: [[String: Any]] = [], status: String) {
        self.results = results
        self.conv2d = conv2d
        self.status = status
    }
}

extension VAEBenchmark {
    /// Runs the diffusers script on the same configs and thread count; no rows and a reason when it cannot.
    func runReference(_ cases: [Case]) throws -> DiffusersReference {
        let script = options.script
        guard FileManager.default.fileExists(atPath: script) else {
            return DiffusersReference(status: "skipped (\(script) not found; run from the repository root)")
        }
        let encoder = JSONEncoder()
        var list: [[String: Any]] = []
        for c in cases {
            let config = try JSONSerialization.jsonObject(with: encoder.encode(c.configuration))
            list.append(["name": c.name, "config": config, "size": c.size, "batch": c.batch])
        }
        if !options.skipConv {
            for (c, size, batch) in Self.convShapes { list.append(["name": Self.convName(c, size, batch), "conv": [c, size, batch]]) }
        }
        let casesURL = FileManager.default.temporaryDirectory.appendingPathComponent("latte-bench-vae-\(getpid()).json")
        try JSONSerialization.data(withJSONObject: list).write(to: casesURL)
        defer { try? FileManager.default.removeItem(at: casesURL) }

        let arguments = [script, "--cases", casesURL.path, "--threads", "\(Parallel.threadCount)", "--repeats", "\(options.repeats)"]
        guard let run = runReferenceScript(python: options.python, arguments, captureErrors: true) else {
            return DiffusersReference(status: "skipped (\(options.python) not runnable)")
        }
        guard run.status == 0, let object = try? JSONSerialization.jsonObject(with: run.output) as? [String: Any],
              let results = object["results"] as? [[String: Any]] else {
            // The script's last line of standard error says why (e.g. "diffusers reference unavailable: …").
            let reason = String(decoding: run.errorOutput, as: UTF8.self).split(separator: "\n").last.map(String.init)
                ?? "exit status \(run.status)"
            return DiffusersReference(status: "skipped (\(script) failed: \(reason))")
        }
        return DiffusersReference(results: results, conv2d: object["conv2d"] as? [[String: Any]] ?? [],
                                  status: "measured (\(object["versions"] as? String ?? "diffusers"))")
    }
}
