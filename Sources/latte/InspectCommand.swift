import ArgumentParser
import Foundation
import LatteFlow
import LatteFormats

/// `latte inspect`: looks inside a trained model without sampling from it.
struct InspectCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inspect", abstract: "Look inside a trained model (its learned residual-attention gates).",
        subcommands: [InspectGatesCommand.self])
}

/// `latte inspect gates`: the residual-attention gates γ_ℓ(t) = tanh(W·SiLU(temb(t)) + b) of every gated
/// layer and query head at chosen times — does the gate open, and where (docs/ablations.md)? Reads only
/// the generator (generator.json and its weights), not the backbone.
struct InspectGatesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gates", abstract: "Residual-attention gate values per layer, head and time, as JSON or text and as a heatmap PNG.")

    @Option(help: "A model folder (generator.json and its weights), or a generator.json whose weights sit beside it as generator.safetensors.")
    var model = "models/latteflow-fashion"
    @Option(help: "Times t (0 = noise, 1 = data), comma-separated, or FROM:TO:STEP. Default 0:1:0.01.")
    var times = "0:1:0.01"
    @Option(help: "Also draw a heatmap PNG here: one row per gated layer and head, one column per time; grey where the layer's group does not own the time (its gate never acts there).")
    var output: String?
    @Flag(help: "Print one JSON object.") var json = false

    func validate() throws { _ = try parsedTimes() }

    /// The --times values, checked to lie in [0, 1].
    func parsedTimes() throws -> [Float] {
        let parts = times.split(separator: ":", omittingEmptySubsequences: false)
        var values: [Float]
        if parts.count == 3 {
            guard let from = Double(parts[0]), let to = Double(parts[1]), let step = Double(parts[2]), step > 0, to >= from else {
                throw ValidationError("--times \(times): FROM:TO:STEP needs numbers with STEP > 0 and TO ≥ FROM")
            }
            let n = Int(((to - from) / step + 1e-9).rounded(.down))
            guard n <= 100_000 else { throw ValidationError("--times \(times): more than 100,000 times") }
            values = (0...n).map { Float(from + Double($0) * step) }
        } else {
            values = try times.split(separator: ",").map {
                guard let v = Float($0.trimmingCharacters(in: .whitespaces)) else { throw ValidationError("--times: '\($0)' is not a number") }
                return v
            }
        }
        guard !values.isEmpty else { throw ValidationError("--times gives no time") }
        if let bad = values.first(where: { !(0...1).contains($0) }) { throw ValidationError("--times: \(bad) lies outside [0, 1]") }
        return values
    }

    func run() throws {
        let generator = try loadModelFolder(model) { folder -> LayerwiseTimestepExperts in
            if folder.pathExtension == "json" {
                return try TextToImagePipeline.loadGenerator(configuration: folder,
                                                             weights: folder.deletingLastPathComponent().appendingPathComponent("generator.safetensors"))
            }
            // A bare generator folder (generator.json + generator.safetensors, as a training run's
            // checkpoint export or the test's) has no model.json; a whole model folder has one.
            let configuration = folder.appendingPathComponent("generator.json")
            if !FileManager.default.fileExists(atPath: folder.appendingPathComponent("model.json").path),
               FileManager.default.fileExists(atPath: configuration.path) {
                return try TextToImagePipeline.loadGenerator(configuration: configuration,
                                                             weights: folder.appendingPathComponent("generator.safetensors"))
            }
            return try TextToImagePipeline.loadGenerator(directory: folder)
        }
        let c = generator.configuration
        let gates = generator.residualGateValues(times: try parsedTimes())
        let gated = gates.layers.indices.filter { gates.layers[$0] != nil }
        guard !gated.isEmpty else {
            throw CommandFailure("\(model) has no residual-attention gates (residual_attention: \(c.residualAttention.rawValue); with \(c.layersPerGroup) layer(s) per group only the first of each group, which has none)")
        }
        if let output {
            // Rows: each gated layer's heads; cells where the layer's group does not own the time are left grey.
            var labels: [String] = [], rows: [[Double?]] = []
            for l in gated {
                for h in 0..<c.queryHeads {
                    labels.append("L\(l) H\(h)")
                    rows.append(gates.times.indices.map { i in gates.isActive(layer: l, timeIndex: i) ? Double(gates.layers[l]![i][h]) : nil })
                }
            }
            try HeatmapPlot(title: "RESIDUAL-ATTENTION GATES (\(c.residualAttention.rawValue), K = \(c.groups))", xLabel: "T (0 = NOISE, 1 = DATA)",
                            rowLabels: labels, columns: gates.times.map(Double.init), values: rows).write(to: output)
            say("heatmap: \(output)")
        }
        if json {
            let layers: [[String: Any]] = gated.map { l in
                let active = gates.times.indices.filter { gates.isActive(layer: l, timeIndex: $0) }
                let magnitudes = active.flatMap { gates.layers[l]![$0].map { abs(Double($0)) } }
                return ["layer": l, "group": gates.layerGroup[l], "position_in_group": l % c.layersPerGroup,
                        "values": gates.layers[l]!.map { $0.map(Double.init) },
                        "active": gates.times.indices.map { gates.isActive(layer: l, timeIndex: $0) },
                        "mean_abs_active": magnitudes.isEmpty ? NSNull() as Any : (magnitudes.reduce(0, +) / Double(magnitudes.count)) as Any]
            }
            let object: [String: Any] = ["model": model, "residual_attention": c.residualAttention.rawValue, "groups": c.groups,
                                         "layers_per_group": c.layersPerGroup, "query_heads": c.queryHeads,
                                         "boundaries": c.resolvedBoundaries.map(Double.init), "times": gates.times.map(Double.init), "layers": layers]
            print(String(decoding: try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]), as: UTF8.self))
        } else {
            print("residual attention \(c.residualAttention.rawValue), K = \(c.groups) × \(c.layersPerGroup); γ per head at the times each layer's group owns:")
            for l in gated {
                let active = gates.times.indices.filter { gates.isActive(layer: l, timeIndex: $0) }
                let cells = active.map { i in "t=\(String(format: "%.2f", gates.times[i])) " + gates.layers[l]![i].map { String(format: "%+.3f", $0) }.joined(separator: " ") }
                print("layer \(l) (group \(gates.layerGroup[l])): " + (cells.isEmpty ? "(its group owns none of these times)" : cells.joined(separator: "  ")))
            }
        }
    }
}
