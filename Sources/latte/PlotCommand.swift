import ArgumentParser
import Foundation
import LatteFormats

/// `latte plot`: draws a chart described in JSON (`PlotSpecification`: line/scatter or heatmap) as a
/// PNG — how scripts that gather numbers (scripts/ablations_report.py) get the project's own figures.
struct PlotCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "plot", abstract: "Draw a line/scatter chart or a heatmap described in JSON as a PNG.",
        discussion: """
        The specification (keys in LatteFormats' PlotSpecification):
          {"kind": "line", "title": "FID vs step", "x_label": "step", "y_label": "FID",
           "x_scale": "log", "series": [{"name": "K=5", "points": [[1000, 80.1], [2000, 61.3]],
           "style": "line+points", "labels": ["", "2K"], "ranges": [[79, 81], null]}]}
          {"kind": "heatmap", "columns": [0, 0.5, 1], "rows": ["L1", "L2"],
           "values": [[0.1, null, 0.2], [0, 0.3, -0.1]], "low": -1, "high": 1}
        """)

    @Option(help: "The JSON specification file ('-' reads standard input).") var spec: String
    @Option(help: "The PNG to write.") var output: String

    func run() throws {
        let data: Data
        if spec == "-" { data = FileHandle.standardInput.readDataToEndOfFile() } else {
            do { data = try Data(contentsOf: URL(fileURLWithPath: spec)) } catch { throw CommandFailure("cannot read \(spec): \(error.localizedDescription)") }
        }
        do { try PlotSpecification.render(json: data, to: output) } catch let error as PlotSpecification.SpecError {
            throw CommandFailure("\(spec): \(error.description)")
        }
    }
}
