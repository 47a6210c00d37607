import CImageShims
import Foundation

/// One training example: an 8-bit image, its class index and its captions.
public struct DatasetItem: Sendable, Equatable {
    public var image: Image
    public var label: Int
    /// Every text the item may be described by (a captioned set's list, or its class's template
    /// phrases); empty when the dataset has none. A trainer draws one per sample.
    public var captions: [String]

    /// The first caption, if any.
    public var caption: String? { captions.first }

    public init(image: Image, label: Int, caption: String? = nil) {
        self.init(image: image, label: label, captions: caption.map { [$0] } ?? [])
    }

    public init(image: Image, label: Int, captions: [String]) {
        self.image = image
        self.label = label
        self.captions = captions
    }
}

/// A random-access collection of examples. Implementations are immutable after init, so the
/// loader may call `item(at:)` from its prefetch thread.
public protocol Dataset: Sendable {
    var count: Int { get }
    /// Class names indexed by label.
    var classNames: [String] { get }
    /// Decodes example `index` (0..<count); throws when its file is unreadable or corrupt.
    func item(at index: Int) throws -> DatasetItem
    /// Example `index`'s label and captions without its pixels. The default decodes the item; sets
    /// that know them without decoding (every set here) answer directly, so a trainer whose images were
    /// already encoded (a latent cache) reads the texts without decoding a single image again.
    func annotation(at index: Int) throws -> DatasetAnnotation
}

/// What an item says besides its pixels: the label and captions of its `DatasetItem`.
public struct DatasetAnnotation: Sendable, Equatable {
    public var label: Int
    public var captions: [String]

    public init(label: Int, captions: [String]) {
        self.label = label
        self.captions = captions
    }
}

extension Dataset {
    public func annotation(at index: Int) throws -> DatasetAnnotation {
        let item = try item(at: index)
        return DatasetAnnotation(label: item.label, captions: item.captions)
    }
}

public struct DatasetError: Error, CustomStringConvertible, Equatable {
    public enum Kind: String, Sendable { case unreadable, truncated, corrupt, tooLarge, inconsistent, missing }
    public var kind: Kind
    /// The file or folder the problem is in.
    public var file: String
    public var message: String

    public init(_ kind: Kind, file: String, _ message: String) {
        self.kind = kind
        self.file = file
        self.message = message
    }

    public var description: String { "\(file): \(message)" }
}

// MARK: - File bytes, gzip'd or not

public enum DatasetFiles {
    /// 1 GiB: above every dataset file we read (Fashion-MNIST train images are 47 MB), and a bound on
    /// what a hostile .gz can make us allocate.
    static let maxDecompressedBytes = 1 << 30

    static func read(_ path: String) throws -> [UInt8] {
        guard let data = FileManager.default.contents(atPath: path) else {
            let exists = FileManager.default.fileExists(atPath: path)
            throw DatasetError(exists ? .unreadable : .missing, file: path, exists ? "cannot be read" : "no such file")
        }
        return [UInt8](data)
    }

    /// Reads a file, inflating it when it starts with the gzip magic (1f 8b) whatever its name.
    static func readMaybeGzipped(_ path: String, maxBytes: Int = maxDecompressedBytes) throws -> [UInt8] {
        let raw = try read(path)
        guard raw.count >= 2, raw[0] == 0x1F, raw[1] == 0x8B else { return raw }
        return try gunzip(raw, file: path, maxBytes: maxBytes)
    }

    public static func gunzip(_ data: [UInt8], file: String, maxBytes: Int) throws -> [UInt8] {
        guard !data.isEmpty else { throw DatasetError(.truncated, file: file, "gzip: file is empty") }
        var out: UnsafeMutablePointer<UInt8>? = nil
        var size = 0
        var message = [CChar](repeating: 0, count: Int(LATTE_IMG_MESSAGE_SIZE))
        let status = data.withUnsafeBufferPointer {
            latte_gunzip($0.baseAddress!, $0.count, maxBytes, &out, &size, &message)
        }
        guard status == LATTE_IMG_OK, let bytes = out else {
            let text = String(decoding: message.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            let kind: DatasetError.Kind = status == LATTE_IMG_TRUNCATED ? .truncated : status == LATTE_IMG_TOO_LARGE ? .tooLarge : .corrupt
            throw DatasetError(kind, file: file, "gzip: \(text)")
        }
        defer { latte_img_free(bytes) }
        return [UInt8](UnsafeBufferPointer(start: bytes, count: size))
    }
}
