import Foundation
import XCTest
@testable import LatteFormats

/// The issue-16 data sources on small generated folders: ImageNet-layout folders with Unicode and
/// spaces, class-name maps and prompt templates, JSONL captions, corrupt files skipped and counted,
/// RGBA flattened on a stated colour, and every bad input named with its file (and line).
final class TrainingDataSourceTests: XCTestCase {
    private let fm = FileManager.default

    private func png(_ image: Image, _ dir: URL, _ relative: String) throws {
        let url = dir.appendingPathComponent(relative)
        try fm.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try PNG.write(image, to: url.path)
    }

    /// JPEGs come from the committed Pillow fixtures (the codecs have no JPEG encoder).
    private func jpeg(_ fixture: String, _ dir: URL, _ relative: String) throws {
        let url = dir.appendingPathComponent(relative)
        try fm.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try fm.copyItem(atPath: ImageFixtureManifest.path("jpeg/\(fixture)"), toPath: url.path)
    }

    private func text(_ string: String, _ dir: URL, _ relative: String) throws -> String {
        let url = dir.appendingPathComponent(relative)
        try fm.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try Data(string.utf8).write(to: url)
        return url.path
    }

    private static let cafeNFC = "Caf\u{E9} \u{2615}"      // "Café ☕" precomposed
    private static let cafeNFD = "Cafe\u{301} \u{2615}"    // the same name, decomposed

    /// Four classes: a wnid, a name with a space, Unicode (NFC on disk) and CJK with a space; PNG grey,
    /// RGB and RGBA and JPEG grey and RGB.
    private func makeImageNetFolder() throws -> URL {
        let root = try makeScratchDirectory(self)
        try png(Image(width: 5, height: 4, channels: 3, fill: [200, 10, 10]), root, "n01440764/a.png")
        try jpeg("baseline.jpg", root, "n01440764/b.JPG")
        try png(Image(width: 4, height: 4, channels: 1, fill: [77]), root, "golden retriever/grey dog.png")
        try png(Image(width: 6, height: 3, channels: 4, fill: [255, 0, 0, 0]), root, "\(Self.cafeNFC)/transparent.png")
        try jpeg("gray.jpg", root, "日本語 フォルダ/写真.jpeg")
        return root
    }

    // MARK: - Image folders, names and templates

    func testImageNetLayoutWithUnicodeNamesMapAndTemplates() throws {
        let root = try makeImageNetFolder()
        // words.txt style (tab), LOC_synset_mapping style (space) and a spare key the folder lacks;
        // the map spells Café decomposed while the folder is precomposed.
        let mapPath = try text("""
        # class names
        n01440764 tench, Tinca tinca
        golden retriever\tgolden retriever
        \(Self.cafeNFD)\tcoffee,  café ,
        日本語 フォルダ\tJapanese folder
        n99999999\tunused
        """, root, "map.txt")   // a file beside the class folders is not a class
        let map = try ClassNameMap(path: mapPath)
        let templates = try PromptTemplates(["a photo of a {name}", "{name}", "a photo of a {name}"])
        XCTAssertEqual(templates.templates, ["a photo of a {name}", "{name}"])

        let data = try ImageFolderDataset(root: root.path, classNames: map, templates: templates)
        XCTAssertEqual((try ImageDataSource.dataset(root.path, split: .train, classNames: map, templates: templates) as? ImageFolderDataset)?.classPhrases,
                       data.classPhrases)
        XCTAssertEqual(data.classNames, ["\(Self.cafeNFC)", "golden retriever", "n01440764", "日本語 フォルダ"])
        XCTAssertEqual(data.files, ["\(Self.cafeNFC)/transparent.png", "golden retriever/grey dog.png",
                                    "n01440764/a.png", "n01440764/b.JPG", "日本語 フォルダ/写真.jpeg"])
        XCTAssertEqual(data.labels, [0, 1, 2, 2, 3])
        XCTAssertEqual(data.displayNames, [["coffee", "café"], ["golden retriever"], ["tench", "Tinca tinca"], ["Japanese folder"]])
        XCTAssertEqual(data.classPhrases[2], ["a photo of a tench", "a photo of a Tinca tinca", "tench", "Tinca tinca"])
        XCTAssertEqual(data.classPhrases[1], ["a photo of a golden retriever", "golden retriever"])
        XCTAssertEqual(try data.item(at: 3).captions, data.classPhrases[2])
        XCTAssertEqual(try data.item(at: 4).image.channels, 1)   // the grey JPEG
        XCTAssertEqual(try data.item(at: 3).image.channels, 3)   // the RGB JPEG, upper-case extension

        // Without a map or templates: folder names, no item captions.
        let plain = try ImageFolderDataset(root: root.path)
        XCTAssertEqual(plain.displayNames[1], ["golden retriever"])
        XCTAssertEqual(plain.classPhrases[3], ["日本語 フォルダ"])
        XCTAssertEqual(try plain.item(at: 0).captions, [])
    }

    func testImageFolderBadNamesTemplatesAndEmptyClass() throws {
        let root = try makeImageNetFolder()
        let partial = ClassNameMap(names: ["n01440764": ["tench"]], file: "map.txt")
        assertDatasetError(try ImageFolderDataset(root: root.path, classNames: partial), names: "map.txt",
                           mentions: ["no names for 3 of 4", "'golden retriever'"], kind: .inconsistent)

        let cases: [(String, [String])] = [
            ("n01\ttench\nlonely\n", ["line 2", "no tab or space"]),
            ("n01\ttench\nn02\t , ,\n", ["line 2", "at least one name"]),
            ("n01\ttench\nn01\tcarp\n", ["line 2", "'n01'", "second time"]),
            ("# only a comment\n\n", ["no entries"]),
        ]
        for (body, words) in cases {
            assertDatasetError(try ClassNameMap(bytes: Array(body.utf8), file: "synsets.txt"), names: "synsets.txt", mentions: words)
        }
        assertDatasetError(try PromptTemplates(["a photo of a {name}", "a photo of a {}"], file: "templates.txt"),
                           names: "templates.txt", mentions: ["template 2", "{name}"], kind: .corrupt)
        assertDatasetError(try PromptTemplates([]), names: "<templates>", mentions: ["no prompt templates"])
        let templatePath = try text("# CLIP style\na photo of a {name}.\n\n  a {name}  \n", root, "templates.txt")
        XCTAssertEqual(try PromptTemplates(path: templatePath).templates, ["a photo of a {name}.", "a {name}"])

        // An empty class folder (only a hidden file and a non-image) fails at init, naming it.
        try fm.createDirectory(at: root.appendingPathComponent("empty class ∅"), withIntermediateDirectories: true)
        _ = try text("x", root, "empty class ∅/.DS_Store")
        _ = try text("x", root, "empty class ∅/notes.txt")
        assertDatasetError(try ImageFolderDataset(root: root.path), names: "empty class ∅",
                           mentions: ["1 class folder without", "'empty class ∅'"], kind: .missing)
    }

    // MARK: - Captioned JSONL

    func testCaptionedJSONL() throws {
        let dir = try makeScratchDirectory(self)
        try png(Image(width: 3, height: 3, channels: 4, fill: [0, 0, 255, 255]), dir, "images/blue heart.png")
        try jpeg("progressive.jpg", dir, "images/ü/photo.jpg")
        let path = try text("""
        {"image": "images/blue heart.png", "caption": "blue heart"}

        {"image": "./images/ü/photo.jpg", "caption": ["a photo", "  a test photo  "], "extra": 1}\r
        """, dir, "captions.jsonl")
        let data = try CaptionedImageDataset(captionFile: path)
        XCTAssertEqual(data.count, 2)
        XCTAssertEqual(data.classNames, ["captions"])
        XCTAssertEqual(data.labels, [0, 0])
        XCTAssertEqual(data.lines.map(\.line), [1, 3])
        XCTAssertEqual(try data.item(at: 0).captions, ["blue heart"])
        XCTAssertEqual(try data.item(at: 1).captions, ["a photo", "a test photo"])
        XCTAssertEqual(try data.item(at: 1).image.channels, 3)
        XCTAssertEqual(try data.item(at: 0).image, Image(width: 3, height: 3, channels: 4, fill: [0, 0, 255, 255]))
        // `--data` resolves a .jsonl file to this dataset; anything else that is not a folder is refused.
        XCTAssertEqual((try ImageDataSource.dataset(path, split: .train) as? CaptionedImageDataset)?.count, 2)
        assertDatasetError(try ImageDataSource.dataset(dir.appendingPathComponent("images/blue heart.png").path, split: .train),
                           names: "blue heart.png", mentions: [".jsonl caption file"], kind: .missing)

        let labelled = try text("""
        {"image": "images/blue heart.png", "caption": "blue heart", "label": "symbols"}
        {"image": "images/ü/photo.jpg", "caption": "photo", "label": "objects"}
        """, dir, "labelled.jsonl")
        let withLabels = try CaptionedImageDataset(captionFile: labelled)
        XCTAssertEqual(withLabels.classNames, ["objects", "symbols"])
        XCTAssertEqual(withLabels.labels, [1, 0])
    }

    /// A trainer reads labels and captions with `annotation(at:)`: what `item(at:)` says, without the image
    /// (every source here answers without decoding; a set that does not falls back to decoding).
    func testAnnotationsAreTheItemsLabelsAndCaptionsWithoutDecoding() throws {
        let root = try makeImageNetFolder()
        _ = try text(#"{"file": "golden retriever/grey dog.png", "caption": ["a grey dog", "a dog"]}"#, root, "captions.jsonl")
        let folder = try ImageFolderDataset(root: root.path, templates: try PromptTemplates(["a photo of a {name}"]))
        let captioned = try CaptionedImageDataset(captionFile: try text("""
        {"image": "n01440764/a.png", "caption": "red", "label": "b"}
        {"image": "golden retriever/grey dog.png", "caption": ["grey", "dog"], "label": "a"}
        """, root, "labelled.jsonl"))
        let sets: [any Dataset] = [folder, captioned, try DatasetPrefix(base: folder, count: 3),
                                   try IDXDataset(images: IDXArray(bytes: [0, 0, 8, 3, 0, 0, 0, 2, 0, 0, 0, 1, 0, 0, 0, 1, 5, 6]),
                                                  labels: IDXArray(bytes: [0, 0, 8, 1, 0, 0, 0, 2, 1, 0]), classNames: ["x", "y"])]
        for set in sets {
            for i in 0..<set.count {
                let item = try set.item(at: i)
                XCTAssertEqual(try set.annotation(at: i), DatasetAnnotation(label: item.label, captions: item.captions), "\(type(of: set)) item \(i)")
            }
        }
        XCTAssertEqual(try folder.annotation(at: 1).captions, ["a grey dog", "a dog"])
        XCTAssertEqual(try folder.annotation(at: 2).captions, ["a photo of a n01440764"])
        // No image is read: the annotations survive the images' removal.
        try fm.removeItem(at: root.appendingPathComponent("n01440764"))
        XCTAssertEqual(try captioned.annotation(at: 0), DatasetAnnotation(label: 1, captions: ["red"]))
        XCTAssertEqual(try folder.annotation(at: 2).label, 2)
        XCTAssertThrowsError(try folder.item(at: 2))
    }

    func testCaptionedJSONLBadLinesNameFileAndLine() throws {
        let dir = try makeScratchDirectory(self)
        let good = #"{"image": "a.png", "caption": "ok"}"#
        let cases: [(String, [String])] = [
            (#"{"image": "a.png", "caption": "unterminated}"#, ["line 2", "invalid json"]),
            (#"["a.png", "text"]"#, ["line 2", "not a json object"]),
            (#"{"caption": "no path"}"#, ["line 2", "missing field \"image\""]),
            (#"{"image": "a.png"}"#, ["line 2", "missing field \"caption\""]),
            (#"{"image": 7, "caption": "x"}"#, ["line 2", "\"image\" must be a non-empty string"]),
            (#"{"image": "/etc/a.png", "caption": "x"}"#, ["line 2", "absolute"]),
            (#"{"image": "a.png", "caption": 3}"#, ["line 2", "string or a list of strings"]),
            (#"{"image": "a.png", "caption": ["x", 4]}"#, ["line 2", "entry 2 is not a string"]),
            (#"{"image": "a.png", "caption": []}"#, ["line 2", "empty list"]),
            (#"{"image": "a.png", "caption": "  "}"#, ["line 2", "caption 1 is empty"]),
            (#"{"image": "a.png", "caption": "x", "label": 1}"#, ["line 2", "\"label\""]),
        ]
        for (i, (bad, words)) in cases.enumerated() {
            let path = try text("\(good)\n\(bad)\n\(good)\n", dir, "bad\(i).jsonl")
            assertDatasetError(try CaptionedImageDataset(captionFile: path), names: path, mentions: words, kind: .corrupt)
        }
        let mixed = try text("\(good)\n" + #"{"image": "a.png", "caption": "x", "label": "l"}"#, dir, "mixed.jsonl")
        assertDatasetError(try CaptionedImageDataset(captionFile: mixed), names: mixed, mentions: ["line 1", "label all lines or none"], kind: .inconsistent)
        let empty = try text("\n  \n", dir, "empty.jsonl")
        assertDatasetError(try CaptionedImageDataset(captionFile: empty), names: empty, mentions: ["no entries"], kind: .missing)
        assertDatasetError(try CaptionedImageDataset(captionFile: dir.path + "/absent.jsonl"), names: "absent.jsonl", mentions: ["no such file"], kind: .missing)
    }

    // MARK: - Loading: skipping, flattening, the training chain

    /// Six lines: a transparent RGBA, a corrupt PNG, a grey PNG, a JPEG, a missing file, an RGB PNG.
    private func makeDamagedCaptionSet() throws -> (CaptionedImageDataset, corrupt: String, missing: String) {
        let dir = try makeScratchDirectory(self)
        try png(Image(width: 12, height: 6, channels: 4, fill: [255, 0, 0, 0]), dir, "clear.png")
        let bytes = try PNG.encode(Image(width: 8, height: 8, channels: 3, fill: [1, 2, 3]))
        let corrupt = try text("", dir, "broken file.png")
        try Data(bytes.prefix(bytes.count - 20)).write(to: URL(fileURLWithPath: corrupt))
        try png(Image(width: 9, height: 13, channels: 1, fill: [40]), dir, "grey.png")
        try jpeg("subsampled420.jpg", dir, "photo.jpg")
        try png(Image(width: 8, height: 8, channels: 3, fill: [0, 255, 0]), dir, "green.png")
        let lines = ["clear.png", "broken file.png", "grey.png", "photo.jpg", "gone.png", "green.png"].enumerated()
            .map { #"{"image": "\#($1)", "caption": ["first \#($0)", "second \#($0)", "third \#($0)"]}"# }
        let data = try CaptionedImageDataset(captionFile: try text(lines.joined(separator: "\n"), dir, "set.jsonl"))
        return (data, corrupt, dir.appendingPathComponent("gone.png").path)
    }

    func testLoaderSkipsAndCountsUnreadableImages() throws {
        let (data, corrupt, missing) = try makeDamagedCaptionSet()
        final class Reports: @unchecked Sendable { var files: [String] = []; let lock = NSLock() }
        let reports = Reports()
        let skipped = SkippedFiles { entry in reports.lock.withLock { reports.files.append(entry.file) } }
        let options = DataLoaderOptions(batchSize: 3, shuffle: false,
                                        transforms: ItemTransform.trainingImage(resolution: 4, channels: 3),
                                        unreadableImages: .skip(skipped))
        let loader = try DataLoader(dataset: data, options: options)
        var batches: [Batch] = []
        for _ in 0..<4 { batches.append(try loader.next()) }
        XCTAssertEqual(batches.map(\.indices), [[0, 2, 3], [5], [0, 2, 3], [5]])
        XCTAssertEqual(batches.map(\.span), [4, 2, 4, 2])
        XCTAssertEqual(batches.map(\.state.epoch), [0, 0, 1, 1])
        XCTAssertEqual(batches[1].pixels.count, 1 * 3 * 4 * 4)
        // Each bad file counted once over two epochs, reported with its path and why.
        XCTAssertEqual(skipped.count, 2)
        XCTAssertEqual(skipped.files.map(\.file), [corrupt, missing])
        XCTAssertTrue(skipped.files[1].reason.contains("no such file"), skipped.files[1].reason)
        XCTAssertEqual(reports.files, [corrupt, missing])
        // The transparent red image is white after flattening; the grey one is grey in RGB.
        XCTAssertTrue(batches[0].pixels[0..<48].allSatisfy { abs($0 - 1) < 1e-6 })
        XCTAssertTrue(batches[0].pixels[48..<96].allSatisfy { abs($0 - 40 / 255) < 1e-6 })
        XCTAssertEqual(batches[1].pixels[0..<16].max(), 0)   // green: no red

        // Resuming mid-epoch gives the same batches, and dropLast drops the short tail.
        let resumed = try DataLoader(dataset: data, options: options)
        try resumed.restore(batches[1].state)
        XCTAssertEqual(try resumed.next().indices, [5])
        var dropping = options
        dropping.dropLast = true
        dropping.unreadableImages = .skip(SkippedFiles())
        let dropper = try DataLoader(dataset: data, options: dropping)
        XCTAssertEqual(try (0..<3).map { _ in try dropper.next().indices }, [[0, 2, 3], [0, 2, 3], [0, 2, 3]])

        // The default still fails, naming the file.
        let strict = try DataLoader(dataset: data, options: DataLoaderOptions(batchSize: 3, shuffle: false,
                                                                             transforms: ItemTransform.trainingImage(resolution: 4, channels: 3)))
        assertDatasetError(try strict.next(), names: corrupt, mentions: ["png"])
    }

    func testLoaderWithNothingReadableFailsInsteadOfLooping() throws {
        let dir = try makeScratchDirectory(self)
        let path = try text(#"{"image": "a.png", "caption": "x"}"# + "\n" + #"{"image": "b.png", "caption": "y"}"#, dir, "set.jsonl")
        _ = try text("not an image", dir, "a.png")
        let data = try CaptionedImageDataset(captionFile: path)
        let skipped = SkippedFiles()
        let loader = try DataLoader(dataset: data, options: DataLoaderOptions(batchSize: 1, unreadableImages: .skip(skipped)))
        assertDatasetError(try loader.next(), names: "<loader>", mentions: ["skipping 2 unreadable of 2"], kind: .missing)
        XCTAssertEqual(loader.state, LoaderState(seed: 0))

        // Too few readable images for one full batch with dropLast is the same clear error.
        let (damaged, _, _) = try makeDamagedCaptionSet()
        let dropper = try DataLoader(dataset: damaged, options: DataLoaderOptions(batchSize: 5, dropLast: true,
                                                                                 transforms: ItemTransform.trainingImage(resolution: 4, channels: 1),
                                                                                 unreadableImages: .skip(SkippedFiles())))
        assertDatasetError(try dropper.next(), names: "<loader>", mentions: ["no batch of 5 readable"], kind: .missing)
    }

    func testDrawnCaptionsAreSeededAndLeaveTransformsAlone() throws {
        let (data, _, _) = try makeDamagedCaptionSet()
        func run(draw: Bool, seed: UInt64) throws -> [Batch] {
            let options = DataLoaderOptions(batchSize: 4, seed: seed, transforms: ItemTransform.trainingImage(resolution: 4, channels: 3, horizontalFlip: true),
                                            unreadableImages: .skip(SkippedFiles()), drawCaptions: draw)
            let loader = try DataLoader(dataset: data, options: options)
            return try (0..<12).map { _ in try loader.next() }
        }
        let a = try run(draw: true, seed: 3), b = try run(draw: true, seed: 3), first = try run(draw: false, seed: 3)
        XCTAssertEqual(a.map(\.captions), b.map(\.captions))
        XCTAssertEqual(a.map(\.pixels), first.map(\.pixels))          // the caption draw does not move the flips
        XCTAssertTrue(first.flatMap(\.captions).allSatisfy { $0!.hasPrefix("first") })
        var seen = Set<String>()
        for batch in a {
            for (i, caption) in zip(batch.indices, batch.captions) {
                XCTAssertTrue(data.captions(at: i).contains(caption!))
                seen.insert(caption!)
            }
        }
        XCTAssertGreaterThan(seen.count, 8)   // 4 readable items × 3 captions; 12 batches reach most
    }

    func testAlphaFlattensOntoTheStatedColour() throws {
        var rng = SplitMix64(seed: 0)
        let rgba = Image(width: 2, height: 1, channels: 4, pixels: [255, 0, 0, 0, 0, 0, 255, 128])
        let onBlue = try ItemTransform.compositeOverColour(BackgroundColour(parsing: "#0000ff")).apply(rgba, rng: &rng)
        XCTAssertEqual(onBlue.pixels, [0, 0, 255, 0, 0, 255])
        let onWhite = try ItemTransform.compositeOverColour(.white).apply(rgba, rng: &rng)
        XCTAssertEqual(onWhite.pixels, [255, 255, 255, 127, 127, 255])
        let greyAlpha = Image(width: 1, height: 1, channels: 2, pixels: [0, 0])
        XCTAssertEqual(try ItemTransform.compositeOverColour(.white).apply(greyAlpha, rng: &rng), Image(width: 1, height: 1, channels: 1, pixels: [255]))
        XCTAssertEqual(try ItemTransform.compositeOverColour(BackgroundColour(parsing: "FF8000")).apply(greyAlpha, rng: &rng).pixels, [255, 128, 0])
        XCTAssertThrowsError(try BackgroundColour(parsing: "blue-ish"))

        // The chain resizes the shorter side with the Pillow resampler, then centre-crops: same as by hand.
        let wide = Image(width: 12, height: 6, channels: 3, pixels: (0..<(12 * 6 * 3)).map { UInt8($0 % 251) })
        var image = wide
        for t in ItemTransform.trainingImage(resolution: 4, channels: 3) { image = try t.apply(image, rng: &rng) }
        XCTAssertEqual(image, try wide.resized(width: 8, height: 4, filter: .bicubic).centerCropped(width: 4, height: 4))
    }
}
