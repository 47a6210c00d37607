import Foundation

/// Draws training curves into an RGB `Image`: a log-scale y axis with a grid line and label at every
/// power of ten, each series as its raw values (light) and a smoothed line (strong), step labels on
/// the x axis and a legend. No font library: labels use a built-in 3×5 pixel font scaled ×2, enough
/// for numbers and short names.
public enum LossCurvePlot {
    public struct Series: Sendable {
        public var name: String
        /// (step, value) pairs; non-finite and non-positive values are skipped (log axis).
        public var points: [(Int, Float)]
        public init(name: String, points: [(Int, Float)]) {
            self.name = name
            self.points = points
        }
    }

    static let palette: [[UInt8]] = [[31, 119, 180], [214, 39, 40], [44, 160, 44], [148, 103, 189], [255, 127, 14],
                                     [23, 190, 207], [140, 86, 75], [227, 119, 194]]

    /// Renders `series` on a width×height white canvas. Smoothing is an exponential moving average
    /// with the given factor (0: none).
    public static func render(_ series: [Series], width: Int = 800, height: Int = 480, smoothing: Float = 0.98) -> Image {
        var canvas = PlotCanvas(width: width, height: height)
        let left = 70, right = width - 20, top = 20, bottom = height - 40
        let finite = series.flatMap { $0.points }.filter { $0.1.isFinite && $0.1 > 0 }
        guard let firstStep = finite.map({ $0.0 }).min(), let lastStep = finite.map({ $0.0 }).max(),
              let low = finite.map({ $0.1 }).min(), let high = finite.map({ $0.1 }).max() else {
            canvas.text("NO DATA", x: left + 10, y: top + 10, color: [0, 0, 0])
            return canvas.image
        }
        let lo = Float(floor(log10(Double(low)))), hi = Swift.max(lo + 1, Float(ceil(log10(Double(high)))))
        let span = Swift.max(1, lastStep - firstStep)
        func px(_ step: Int) -> Int { left + (step - firstStep) * (right - left) / span }
        func py(_ v: Float) -> Int { bottom - Int((log10(v) - lo) / (hi - lo) * Float(bottom - top)) }

        // Grid and labels: powers of ten on y, five steps on x.
        for e in Int(lo)...Int(hi) {
            let y = py(powf(10, Float(e)))
            canvas.line(left, y, right, y, color: [225, 225, 225])
            canvas.text("1E\(e)", x: 4, y: y - 5, color: [60, 60, 60])
        }
        for k in 0...4 {
            let step = firstStep + span * k / 4, x = px(step)
            canvas.line(x, top, x, bottom, color: [235, 235, 235])
            let label = "\(step)"
            canvas.text(label, x: Swift.min(x - label.count * 4, width - label.count * 8), y: bottom + 8, color: [60, 60, 60])
        }
        canvas.line(left, top, left, bottom, color: [0, 0, 0])
        canvas.line(left, bottom, right, bottom, color: [0, 0, 0])

        for (index, s) in series.enumerated() {
            let color = palette[index % palette.count]
            let faint = color.map { UInt8((Int($0) + 3 * 255) / 4) }
            let pts = s.points.filter { $0.1.isFinite && $0.1 > 0 }
            var previous: (Int, Int)?
            for (step, v) in pts {
                let p = (px(step), py(v))
                if let q = previous { canvas.line(q.0, q.1, p.0, p.1, color: faint) }
                previous = p
            }
            var average: Float?
            previous = nil
            for (step, v) in pts {
                // Average in log space so a few spikes do not lift the curve.
                let l = log10(v)
                average = average.map { smoothing * $0 + (1 - smoothing) * l } ?? l
                let p = (px(step), py(powf(10, average!)))
                if let q = previous { canvas.line(q.0, q.1, p.0, p.1, color: color, thick: true) }
                previous = p
            }
            canvas.rect(x: right - 150, y: top + 6 + index * 16, w: 12, h: 10, color: color)
            canvas.text(s.name.uppercased(), x: right - 132, y: top + 6 + index * 16, color: [0, 0, 0])
        }
        return canvas.image
    }

    /// Renders and writes a PNG (atomically, so a crash never leaves half a picture).
    public static func write(_ series: [Series], to path: String, width: Int = 800, height: Int = 480) throws {
        let data = try PNG.encode(render(series, width: width, height: height))
        try Data(data).write(to: URL(fileURLWithPath: path), options: .atomic)
    }
}
