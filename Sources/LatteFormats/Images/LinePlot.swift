import Foundation

/// A line or scatter chart drawn into an RGB `Image`: linear or log axes with ticks at round values,
/// axis titles, a title, a legend, optional labels beside points and optional vertical ranges (the
/// spread of a measurement). The project draws its study figures with it (`latte plot`,
/// docs/ablations.md); `LossCurvePlot` stays the training curves' specialised chart. Text is the
/// canvas's 3×5 pixel font (capitals, digits, some punctuation).
public struct LinePlot: Sendable {
    public enum Scale: String, Sendable, Codable { case linear, log }

    public enum Style: String, Sendable, Codable {
        case line
        case points
        case lineAndPoints = "line+points"
    }

    public struct Series: Sendable {
        public var name: String
        /// (x, y) pairs in the order the line joins them; non-finite values (and, on a log axis,
        /// non-positive ones) are left out.
        public var points: [(x: Double, y: Double)]
        public var style: Style
        /// Text drawn beside each point (empty strings: none); nil: no labels.
        public var labels: [String]?
        /// A vertical range per point (e.g. the two seed sets' values), drawn as a whisker; nil: none.
        public var ranges: [(low: Double, high: Double)?]?

        public init(name: String, points: [(x: Double, y: Double)], style: Style = .lineAndPoints, labels: [String]? = nil,
                    ranges: [(low: Double, high: Double)?]? = nil) {
            self.name = name
            self.points = points
            self.style = style
            self.labels = labels
            self.ranges = ranges
        }
    }

    public var title: String
    public var xLabel: String
    public var yLabel: String
    public var xScale: Scale
    public var yScale: Scale
    public var series: [Series]

    public init(title: String = "", xLabel: String = "", yLabel: String = "", xScale: Scale = .linear, yScale: Scale = .linear,
                series: [Series]) {
        self.title = title
        self.xLabel = xLabel
        self.yLabel = yLabel
        self.xScale = xScale
        self.yScale = yScale
        self.series = series
    }

    /// Renders the chart on a width×height white canvas.
    public func render(width: Int = 900, height: Int = 560) -> Image {
        var canvas = PlotCanvas(width: width, height: height)
        let left = 84, right = width - 24, top = title.isEmpty ? 24 : 44, bottom = height - 56
        let black: [UInt8] = [0, 0, 0], grey: [UInt8] = [60, 60, 60]
        if !title.isEmpty { canvas.text(title, x: Swift.max(4, (width - PlotCanvas.textWidth(title)) / 2), y: 12, color: black) }

        func usable(_ v: Double, _ scale: Scale) -> Bool { v.isFinite && (scale == .linear || v > 0) }
        var xs: [Double] = [], ys: [Double] = []
        for s in series {
            for (i, p) in s.points.enumerated() where usable(p.x, xScale) && usable(p.y, yScale) {
                xs.append(p.x); ys.append(p.y)
                if let r = s.ranges?[safe: i] ?? nil {
                    if usable(r.low, yScale) { ys.append(r.low) }
                    if usable(r.high, yScale) { ys.append(r.high) }
                }
            }
        }
        guard let xAxis = Axis(values: xs, scale: xScale), let yAxis = Axis(values: ys, scale: yScale) else {
            canvas.text("NO DATA", x: left + 10, y: top + 10, color: black)
            return canvas.image
        }
        func px(_ x: Double) -> Int { left + Int((xAxis.fraction(x) * Double(right - left)).rounded()) }
        func py(_ y: Double) -> Int { bottom - Int((yAxis.fraction(y) * Double(bottom - top)).rounded()) }

        // Grid, ticks and their labels, then the axes and their titles.
        for tick in yAxis.ticks {
            let y = py(tick)
            canvas.line(left, y, right, y, color: [228, 228, 228])
            let label = Axis.format(tick)
            canvas.text(label, x: Swift.max(2, left - 6 - PlotCanvas.textWidth(label)), y: y - 5, color: grey)
        }
        for tick in xAxis.ticks {
            let x = px(tick)
            canvas.line(x, top, x, bottom, color: [236, 236, 236])
            let label = Axis.format(tick)
            canvas.text(label, x: Swift.min(Swift.max(2, x - PlotCanvas.textWidth(label) / 2), width - PlotCanvas.textWidth(label) - 2),
                        y: bottom + 8, color: grey)
        }
        canvas.line(left, top, left, bottom, color: black)
        canvas.line(left, bottom, right, bottom, color: black)
        if !xLabel.isEmpty { canvas.text(xLabel, x: Swift.max(2, (left + right - PlotCanvas.textWidth(xLabel)) / 2), y: bottom + 32, color: black) }
        if !yLabel.isEmpty { canvas.text(yLabel, x: 4, y: top - 18 < 0 ? 2 : Swift.max(2, top - 18), color: black) }

        // Series: whiskers, line, markers, point labels; then the legend (top right, inside the plot).
        for (index, s) in series.enumerated() {
            let color = LossCurvePlot.palette[index % LossCurvePlot.palette.count]
            let kept = s.points.indices.filter { usable(s.points[$0].x, xScale) && usable(s.points[$0].y, yScale) }
            for i in kept {
                guard let r = s.ranges?[safe: i] ?? nil, usable(r.low, yScale), usable(r.high, yScale) else { continue }
                let x = px(s.points[i].x), (y0, y1) = (py(r.low), py(r.high))
                canvas.line(x, y0, x, y1, color: color)
                canvas.line(x - 4, y0, x + 4, y0, color: color)
                canvas.line(x - 4, y1, x + 4, y1, color: color)
            }
            if s.style != .points {
                for (a, b) in zip(kept, kept.dropFirst()) {
                    canvas.line(px(s.points[a].x), py(s.points[a].y), px(s.points[b].x), py(s.points[b].y), color: color, thick: true)
                }
            }
            if s.style != .line { for i in kept { canvas.disc(px(s.points[i].x), py(s.points[i].y), radius: 4, color: color) } }
            if let labels = s.labels {
                for i in kept where i < labels.count && !labels[i].isEmpty {
                    let x = px(s.points[i].x) + 8, w = PlotCanvas.textWidth(labels[i])
                    canvas.text(labels[i], x: x + w > width - 2 ? px(s.points[i].x) - 8 - w : x, y: py(s.points[i].y) - 14, color: color)
                }
            }
            let legendWidth = (series.map { PlotCanvas.textWidth($0.name) }.max() ?? 0) + 24
            let lx = right - legendWidth - 6, ly = top + 6 + index * 16
            canvas.rect(x: lx, y: ly, w: 12, h: 10, color: color)
            canvas.text(s.name, x: lx + 18, y: ly, color: black)
        }
        return canvas.image
    }

    /// Renders and writes a PNG (atomically).
    public func write(to path: String, width: Int = 900, height: Int = 560) throws {
        let data = try PNG.encode(render(width: width, height: height))
        try Data(data).write(to: URL(fileURLWithPath: path), options: .atomic)
    }

    /// One axis: the range its data spans, padded, and the round values it marks.
    struct Axis {
        let scale: Scale
        let low: Double, high: Double
        let ticks: [Double]

        init?(values: [Double], scale: Scale) {
            guard var lo = values.min(), var hi = values.max() else { return nil }
            self.scale = scale
            switch scale {
            case .linear:
                if lo == hi { lo -= Swift.max(1, abs(lo) * 0.1); hi += Swift.max(1, abs(hi) * 0.1) }
                let step = Axis.roundStep((hi - lo) / 5)
                lo = (lo / step).rounded(.down) * step
                hi = (hi / step).rounded(.up) * step
                low = lo; high = hi
                ticks = stride(from: lo, through: hi + step / 2, by: step).map { abs($0) < step * 1e-9 ? 0 : $0 }
            case .log:
                var a = floor(log10(lo)), b = ceil(log10(hi))
                if a == b { a -= 1; b += 1 }
                low = pow(10, a); high = pow(10, b)
                // Powers of ten; over up to three decades also 2× and 5× them.
                let mantissas: [Double] = b - a <= 3 ? [1, 2, 5] : [1]
                ticks = stride(from: a, through: b, by: 1).flatMap { e in mantissas.map { $0 * pow(10, e) } }.filter { $0 <= pow(10, b) * 1.0001 }
            }
        }

        /// Where v sits between the ends, 0…1.
        func fraction(_ v: Double) -> Double {
            switch scale {
            case .linear: return (v - low) / (high - low)
            case .log: return (log10(v) - log10(low)) / (log10(high) - log10(low))
            }
        }

        /// 1, 2 or 5 × a power of ten, at least `raw`.
        static func roundStep(_ raw: Double) -> Double {
            guard raw > 0, raw.isFinite else { return 1 }
            let e = pow(10, floor(log10(raw)))
            for m in [1.0, 2, 5, 10] where m * e >= raw * 0.999 { return m * e }
            return 10 * e
        }

        /// A short label: whole numbers as such (with a k for thousands), else up to three significant digits.
        static func format(_ v: Double) -> String {
            if v == 0 { return "0" }
            let a = abs(v)
            if a >= 1e6 || a < 1e-3 { return String(format: "%.0E", v) }
            if a >= 1000 && v.truncatingRemainder(dividingBy: 1000) == 0 { return "\(Int(v / 1000))K" }
            if v == v.rounded() { return "\(Int(v))" }
            return String(format: "%.3g", v)
        }
    }
}

extension Array {
    /// The element at `index`, or nil past the end.
    subscript(safe index: Int) -> Element? { indices.contains(index) ? self[index] : nil }
}
