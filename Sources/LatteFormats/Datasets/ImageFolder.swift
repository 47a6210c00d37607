import Foundation

/// The ImageNet layout: `root/<class>/<image>.{png,jpg,jpeg}`, classes in sorted name order, files
/// sorted within each class. An optional `root/captions.jsonl` holds one `{"file": ..., "caption": ...}`
/// object per line, `file` relative to `root` (e.g. `"cat/001.png"`).
/// Images are decoded on access, so an unreadable file fails `item(at:)` with its path.
public struct ImageFolderDataset: Dataset {
    public let root: String
    public let classNames: [String]
    /// Paths relative to `root`, in item order.
    public let files: [String]
    public let labels: [Int]
    private let captions: [String: String]
    public let limits: ImageLimits

    public static let imageExtensions: Set<String> = ["png", "jpg", "jpeg"]

    public init(root: String, limits: ImageLimits = .default) throws {
        let fm = FileManager.default
        var isDirectory: ObjCBool = false
        guard fm.fileExists(atPath: root, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw DatasetError(.missing, file: root, "ImageFolder root is not a folder")
        }
        let entries: [String]
        do { entries = try fm.contentsOfDirectory(atPath: root) } catch {
            throw DatasetError(.unreadable, file: root, "cannot list the folder: \(error.localizedDescription)")
        }
        // Byte-wise sort, like Python's sorted() on the names, so class indices match torchvision's.
        let classes = entries.filter { name in
            var dir: ObjCBool = false
            return !name.hasPrefix(".") && fm.fileExists(atPath: "\(root)/\(name)", isDirectory: &dir) && dir.boolValue
        }.sorted { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }
        guard !classes.isEmpty else {
            throw DatasetError(.missing, file: root, "ImageFolder root has no class folders")
        }
        var files: [String] = []
        var labels: [Int] = []
        for (label, name) in classes.enumerated() {
            let names: [String]
            do { names = try fm.contentsOfDirectory(atPath: "\(root)/\(name)") } catch {
                throw DatasetError(.unreadable, file: "\(root)/\(name)", "cannot list the class folder: \(error.localizedDescription)")
            }
            for file in names.sorted(by: { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) })
            where !file.hasPrefix(".") && Self.imageExtensions.contains((file as NSString).pathExtension.lowercased()) {
                files.append("\(name)/\(file)")
                labels.append(label)
            }
        }
        guard !files.isEmpty else {
            throw DatasetError(.missing, file: root, "ImageFolder class folders hold no .png/.jpg/.jpeg files")
        }
        self.root = root
        self.classNames = classes
        self.files = files
        self.labels = labels
        self.limits = limits
        let captionsPath = "\(root)/captions.jsonl"
        captions = fm.fileExists(atPath: captionsPath) ? try Self.readCaptions(captionsPath, known: Set(files)) : [:]
    }

    public var count: Int { files.count }

    public func item(at index: Int) throws -> DatasetItem {
        precondition(index >= 0 && index < count, "index \(index) out of 0..<\(count)")
        let image = try ImageFile.read("\(root)/\(files[index])", limits: limits)
        return DatasetItem(image: image, label: labels[index], caption: captions[files[index]])
    }

    /// Parses captions.jsonl strictly: a malformed line or a caption for a file that is not in the
    /// folder is an error (it is almost always a typo that would silently drop captions).
    static func readCaptions(_ path: String, known: Set<String>) throws -> [String: String] {
        let bytes = try DatasetFiles.read(path)
        var captions: [String: String] = [:]
        for (i, line) in bytes.split(separator: 0x0A, omittingEmptySubsequences: false).enumerated() {
            let trimmed = line.drop { $0 == 0x20 || $0 == 0x09 || $0 == 0x0D }
            if trimmed.isEmpty { continue }
            let object = try? JSONSerialization.jsonObject(with: Data(trimmed))
            guard let entry = object as? [String: Any], let file = entry["file"] as? String,
                  let caption = entry["caption"] as? String else {
                throw DatasetError(.corrupt, file: path, "line \(i + 1): expected {\"file\": string, \"caption\": string}")
            }
            let normalized = file.hasPrefix("./") ? String(file.dropFirst(2)) : file
            guard known.contains(normalized) else {
                throw DatasetError(.inconsistent, file: path, "line \(i + 1): no image '\(file)' in the folder (paths are relative to the root, e.g. 'class/name.png')")
            }
            captions[normalized] = caption
        }
        return captions
    }
}
