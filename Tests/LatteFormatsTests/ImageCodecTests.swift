import Foundation
import XCTest
@testable import LatteFormats

final class ImageCodecTests: XCTestCase {
    func testEveryPNGLayoutDecodesLikePillow() throws {
        let manifest = try ImageFixtureManifest.load()
        XCTAssertGreaterThanOrEqual(manifest.png.count, 15)
        for case_ in manifest.png {
            let decoded = try PNG.read(ImageFixtureManifest.path(case_.file))
            let expected = try PNG.read(ImageFixtureManifest.path(case_.expected))
            XCTAssertEqual(decoded.channels, case_.channels, case_.file)
            XCTAssertEqual(maxAbsDifference(decoded, expected, case_.file), 0, case_.file)
        }
    }

    func testSixteenBitSamplesAreKeptExactly() throws {
        let manifest = try ImageFixtureManifest.load()
        let cases = manifest.png.filter { $0.expected16 != nil }
        XCTAssertEqual(cases.count, 6)
        for case_ in cases {
            let decoded = try PNG.read16(ImageFixtureManifest.path(case_.file))
            let raw = try Data(contentsOf: URL(fileURLWithPath: ImageFixtureManifest.path(case_.expected16!)))
            let expected = raw.withUnsafeBytes { Array($0.bindMemory(to: UInt16.self)).map { UInt16(littleEndian: $0) } }
            XCTAssertEqual(decoded.pixels, expected, case_.file)
            XCTAssertEqual(decoded.to8Bit(), try PNG.read(ImageFixtureManifest.path(case_.file)), case_.file)
        }
    }

    func testInterlacedMatchesNonInterlaced() throws {
        let plain = try PNG.read16(ImageFixtureManifest.path("png/rgba16.png"))
        let adam7 = try PNG.read16(ImageFixtureManifest.path("png/rgba16_adam7.png"))
        XCTAssertEqual(plain, adam7)
    }

    func testPNGRoundTripsAllChannelCountsAndDepths() throws {
        var rng = SplitMix64(seed: 7)
        for channels in 1...4 {
            let pixels = (0..<(13 * 9 * channels)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
            let image = Image(width: 13, height: 9, channels: channels, pixels: pixels)
            XCTAssertEqual(try PNG.decode(PNG.encode(image)), image, "\(channels) channels")
            let wide = Image16(width: 13, height: 9, channels: channels,
                               pixels: (0..<pixels.count).map { _ in UInt16(truncatingIfNeeded: rng.next()) })
            XCTAssertEqual(try PNG.decode16(PNG.encode(wide)), wide, "\(channels) channels, 16-bit")
        }
    }

    func testJPEGDecodesLikePillow() throws {
        let manifest = try ImageFixtureManifest.load()
        XCTAssertEqual(manifest.jpeg.count, 5)
        for case_ in manifest.jpeg {
            let decoded = try ImageFile.read(ImageFixtureManifest.path(case_.file))
            let expected = try PNG.read(ImageFixtureManifest.path(case_.expected))
            XCTAssertEqual(decoded.channels, case_.channels, case_.file)
            XCTAssertLessThanOrEqual(maxAbsDifference(decoded, expected, case_.file), case_.tolerance ?? 0, case_.file)
        }
    }

    func testFormatIsSniffedFromContentNotExtension() throws {
        let dir = try makeScratchDirectory(self)
        let jpeg = try Data(contentsOf: URL(fileURLWithPath: ImageFixtureManifest.path("jpeg/baseline.jpg")))
        let misnamed = dir.appendingPathComponent("really-a-jpeg.png")
        try jpeg.write(to: misnamed)
        XCTAssertEqual(try ImageFile.read(misnamed.path).channels, 3)
    }

    // MARK: - Bad input

    private func fixtureBytes(_ path: String) throws -> [UInt8] {
        [UInt8](try Data(contentsOf: URL(fileURLWithPath: ImageFixtureManifest.path(path))))
    }

    private func assertThrows(_ kind: ImageError.Kind, mentioning words: [String], file: String,
                              _ body: () throws -> Image, line: UInt = #line) {
        XCTAssertThrowsError(try body(), line: line) { error in
            guard let error = error as? ImageError else { return XCTFail("not an ImageError: \(error)", line: line) }
            XCTAssertEqual(error.kind, kind, "\(error)", line: line)
            XCTAssertTrue(error.description.contains(file), "error does not name the file: \(error)", line: line)
            for word in words {
                XCTAssertTrue(error.description.lowercased().contains(word), "'\(word)' missing from: \(error)", line: line)
            }
        }
    }

    func testTruncatedPNGThrowsAtEveryCut() throws {
        let bytes = try fixtureBytes("png/rgb8_adam7.png")
        // Cuts inside the signature, IHDR, IDAT and just before IEND's CRC.
        for cut in [4, 20, 40, bytes.count / 2, bytes.count - 20, bytes.count - 1] {
            XCTAssertThrowsError(try PNG.decode(Array(bytes[..<cut]), file: "cut.png"), "cut at \(cut)") { error in
                let e = error as? ImageError
                XCTAssertEqual(e?.kind, .truncated, "cut at \(cut): \(error)")
                XCTAssertEqual(e?.file, "cut.png")
            }
        }
    }

    func testCorruptPNGThrows() throws {
        var bytes = try fixtureBytes("png/rgb8.png")
        bytes[25] ^= 0xFF  // IHDR colour type: its CRC no longer matches
        assertThrows(.corrupt, mentioning: ["png", "crc"], file: "bad-crc.png") { try PNG.decode(bytes, file: "bad-crc.png") }

        var idat = try fixtureBytes("png/gray8.png")
        let at = idat.count - 30  // inside the deflate stream, with its CRC fixed so zlib sees the damage
        idat[at] ^= 0x5A
        fixChunkCRCs(&idat)
        XCTAssertThrowsError(try PNG.decode(idat, file: "bad-idat.png")) { error in
            XCTAssertEqual((error as? ImageError)?.file, "bad-idat.png")
        }

        assertThrows(.corrupt, mentioning: ["signature"], file: "x.png") { try PNG.decode(Array("not a png at all".utf8), file: "x.png") }
        assertThrows(.unsupported, mentioning: ["neither a png nor a jpeg"], file: "x.bin") { try ImageFile.decode([1, 2, 3, 4, 5], file: "x.bin") }
        assertThrows(.truncated, mentioning: ["empty"], file: "empty.png") { try ImageFile.decode([], file: "empty.png") }
    }

    func testHugePNGDimensionsAreRejectedBeforeAllocation() throws {
        // A valid IHDR claiming 30000 x 30000 RGBA (3.6 GB decoded) followed by no data.
        var bytes = try fixtureBytes("png/rgb8.png")
        setBigEndian(&bytes, at: 16, 30000)
        setBigEndian(&bytes, at: 20, 30000)
        fixChunkCRCs(&bytes)
        assertThrows(.tooLarge, mentioning: ["30000x30000"], file: "huge.png") { try PNG.decode(bytes, file: "huge.png") }
        // Above libpng's per-side cap as well.
        setBigEndian(&bytes, at: 16, 1_000_000)
        fixChunkCRCs(&bytes)
        XCTAssertThrowsError(try PNG.decode(bytes, file: "wide.png")) { XCTAssertEqual(($0 as? ImageError)?.file, "wide.png") }
        // And a caller's tighter limit.
        let small = try fixtureBytes("png/rgb8.png")
        assertThrows(.tooLarge, mentioning: ["37x29"], file: "s.png") {
            try PNG.decode(small, file: "s.png", limits: ImageLimits(maxDimension: 32, maxPixels: 1 << 20))
        }
    }

    func testTruncatedAndCorruptJPEGThrow() throws {
        for name in ["jpeg/baseline.jpg", "jpeg/progressive.jpg"] {
            let bytes = try fixtureBytes(name)
            for cut in [2, 100, bytes.count / 2, bytes.count - 10] {
                XCTAssertThrowsError(try JPEG.decode(Array(bytes[..<cut]), file: "cut.jpg"), "\(name) cut at \(cut)") { error in
                    let e = error as? ImageError
                    XCTAssertEqual(e?.kind, .truncated, "\(name) cut at \(cut): \(error)")
                    XCTAssertEqual(e?.file, "cut.jpg")
                }
            }
        }
        var bytes = try fixtureBytes("jpeg/baseline.jpg")
        // Find the SOF0 marker and claim 0 components: libjpeg rejects the frame header.
        let sof = try XCTUnwrap((0..<bytes.count - 1).first { bytes[$0] == 0xFF && bytes[$0 + 1] == 0xC0 })
        bytes[sof + 9] = 0
        XCTAssertThrowsError(try JPEG.decode(bytes, file: "bad-sof.jpg")) { error in
            XCTAssertEqual((error as? ImageError)?.kind, .corrupt, "\(error)")
            XCTAssertTrue("\(error)".contains("bad-sof.jpg"))
        }
        // Huge declared size: above our cap (40000 per side), then above libjpeg's own (65500).
        var huge = try fixtureBytes("jpeg/baseline.jpg")
        huge[sof + 5] = 0x9C; huge[sof + 6] = 0x40  // height 40000
        huge[sof + 7] = 0x9C; huge[sof + 8] = 0x40  // width 40000
        assertThrows(.tooLarge, mentioning: ["40000x40000"], file: "huge.jpg") { try JPEG.decode(huge, file: "huge.jpg") }
        huge[sof + 5] = 0xFF; huge[sof + 6] = 0xF0
        assertThrows(.tooLarge, mentioning: ["65500"], file: "huge.jpg") { try JPEG.decode(huge, file: "huge.jpg") }
    }

    func testUnreadableFilesNameThePath() {
        assertThrows(.unreadable, mentioning: ["no such file"], file: "/nonexistent/a.png") { try ImageFile.read("/nonexistent/a.png") }
        assertThrows(.unreadable, mentioning: ["directory"], file: "/tmp") { try PNG.read("/tmp") }
    }

    // MARK: - Helpers

    private func setBigEndian(_ bytes: inout [UInt8], at offset: Int, _ value: UInt32) {
        for i in 0..<4 { bytes[offset + i] = UInt8(truncatingIfNeeded: value >> (24 - 8 * UInt32(i))) }
    }

    /// Recomputes every chunk's CRC so a test can damage content without tripping the CRC check.
    private func fixChunkCRCs(_ bytes: inout [UInt8]) {
        var offset = 8
        while offset + 12 <= bytes.count {
            let length = Int(bytes[offset]) << 24 | Int(bytes[offset + 1]) << 16 | Int(bytes[offset + 2]) << 8 | Int(bytes[offset + 3])
            guard offset + 12 + length <= bytes.count else { return }
            let crc = crc32(bytes[(offset + 4)..<(offset + 8 + length)])
            setBigEndian(&bytes, at: offset + 8 + length, crc)
            offset += 12 + length
        }
    }

    private func crc32(_ data: ArraySlice<UInt8>) -> UInt32 {
        var crc: UInt32 = 0xFFFF_FFFF
        for byte in data {
            crc ^= UInt32(byte)
            for _ in 0..<8 { crc = crc & 1 != 0 ? (crc >> 1) ^ 0xEDB8_8320 : crc >> 1 }
        }
        return ~crc
    }
}
