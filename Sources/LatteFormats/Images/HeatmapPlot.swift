import Foundation

/// A grid of values in colour: one row per label, one column per x value, a diverging scale (blue
/// below zero, white at zero, red above) with a colour bar, and light grey where a cell has no value.
/// Drawn for the residual-attention gates (rows: layers and heads, columns: times; a layer's gate has
/// no value at the times its group does not own).
public struct HeatmapPlot: Sendable {
    public var title: String
    public var xLabel: String
    /// One label per row, drawn left of it (every row's when they fit, else every n-th).
    public var rowLabels: [String]
    /// The x value of each column, labelled below at about eight evenly spaced columns.
    public var columns: [Double]
    /// values[row][column]; nil or non-finite: no value.
    public var values: [[Double?]]
    /// The colour scale's ends: `low` full blue, `high` full red, the middle white.
    public var low: Double
    public var high: Double

    public init(title: String = "", xLabel: String = "", rowLabels: [String], columns: [Double], values: [[Double?]],
                low: Double = -1, high: Double = 1) {
        self.title = title
        self.xLabel = xLabel
        self.rowLabels = rowLabels
        self.columns = columns
        self.values = values
        self.low = low
        self.high = high
    }

    /// The colour of v: white at the middle of [low, high], blue towards low, red towards high.
    public func color(_ v: Double?) -> [UInt8] {
        guard let v, v.isFinite else { return [215, 215, 215] }
        let mid = (low + high) / 2, half = Swift.max((high - low) / 2, 1e-12)
        let f = Swift.min(1, Swift.max(-1, (v - mid) / half))
        let fade = { (full: Double) in UInt8((255 - (255 - full) * abs(f)).rounded()) }
        return f >= 0 ? [fade(200), fade(30), fade(30)] : [fade(30), fade(70), fade(200)]
    }

    public func render(width: Int = 900, height: Int? = nil) -> Image {
        let rows = Swift.max(1, rowLabels.count), labelWidth = (rowLabels.map(PlotCanvas.textWidth).max() ?? 0) + 12
        let top = title.isEmpty ? 16 : 40, cellHeight = Swift.max(3, Swift.min(18, 560 / rows))
        let height = height ?? top + rows * cellHeight + 110
        var canvas = PlotCanvas(width: width, height: height)
        let black: [UInt8] = [0, 0, 0], grey: [UInt8] = [60, 60, 60]
        if !title.isEmpty { canvas.text(title, x: Swift.max(4, (width - PlotCanvas.textWidth(title)) / 2), y: 12, color: black) }
        let left = labelWidth + 4, right = width - 20, bottom = height - 94
        guard !columns.isEmpty, !rowLabels.isEmpty else {
            canvas.text("NO DATA", x: left + 10, y: top + 10, color: black)
            return canvas.image
        }
        let cols = columns.count
        func x0(_ c: Int) -> Int { left + c * (right - left) / cols }
        func y0(_ r: Int) -> Int { top + r * (bottom - top) / rows }
        for r in 0..<rows {
            for c in 0..<cols {
                let v = r < values.count && c < values[r].count ? values[r][c] : nil
                canvas.rect(x: x0(c), y: y0(r), w: Swift.max(1, x0(c + 1) - x0(c)), h: Swift.max(1, y0(r + 1) - y0(r)), color: color(v))
            }
        }
        // Row labels where they do not overlap (10 px of text each).
        let every = Swift.max(1, Int((12.0 / (Double(bottom - top) / Double(rows))).rounded(.up)))
        for r in stride(from: 0, to: rows, by: every) {
            canvas.text(rowLabels[r], x: 4, y: (y0(r) + y0(r + 1)) / 2 - 5, color: grey)
        }
        canvas.line(left, bottom, right, bottom, color: black)
        let step = Swift.max(1, cols / 8)
        for c in stride(from: 0, to: cols, by: step) {
            let x = (x0(c) + x0(c + 1)) / 2, label = LinePlot.Axis.format(columns[c])
            canvas.line(x, bottom, x, bottom + 4, color: black)
            canvas.text(label, x: Swift.max(2, x - PlotCanvas.textWidth(label) / 2), y: bottom + 8, color: grey)
        }
        if !xLabel.isEmpty { canvas.text(xLabel, x: Swift.max(2, (left + right - PlotCanvas.textWidth(xLabel)) / 2), y: bottom + 28, color: black) }
        // The colour bar: low … high, with its ends and middle labelled.
        let barLeft = left, barRight = Swift.min(right, left + 300), barTop = bottom + 52
        for x in barLeft..<barRight {
            let v = low + (high - low) * Double(x - barLeft) / Double(Swift.max(1, barRight - barLeft - 1))
            canvas.rect(x: x, y: barTop, w: 1, h: 10, color: color(v))
        }
        for (v, x) in [(low, barLeft), ((low + high) / 2, (barLeft + barRight) / 2), (high, barRight)] {
            let label = LinePlot.Axis.format(v)
            canvas.text(label, x: Swift.max(2, x - PlotCanvas.textWidth(label) / 2), y: barTop + 14, color: grey)
        }
        canvas.rect(x: barRight + 16, y: barTop, w: 10, h: 10, color: color(nil))
        canvas.text("NO VALUE", x: barRight + 32, y: barTop, color: grey)
        return canvas.image
    }

    public func write(to path: String, width: Int = 900) throws {
        let data = try PNG.encode(render(width: width))
        try Data(data).write(to: URL(fileURLWithPath: path), options: .atomic)
    }
}
