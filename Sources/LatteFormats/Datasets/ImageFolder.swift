import Foundation

/// The ImageNet layout: `root/<class>/<image>.{png,jpg,jpeg}`, classes in sorted name order, files
/// sorted within each class. Folder names may hold spaces and any Unicode.
///
/// - An optional `ClassNameMap` gives each class its display names (ImageNet's synset mapping:
///   `n01440764<TAB>tench, Tinca tinca`); without one a class is named by its folder.
/// - `PromptTemplates` turn the display names into each class's phrases (`classPhrases`), one per
///   template × name: the text a class-conditional trainer draws a prompt from.
/// - An optional `root/captions.jsonl` holds one `{"file": ..., "caption": ...}` object per line
///   (`"image"` is accepted for `"file"`, and a list for `"caption"`), `file` relative to `root`
///   (e.g. `"cat/001.png"`).
///
/// An item's captions are its `captions.jsonl` captions, else its class phrases when templates were
/// given, else none. Images are decoded on access, so an unreadable file fails `item(at:)` with its
/// path (the loader can skip it: `DataLoaderOptions.unreadableImages`). A class folder without images
/// is an error at init, before any work.
public struct ImageFolderDataset: Dataset {
    public let root: String
    /// The class folder names, indexed by label.
    public let classNames: [String]
    /// Display names per class: from the map, else `[folder name]`.
    public let displayNames: [[String]]
    /// Prompt phrases per class: templates × display names (the names alone without templates).
    public let classPhrases: [[String]]
    /// Paths relative to `root`, in item order.
    public let files: [String]
    public let labels: [Int]
    private let captions: [String: [String]]
    private let templated: Bool
    public let limits: ImageLimits

    public static let imageExtensions: Set<String> = ["png", "jpg", "jpeg"]

    public init(root: String, classNames map: ClassNameMap? = nil, templates: PromptTemplates? = nil,
                limits: ImageLimits = .default) throws {
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
        var empty: [String] = []
        for (label, name) in classes.enumerated() {
            let names: [String]
            do { names = try fm.contentsOfDirectory(atPath: "\(root)/\(name)") } catch {
                throw DatasetError(.unreadable, file: "\(root)/\(name)", "cannot list the class folder: \(error.localizedDescription)")
            }
            let before = files.count
            for file in names.sorted(by: { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) })
            where !file.hasPrefix(".") && Self.imageExtensions.contains((file as NSString).pathExtension.lowercased()) {
                files.append("\(name)/\(file)")
                labels.append(label)
            }
            if files.count == before { empty.append(name) }
        }
        guard !files.isEmpty else {
            throw DatasetError(.missing, file: root, "ImageFolder class folders hold no .png/.jpg/.jpeg files")
        }
        // An empty class would be a label the model is asked to draw but never sees.
        guard empty.isEmpty else {
            let shown = empty.prefix(5).map { "'\($0)'" }.joined(separator: ", ")
            throw DatasetError(.missing, file: "\(root)/\(empty[0])",
                               "\(empty.count) class folder\(empty.count == 1 ? "" : "s") without .png/.jpg/.jpeg files: \(shown)\(empty.count > 5 ? ", …" : "") (add images or remove the folder)")
        }
        self.root = root
        self.classNames = classes
        self.files = files
        self.labels = labels
        self.limits = limits
        displayNames = try map?.displayNames(for: classes) ?? classes.map { [$0] }
        classPhrases = displayNames.map { (templates ?? .nameOnly).phrases(for: $0) }
        templated = templates != nil
        let captionsPath = "\(root)/captions.jsonl"
        captions = fm.fileExists(atPath: captionsPath) ? try Self.readCaptions(captionsPath, known: Set(files)) : [:]
    }

    public var count: Int { files.count }

    public func item(at index: Int) throws -> DatasetItem {
        precondition(index >= 0 && index < count, "index \(index) out of 0..<\(count)")
        let image = try ImageFile.read("\(root)/\(files[index])", limits: limits)
        let text = try annotation(at: index)
        return DatasetItem(image: image, label: text.label, captions: text.captions)
    }

    public func annotation(at index: Int) throws -> DatasetAnnotation {
        precondition(index >= 0 && index < count, "index \(index) out of 0..<\(count)")
        let label = labels[index]
        return DatasetAnnotation(label: label, captions: captions[files[index]] ?? (templated ? classPhrases[label] : []))
    }

    /// Parses captions.jsonl strictly: a malformed line or a caption for a file that is not in the
    /// folder is an error (it is almost always a typo that would silently drop captions).
    static func readCaptions(_ path: String, known: Set<String>) throws -> [String: [String]] {
        var captions: [String: [String]] = [:]
        for line in try CaptionLines.parse(try DatasetFiles.read(path), file: path, pathKeys: ["file", "image"]) {
            guard known.contains(line.image) else {
                throw DatasetError(.inconsistent, file: path, "line \(line.line): no image '\(line.image)' in the folder (paths are relative to the root, e.g. 'class/name.png')")
            }
            captions[line.image, default: []] += line.captions
        }
        return captions
    }
}
