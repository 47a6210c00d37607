import Foundation
import XCTest
import LatteTestSupport
@testable import LatteFormats

final class DatasetParserTests: XCTestCase {
    // MARK: - IDX

    private func writeIDXPair(_ dir: URL, count: Int = 3, gzip: Bool) throws -> (String, String) {
        let pixels = (0..<(count * 4 * 3)).map { UInt8($0 * 7 % 256) }
        var images = DatasetFixtures.idx(shape: [count, 4, 3], data: pixels)
        var labels = DatasetFixtures.idx(shape: [count], data: (0..<count).map { UInt8($0 % 10) })
        if gzip { images = DatasetFixtures.gzipStored(images); labels = DatasetFixtures.gzipStored(labels) }
        let suffix = gzip ? ".gz" : ""
        return (try DatasetFixtures.write(images, dir, "train-images-idx3-ubyte\(suffix)"),
                try DatasetFixtures.write(labels, dir, "train-labels-idx1-ubyte\(suffix)"))
    }

    func testIDXPlainAndGzipped() throws {
        for gzip in [false, true] {
            let dir = try makeScratchDirectory(self)
            _ = try writeIDXPair(dir, gzip: gzip)
            let data = try IDXDataset.mnist(directory: dir.path, split: .train)
            XCTAssertEqual(data.count, 3)
            XCTAssertEqual([data.width, data.height], [3, 4])
            let item = try data.item(at: 2)
            XCTAssertEqual(item.label, 2)
            XCTAssertEqual(item.image.pixels, (24..<36).map { UInt8($0 * 7 % 256) })
            XCTAssertEqual(item.image.channels, 1)
        }
    }

    func testIDXBadInput() throws {
        let dir = try makeScratchDirectory(self)
        let good = DatasetFixtures.idx(shape: [2, 2, 2], data: [UInt8](repeating: 1, count: 8))
        var magic = good; magic[0] = 0x1F; magic[1] = 0x00
        let badMagic = try DatasetFixtures.write(magic, dir, "magic.idx")
        assertDatasetError(try IDXArray(contentsOf: badMagic), names: badMagic, mentions: ["magic"], kind: .corrupt)

        var type = good; type[2] = 0x0D
        let badType = try DatasetFixtures.write(type, dir, "type.idx")
        assertDatasetError(try IDXArray(contentsOf: badType), names: badType, mentions: ["element type 0x0d"], kind: .corrupt)

        let short = try DatasetFixtures.write(DatasetFixtures.idx(shape: [5, 2, 2], data: [UInt8](repeating: 1, count: 8)), dir, "short.idx")
        assertDatasetError(try IDXArray(contentsOf: short), names: short, mentions: ["needs 20 bytes", "has 8"], kind: .truncated)

        let huge = try DatasetFixtures.write(DatasetFixtures.idx(shape: [0xFFFF_FFFF, 0xFFFF_FFFF, 28], data: []), dir, "huge.idx")
        assertDatasetError(try IDXArray(contentsOf: huge), names: huge, mentions: ["implausibly large"], kind: .tooLarge)

        let header = try DatasetFixtures.write(Array(good.prefix(9)), dir, "header.idx")
        assertDatasetError(try IDXArray(contentsOf: header), names: header, mentions: ["header"], kind: .truncated)

        let trailing = try DatasetFixtures.write(good + [9, 9], dir, "trailing.idx")
        assertDatasetError(try IDXArray(contentsOf: trailing), names: trailing, mentions: ["2 bytes after"], kind: .inconsistent)

        let gz = DatasetFixtures.gzipStored(good)
        let cut = try DatasetFixtures.write(Array(gz.prefix(gz.count - 12)), dir, "cut.idx.gz")
        assertDatasetError(try IDXArray(contentsOf: cut), names: cut, mentions: ["gzip"], kind: .truncated)
        var flipped = gz; flipped[10] = 0x07  // reserved deflate block type 3
        let corrupt = try DatasetFixtures.write(flipped, dir, "corrupt.idx.gz")
        assertDatasetError(try IDXArray(contentsOf: corrupt), names: corrupt, mentions: ["gzip"], kind: .corrupt)
        var badCRC = gz; badCRC[badCRC.count - 6] ^= 1
        let crc = try DatasetFixtures.write(badCRC, dir, "crc.idx.gz")
        assertDatasetError(try IDXArray(contentsOf: crc), names: crc, mentions: ["gzip"], kind: .corrupt)

        assertDatasetError(try IDXArray(contentsOf: dir.path + "/absent.idx"), names: "absent.idx", mentions: ["no such file"], kind: .missing)
    }

    func testIDXImagesAndLabelsMustAgree() throws {
        let images = try IDXArray(bytes: DatasetFixtures.idx(shape: [3, 2, 2], data: [UInt8](repeating: 0, count: 12)))
        let labels = try IDXArray(bytes: DatasetFixtures.idx(shape: [2], data: [0, 1]))
        assertDatasetError(try IDXDataset(images: images, labels: labels, classNames: IDXDataset.digitClasses, labelsFile: "l.idx"),
                           names: "l.idx", mentions: ["2 labels for 3 images"], kind: .inconsistent)
        let badLabel = try IDXArray(bytes: DatasetFixtures.idx(shape: [3], data: [0, 1, 12]))
        assertDatasetError(try IDXDataset(images: images, labels: badLabel, classNames: IDXDataset.digitClasses, labelsFile: "l.idx"),
                           names: "l.idx", mentions: ["label 12 at index 2"], kind: .corrupt)
        assertDatasetError(try IDXDataset(images: labels, labels: labels, classNames: IDXDataset.digitClasses, imagesFile: "i.idx"),
                           names: "i.idx", mentions: ["N×H×W"], kind: .inconsistent)
        let dir = try makeScratchDirectory(self)
        assertDatasetError(try IDXDataset.fashionMNIST(directory: dir.path, split: .test), names: dir.path,
                           mentions: ["t10k-images-idx3-ubyte.gz"], kind: .missing)
    }

    func testRealFashionMNISTWhenFetched() throws {
        let dir = try PinnedAssets.require("fashion-mnist").deletingLastPathComponent().path
        let train = try IDXDataset.fashionMNIST(directory: dir, split: .train)
        let test = try IDXDataset.fashionMNIST(directory: dir, split: .test)
        XCTAssertEqual([train.count, test.count], [60000, 10000])
        XCTAssertEqual([train.width, train.height], [28, 28])
        // The dataset is balanced: 6000 training and 1000 test images per class.
        var histogram = [Int](repeating: 0, count: 10)
        for i in 0..<train.count { histogram[try train.item(at: i).label] += 1 }
        XCTAssertEqual(histogram, [Int](repeating: 6000, count: 10))
        XCTAssertEqual(train.classNames[9], "Ankle boot")
    }

    // MARK: - CSV digits

    func testCSVDigitsParsesAndScales() throws {
        let layout = CSVDigitsDataset.Layout(width: 2, height: 2, maxValue: 16)
        let csv = "0,16,8,4,3\r\n16,16,0,0.0,9\n\n"
        let data = try CSVDigitsDataset(bytes: Array(csv.utf8), layout: layout)
        XCTAssertEqual(data.count, 2)
        XCTAssertEqual(try data.item(at: 0).image.pixels, [0, 255, 128, 64])  // round(v * 255 / 16)
        XCTAssertEqual(try data.item(at: 0).label, 3)
        XCTAssertEqual(try data.item(at: 1).label, 9)

        let dir = try makeScratchDirectory(self)
        let gz = try DatasetFixtures.write(DatasetFixtures.gzipStored(Array(csv.utf8)), dir, "d.csv.gz")
        XCTAssertEqual(try CSVDigitsDataset(path: gz, layout: layout).count, 2)
    }

    func testCSVBadRowsNameFileAndLine() throws {
        let layout = CSVDigitsDataset.Layout(width: 2, height: 2, maxValue: 16)
        let cases: [(String, [String])] = [
            ("0,1,2,3,4\n0,1,2,3\n", ["line 2", "4 columns, expected 5"]),
            ("0,1,x,3,4\n", ["line 1, column 3", "'x'"]),
            ("0,1,2,17,4\n", ["line 1, column 4", "pixel 17"]),
            ("0,1,2,3,10\n", ["line 1", "label 10"]),
            ("0,1,,3,4\n", ["line 1, column 3"]),
            ("\n\n", ["no data rows"]),
        ]
        for (text, words) in cases {
            assertDatasetError(try CSVDigitsDataset(bytes: Array(text.utf8), layout: layout, file: "bad.csv"),
                               names: "bad.csv", mentions: words, kind: .corrupt)
        }
    }

    func testRealDigitCSVsWhenFetched() throws {
        let digits = try CSVDigitsDataset(path: PinnedAssets.require("digits").path, layout: .sklearnDigits)
        XCTAssertEqual(digits.count, 1797)
        XCTAssertEqual(try digits.item(at: 0).image.width, 8)
        let mnist = try CSVDigitsDataset(path: PinnedAssets.require("mnist-5k").path, layout: .mnist)
        XCTAssertEqual(mnist.count, 5000)
        var histogram = [Int](repeating: 0, count: 10)
        for i in 0..<mnist.count { histogram[try mnist.item(at: i).label] += 1 }
        XCTAssertEqual(histogram, [Int](repeating: 500, count: 10))  // 500 per class, as documented
    }

    // MARK: - ImageFolder

    private func makeFolder(_ dir: URL) throws {
        let red = Image(width: 6, height: 5, channels: 3, fill: [255, 0, 0])
        let gray = Image(width: 6, height: 5, channels: 1, fill: [90])
        try FileManager.default.createDirectory(at: dir.appendingPathComponent("zebra"), withIntermediateDirectories: true)
        try FileManager.default.createDirectory(at: dir.appendingPathComponent("Apple"), withIntermediateDirectories: true)
        try FileManager.default.createDirectory(at: dir.appendingPathComponent(".cache"), withIntermediateDirectories: true)
        try PNG.write(red, to: dir.appendingPathComponent("zebra/b.png").path)
        try PNG.write(gray, to: dir.appendingPathComponent("zebra/a.PNG").path)
        try PNG.write(gray, to: dir.appendingPathComponent(".cache/x.png").path)
        let jpeg = try Data(contentsOf: URL(fileURLWithPath: ImageFixtureManifest.path("jpeg/baseline.jpg")))
        try jpeg.write(to: dir.appendingPathComponent("Apple/photo.jpg"))
        try Data("notes".utf8).write(to: dir.appendingPathComponent("Apple/readme.txt"))
    }

    func testImageFolderOrderLabelsAndCaptions() throws {
        let dir = try makeScratchDirectory(self)
        try makeFolder(dir)
        let captions = """
        {"file": "zebra/b.png", "caption": "a red square"}

        {"file": "./Apple/photo.jpg", "caption": "a test photo", "extra": 1}
        """
        try Data(captions.utf8).write(to: dir.appendingPathComponent("captions.jsonl"))
        let data = try ImageFolderDataset(root: dir.path)
        // Byte order: uppercase before lowercase, hidden folders and non-images skipped.
        XCTAssertEqual(data.classNames, ["Apple", "zebra"])
        XCTAssertEqual(data.files, ["Apple/photo.jpg", "zebra/a.PNG", "zebra/b.png"])
        XCTAssertEqual(data.labels, [0, 1, 1])
        XCTAssertEqual(try data.item(at: 0).caption, "a test photo")
        XCTAssertNil(try data.item(at: 1).caption)
        let b = try data.item(at: 2)
        XCTAssertEqual(b.caption, "a red square")
        XCTAssertEqual(b.image, Image(width: 6, height: 5, channels: 3, fill: [255, 0, 0]))
        XCTAssertEqual(try data.item(at: 0).image.width, 37)
    }

    func testImageFolderBadInput() throws {
        let dir = try makeScratchDirectory(self)
        try makeFolder(dir)
        let captionsPath = dir.appendingPathComponent("captions.jsonl").path
        try Data("{\"file\": \"zebra/b.png\"}\n".utf8).write(to: URL(fileURLWithPath: captionsPath))
        assertDatasetError(try ImageFolderDataset(root: dir.path), names: captionsPath, mentions: ["line 1"], kind: .corrupt)
        try Data("{\"file\": \"zebra/b.png\", \"caption\": \"ok\"}\n{\"file\": \"b.png\", \"caption\": \"x\"}\n".utf8)
            .write(to: URL(fileURLWithPath: captionsPath))
        assertDatasetError(try ImageFolderDataset(root: dir.path), names: captionsPath, mentions: ["line 2", "'b.png'"], kind: .inconsistent)
        try FileManager.default.removeItem(atPath: captionsPath)

        // A truncated PNG and a text file named .jpg: listing works, decoding names the file.
        let png = try PNG.encode(Image(width: 6, height: 5, channels: 3, fill: [1, 2, 3]))
        let truncated = dir.appendingPathComponent("zebra/c.png").path
        try Data(png.prefix(png.count / 2)).write(to: URL(fileURLWithPath: truncated))
        let fake = dir.appendingPathComponent("Apple/fake.jpg").path
        try Data("<html>".utf8).write(to: URL(fileURLWithPath: fake))
        let data = try ImageFolderDataset(root: dir.path)
        assertDatasetError(try data.item(at: data.files.firstIndex(of: "zebra/c.png")!), names: truncated, mentions: ["ends before", "png"])
        assertDatasetError(try data.item(at: data.files.firstIndex(of: "Apple/fake.jpg")!), names: fake, mentions: ["neither a png nor a jpeg"])

        let empty = try makeScratchDirectory(self)
        assertDatasetError(try ImageFolderDataset(root: empty.path), names: empty.path, mentions: ["no class folders"], kind: .missing)
        assertDatasetError(try ImageFolderDataset(root: empty.path + "/nope"), names: "nope", mentions: ["not a folder"], kind: .missing)
    }

    // MARK: - EmojiOne

    func testEmojiOneLayoutFromCraftedFolder() throws {
        let dir = try makeScratchDirectory(self)
        let index = """
        {"100": {"unicode": "1F4AF", "name": "hundred points symbol", "category": "symbols", "keywords": ["numbers", "perfect"]},
         "grinning": {"unicode": "1F600", "name": "grinning face", "category": "people", "keywords": []},
         "missing": {"unicode": "1F9FF", "name": "no png", "category": "objects", "keywords": []}}
        """
        _ = try DatasetFixtures.write(Array(index.utf8), dir, "config/index.json")
        for (code, value) in [("1F4AF", UInt8(10)), ("1F600", UInt8(200))] {
            try FileManager.default.createDirectory(at: dir.appendingPathComponent("assets/png"), withIntermediateDirectories: true)
            try PNG.write(Image(width: 4, height: 4, channels: 4, fill: [value, value, value, 255]), to: dir.path + "/assets/png/\(code).png")
        }
        let data = try EmojiOneDataset(root: dir.path)
        XCTAssertEqual(data.count, 2)
        XCTAssertEqual(data.classNames, ["people", "symbols"])
        let first = try data.item(at: 0)
        XCTAssertEqual(first.caption, "hundred points symbol, numbers, perfect")
        XCTAssertEqual(first.label, 1)
        XCTAssertEqual(first.image.pixels[0], 10)
        XCTAssertEqual(try data.item(at: 1).caption, "grinning face")
        for i in 0..<2 {
            let item = try data.item(at: i)
            XCTAssertEqual(try data.annotation(at: i), DatasetAnnotation(label: item.label, captions: item.captions))
        }

        _ = try DatasetFixtures.write(Array("{\"x\": {\"unicode\": \"../../etc/passwd\", \"name\": \"n\"}}".utf8), dir, "config/index.json")
        assertDatasetError(try EmojiOneDataset(root: dir.path), names: "index.json", mentions: ["malformed unicode"], kind: .corrupt)
        _ = try DatasetFixtures.write(Array("[1, 2]".utf8), dir, "config/index.json")
        assertDatasetError(try EmojiOneDataset(root: dir.path), names: "index.json", mentions: ["not a json object"], kind: .corrupt)
    }

    func testRealEmojiOneWhenFetched() throws {
        let index = try PinnedAssets.require("emojione", file: "config/index.json")
        let root = index.deletingLastPathComponent().deletingLastPathComponent().path
        let data = try EmojiOneDataset(root: root)
        XCTAssertEqual(data.count, 1794)
        let item = try data.item(at: 0)
        XCTAssertEqual([item.image.width, item.image.height, item.image.channels], [64, 64, 4])
        XCTAssertFalse(item.caption?.isEmpty ?? true)
    }
}
