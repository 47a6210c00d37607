import Foundation

/// A dataset whose items are image files, so that a cache can tell whether the data changed by looking
/// at the files (`stat`) instead of decoding every image.
public protocol ImageFileDataset: Dataset {
    /// Item `index`'s image: `name` relative to the dataset's root (what the fingerprint hashes, so a
    /// moved or copied folder keeps it) and the full `path` to read.
    func imageFile(at index: Int) -> (name: String, path: String)
}

extension ImageFolderDataset: ImageFileDataset {
    public func imageFile(at index: Int) -> (name: String, path: String) { (files[index], "\(root)/\(files[index])") }
}

extension CaptionedImageDataset: ImageFileDataset {
    public func imageFile(at index: Int) -> (name: String, path: String) { (lines[index].image, imagePath(at: index)) }
}

extension EmojiOneDataset: ImageFileDataset {
    public func imageFile(at index: Int) -> (name: String, path: String) {
        let name = "assets/png/\(entries[index].unicode).png"
        return (name, "\(root)/\(name)")
    }
}

/// Which images a dataset holds, in order, in one comparable value — what a latent cache records so
/// that it is never reused for other data.
///
/// - File datasets (`ImageFileDataset`, also behind `DatasetPrefix`): per item its name relative to the
///   root, its size in bytes and its modification time in whole seconds — one `stat` per file, no
///   decoding (whole seconds: some copy tools keep no finer times). Renaming, adding, removing, resizing or
///   touching a file changes it; moving the folder does not. Copying without keeping times
///   (`cp -r` rather than `cp -a` / `rsync -a`) does: the cache is then refused, never silently reused.
/// - Any other dataset (Fashion-MNIST's IDX arrays, generated test sets): every item's decoded pixels
///   and size — cheap for in-memory sets, which is what those are.
public struct DatasetFingerprint: Codable, Sendable, Equatable {
    public var count: Int
    /// "files: name, size, mtime" or "pixels".
    public var method: String
    /// SHA-256 (hex) over the items' identities in order.
    public var sha256: String

    public init(count: Int, method: String, sha256: String) {
        self.count = count
        self.method = method
        self.sha256 = sha256
    }

    public init(of dataset: any Dataset) throws {
        var hash = SHA256()
        var base: any Dataset = dataset
        while let prefix = base as? DatasetPrefix { base = prefix.base }   // a prefix's items are its base's first ones
        if let files = base as? any ImageFileDataset {
            method = "files: name, size, mtime"
            for i in 0..<dataset.count {
                let file = files.imageFile(at: i)
                var st = stat()
                // A missing or unreadable file still gets an identity: encoding reports and skips it.
                let seen = stat(file.path, &st) == 0 ? "\(st.st_size) \(st.st_mtim.tv_sec)" : "absent"
                hash.update(Array("\(file.name)\u{0}\(seen)\n".utf8))
            }
        } else {
            method = "pixels"
            for i in 0..<dataset.count {
                do {
                    let image = try dataset.item(at: i).image
                    hash.update(Array("\(image.width)x\(image.height)x\(image.channels)\n".utf8))
                    hash.update(image.pixels)
                } catch let error as ImageError {
                    hash.update(Array("unreadable: \(error.file)\n".utf8))
                }
            }
        }
        count = dataset.count
        sha256 = SHA256.hex(hash.finalize())
    }
}
