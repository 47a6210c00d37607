import Foundation

/// A chart described in JSON (`latte plot --spec FILE`): what scripts that gather numbers (e.g.
/// scripts/ablations_report.py) hand to the project's own drawing. Two kinds:
///
///     {"kind": "line", "title": "…", "x_label": "…", "y_label": "…", "x_scale": "linear"|"log",
///      "y_scale": "linear"|"log", "width": 900, "height": 560,
///      "series": [{"name": "…", "points": [[x, y], …], "style": "line"|"points"|"line+points",
///                  "labels": ["…", …], "ranges": [[low, high] or null, …]}]}
///     {"kind": "heatmap", "title": "…", "x_label": "…", "columns": [x, …], "rows": ["label", …],
///      "values": [[v or null, …], …], "low": -1, "high": 1, "width": 900}
///
/// Only "series", "columns", "rows" and "values" are required; an unknown key or a value of the wrong
/// type is an error naming it.
public enum PlotSpecification {
    public struct SpecError: Error, CustomStringConvertible {
        public let description: String
        init(_ description: String) { self.description = description }
    }

    /// Reads the JSON text and writes the chart as a PNG at `path`.
    public static func render(json: Data, to path: String) throws {
        guard let object = try? JSONSerialization.jsonObject(with: json), let spec = object as? [String: Any] else {
            throw SpecError("the plot specification is not a JSON object")
        }
        let kind = try string(spec, "kind") ?? "line"
        let common = ["kind", "title", "x_label", "width", "height", "comment"]
        switch kind {
        case "line":
            try checkKeys(spec, allowed: common + ["y_label", "x_scale", "y_scale", "series"])
            let plot = LinePlot(title: try string(spec, "title") ?? "", xLabel: try string(spec, "x_label") ?? "",
                                yLabel: try string(spec, "y_label") ?? "", xScale: try scale(spec, "x_scale"), yScale: try scale(spec, "y_scale"),
                                series: try series(spec))
            try plot.write(to: path, width: try int(spec, "width") ?? 900, height: try int(spec, "height") ?? 560)
        case "heatmap":
            try checkKeys(spec, allowed: common + ["columns", "rows", "values", "low", "high"])
            guard let columns = spec["columns"] as? [Any], let rows = spec["rows"] as? [Any], let values = spec["values"] as? [Any] else {
                throw SpecError("a heatmap needs \"columns\" (numbers), \"rows\" (labels) and \"values\" (one array per row)")
            }
            let xs = try columns.map { try number($0, "columns") }
            let labels = try rows.map { v -> String in
                guard let s = v as? String else { throw SpecError("\"rows\" must be strings") }
                return s
            }
            let grid = try values.enumerated().map { (r, row) -> [Double?] in
                guard let cells = row as? [Any] else { throw SpecError("\"values\" row \(r) must be an array") }
                return try cells.map { $0 is NSNull ? nil : try number($0, "values") }
            }
            guard grid.count == labels.count else { throw SpecError("\"values\" has \(grid.count) rows but \"rows\" names \(labels.count)") }
            if let bad = grid.firstIndex(where: { $0.count != xs.count }) {
                throw SpecError("\"values\" row \(bad) has \(grid[bad].count) cells but there are \(xs.count) columns")
            }
            let plot = HeatmapPlot(title: try string(spec, "title") ?? "", xLabel: try string(spec, "x_label") ?? "", rowLabels: labels,
                                   columns: xs, values: grid, low: try double(spec, "low") ?? -1, high: try double(spec, "high") ?? 1)
            try plot.write(to: path, width: try int(spec, "width") ?? 900)
        default:
            throw SpecError("\"kind\" must be \"line\" or \"heatmap\", got \"\(kind)\"")
        }
    }

    static func series(_ spec: [String: Any]) throws -> [LinePlot.Series] {
        guard let list = spec["series"] as? [Any] else { throw SpecError("a line plot needs \"series\": an array of objects") }
        return try list.enumerated().map { (i, item) in
            guard let s = item as? [String: Any] else { throw SpecError("series \(i) must be an object") }
            try checkKeys(s, allowed: ["name", "points", "style", "labels", "ranges"], context: "series \(i)")
            guard let raw = s["points"] as? [Any] else { throw SpecError("series \(i) needs \"points\": [[x, y], …]") }
            let points = try raw.map { p -> (x: Double, y: Double) in
                guard let pair = p as? [Any], pair.count == 2 else { throw SpecError("series \(i): each point must be [x, y]") }
                return (try number(pair[0], "points"), try number(pair[1], "points"))
            }
            let styleText = try string(s, "style") ?? "line+points"
            guard let style = LinePlot.Style(rawValue: styleText) else {
                throw SpecError("series \(i): \"style\" must be \"line\", \"points\" or \"line+points\", got \"\(styleText)\"")
            }
            let labels = try (s["labels"] as? [Any]).map { try $0.map { v -> String in
                guard let text = v as? String else { throw SpecError("series \(i): \"labels\" must be strings") }
                return text
            } }
            let ranges = try (s["ranges"] as? [Any]).map { try $0.map { v -> (low: Double, high: Double)? in
                if v is NSNull { return nil }
                guard let pair = v as? [Any], pair.count == 2 else { throw SpecError("series \(i): each range must be [low, high] or null") }
                return (try number(pair[0], "ranges"), try number(pair[1], "ranges"))
            } }
            return LinePlot.Series(name: try string(s, "name") ?? "series \(i)", points: points, style: style, labels: labels, ranges: ranges)
        }
    }

    static func checkKeys(_ object: [String: Any], allowed: [String], context: String = "the plot") throws {
        if let unknown = object.keys.sorted().first(where: { !allowed.contains($0) }) {
            throw SpecError("\(context): unknown key \"\(unknown)\" (allowed: \(allowed.joined(separator: ", ")))")
        }
    }

    static func string(_ object: [String: Any], _ key: String) throws -> String? {
        guard let v = object[key] else { return nil }
        guard let s = v as? String else { throw SpecError("\"\(key)\" must be a string") }
        return s
    }

    static func number(_ v: Any, _ key: String) throws -> Double {
        if let d = v as? Double { return d }
        if let i = v as? Int { return Double(i) }
        throw SpecError("\"\(key)\" must hold numbers")
    }

    static func double(_ object: [String: Any], _ key: String) throws -> Double? {
        try object[key].map { try number($0, key) }
    }

    static func int(_ object: [String: Any], _ key: String) throws -> Int? {
        guard let v = try double(object, key) else { return nil }
        guard v == v.rounded(), v >= 64, v <= 8192 else { throw SpecError("\"\(key)\" must be a whole number of pixels in 64…8192") }
        return Int(v)
    }

    static func scale(_ object: [String: Any], _ key: String) throws -> LinePlot.Scale {
        guard let text = try string(object, key) else { return .linear }
        guard let s = LinePlot.Scale(rawValue: text) else { throw SpecError("\"\(key)\" must be \"linear\" or \"log\", got \"\(text)\"") }
        return s
    }
}
