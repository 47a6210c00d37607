import Foundation

/// The IDX format of MNIST and Fashion-MNIST: 2 zero bytes, an element type, the number of
/// dimensions, one big-endian UInt32 per dimension, then the elements in row-major order.
public struct IDXArray: Sendable, Equatable {
    public var shape: [Int]
    /// Unsigned bytes (element type 0x08), row-major.
    public var data: [UInt8]

    /// Parses IDX bytes, checking the header against the data length before copying anything.
    public init(bytes: [UInt8], file: String = "<memory>") throws {
        guard bytes.count >= 4 else {
            throw DatasetError(.truncated, file: file, "IDX: \(bytes.count) bytes, shorter than the 4-byte magic")
        }
        guard bytes[0] == 0, bytes[1] == 0 else {
            throw DatasetError(.corrupt, file: file, String(format: "IDX: bad magic %02x%02x%02x%02x (expected 0000 then type and rank)", bytes[0], bytes[1], bytes[2], bytes[3]))
        }
        guard bytes[2] == 0x08 else {
            throw DatasetError(.corrupt, file: file, String(format: "IDX: element type 0x%02x is not unsigned byte (0x08)", bytes[2]))
        }
        let rank = Int(bytes[3])
        guard (1...4).contains(rank) else {
            throw DatasetError(.corrupt, file: file, "IDX: rank \(rank) is outside 1...4")
        }
        let headerSize = 4 + 4 * rank
        guard bytes.count >= headerSize else {
            throw DatasetError(.truncated, file: file, "IDX: file ends inside the \(rank)-dimension header")
        }
        var shape: [Int] = []
        var elements = 1
        for d in 0..<rank {
            let o = 4 + 4 * d
            let size = Int(bytes[o]) << 24 | Int(bytes[o + 1]) << 16 | Int(bytes[o + 2]) << 8 | Int(bytes[o + 3])
            let (product, overflow) = elements.multipliedReportingOverflow(by: size)
            guard !overflow, product <= 1 << 34 else {
                throw DatasetError(.tooLarge, file: file, "IDX: shape \(shape + [size]) is implausibly large")
            }
            shape.append(size)
            elements = product
        }
        let available = bytes.count - headerSize
        guard available >= elements else {
            throw DatasetError(.truncated, file: file, "IDX: header shape \(shape) needs \(elements) bytes of data, file has \(available)")
        }
        guard available == elements else {
            throw DatasetError(.inconsistent, file: file, "IDX: \(available - elements) bytes after the \(shape) data")
        }
        self.shape = shape
        self.data = Array(bytes[headerSize...])
    }

    /// Reads an IDX file, gzip'd or not.
    public init(contentsOf path: String) throws {
        try self.init(bytes: try DatasetFiles.readMaybeGzipped(path), file: path)
    }
}

/// Images (N×H×W IDX) with labels (N IDX): MNIST, Fashion-MNIST and anything else in their layout.
public struct IDXDataset: Dataset {
    public let count: Int
    public let width: Int
    public let height: Int
    public let classNames: [String]
    private let pixels: [UInt8]
    private let labels: [UInt8]

    public init(imagesPath: String, labelsPath: String, classNames: [String]) throws {
        let images = try IDXArray(contentsOf: imagesPath)
        let labels = try IDXArray(contentsOf: labelsPath)
        try self.init(images: images, labels: labels, classNames: classNames, imagesFile: imagesPath, labelsFile: labelsPath)
    }

    public init(images: IDXArray, labels: IDXArray, classNames: [String],
                imagesFile: String = "<images>", labelsFile: String = "<labels>") throws {
        guard images.shape.count == 3, images.shape[1] > 0, images.shape[2] > 0 else {
            throw DatasetError(.inconsistent, file: imagesFile, "IDX images must be N×H×W, got shape \(images.shape)")
        }
        guard labels.shape.count == 1 else {
            throw DatasetError(.inconsistent, file: labelsFile, "IDX labels must be one-dimensional, got shape \(labels.shape)")
        }
        guard images.shape[0] == labels.shape[0] else {
            throw DatasetError(.inconsistent, file: labelsFile, "\(labels.shape[0]) labels for \(images.shape[0]) images in \(imagesFile)")
        }
        if let bad = labels.data.firstIndex(where: { Int($0) >= classNames.count }) {
            throw DatasetError(.corrupt, file: labelsFile, "label \(labels.data[bad]) at index \(bad) is not below the \(classNames.count) classes")
        }
        count = images.shape[0]
        height = images.shape[1]
        width = images.shape[2]
        self.classNames = classNames
        pixels = images.data
        self.labels = labels.data
    }

    public func item(at index: Int) throws -> DatasetItem {
        precondition(index >= 0 && index < count, "index \(index) out of 0..<\(count)")
        let size = width * height
        let image = Image(width: width, height: height, channels: 1, pixels: Array(pixels[(index * size)..<((index + 1) * size)]))
        return DatasetItem(image: image, label: Int(labels[index]))
    }

    public func annotation(at index: Int) throws -> DatasetAnnotation {
        precondition(index >= 0 && index < count, "index \(index) out of 0..<\(count)")
        return DatasetAnnotation(label: Int(labels[index]), captions: [])
    }

    public enum Split: String, Sendable { case train, test }

    public static let fashionMNISTClasses = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                                             "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]
    public static let digitClasses = (0...9).map(String.init)

    /// Fashion-MNIST from a folder holding the standard file names (`train-images-idx3-ubyte[.gz]`, …),
    /// as unpacked from Debian's dataset-fashion-mnist.
    public static func fashionMNIST(directory: String, split: Split) throws -> IDXDataset {
        try standardLayout(directory: directory, split: split, classNames: fashionMNISTClasses)
    }

    /// MNIST from a folder with the same standard file names.
    public static func mnist(directory: String, split: Split) throws -> IDXDataset {
        try standardLayout(directory: directory, split: split, classNames: digitClasses)
    }

    private static func standardLayout(directory: String, split: Split, classNames: [String]) throws -> IDXDataset {
        let prefix = split == .train ? "train" : "t10k"
        func locate(_ stem: String) throws -> String {
            let candidates = ["\(directory)/\(stem).gz", "\(directory)/\(stem)"]
            if let found = candidates.first(where: { FileManager.default.fileExists(atPath: $0) }) { return found }
            throw DatasetError(.missing, file: directory, "neither \(stem).gz nor \(stem) is in this folder")
        }
        return try IDXDataset(imagesPath: try locate("\(prefix)-images-idx3-ubyte"),
                              labelsPath: try locate("\(prefix)-labels-idx1-ubyte"), classNames: classNames)
    }
}
