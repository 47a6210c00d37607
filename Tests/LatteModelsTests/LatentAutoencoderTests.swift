import Foundation
import XCTest
import LatteModels
import LatteNN
import LatteTensor

/// `LatentAutoencoder` and `loadAutoencoder(directory:)`: a folder loads as the family its config.json
/// names, each family's scaled encode/decode is its own encode/decode with its latent scaling, and
/// anything else is refused with a message naming the file.
final class LatentAutoencoderTests: XCTestCase {
    var dir: URL!
    override func setUpWithError() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("latte-latent-ae-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }

    static func fixture(_ name: String) -> URL {
        Bundle.module.url(forResource: "Fixtures", withExtension: nil)!.appendingPathComponent("autoencoders").appendingPathComponent(name)
    }

    func testTheLoaderPicksTheFamilyTheConfigNames() throws {
        let dc = try loadAutoencoder(directory: Self.fixture("dc_resvit"))
        XCTAssertTrue(dc is AutoencoderDC)
        XCTAssertEqual([dc.imageChannels, dc.latentChannels, dc.downsamplingFactor], [3, 4, 4])
        XCTAssertEqual(dc.scalingFactor, 0.41407)
        XCTAssertEqual(dc.shiftFactor, 0)
        let kl = try loadAutoencoder(directory: Self.fixture("kl_noquant_shift"))
        XCTAssertTrue(kl is AutoencoderKL)
        let c = (kl as! AutoencoderKL).configuration
        XCTAssertEqual([kl.imageChannels, kl.latentChannels, kl.downsamplingFactor], [c.inChannels, c.latentChannels, c.downsamplingFactor])
        XCTAssertEqual(kl.scalingFactor, c.scalingFactor)
        XCTAssertEqual(kl.shiftFactor, try XCTUnwrap(c.shiftFactor), "the fixture has a shift")
    }

    /// KL: the posterior mean through (z − shift)·scale; DC: the encoder's output times the scale.
    /// decodeScaled inverts the scaling before decoding.
    func testScaledEncodeAndDecodeAreTheFamilysOwnWithItsScaling() throws {
        var g = RandomGenerator(seed: 3)
        let kl = try AutoencoderKL.load(directory: Self.fixture("kl_noquant_shift"))
        let c = kl.configuration
        let x = Tensor.normal([2, c.inChannels, 16, 16], std: 0.5, generator: &g)
        let mean = kl.encode(x).mean
        assertClose(kl.encodeScaled(x), (mean - c.shiftFactor!) * c.scalingFactor, tolerance: 1e-5)
        assertClose(kl.decodeScaled(kl.encodeScaled(x)), kl.decode(mean), tolerance: 1e-4)

        let dc = try AutoencoderDC.load(directory: Self.fixture("dc_resvit"))
        let y = Tensor.normal([2, 3, 16, 16], std: 0.5, generator: &g)
        let z = dc.encode(y)
        XCTAssertEqual(dc.encodeScaled(y).shape, [2, 4, 4, 4])
        assertClose(dc.encodeScaled(y), z * 0.41407, tolerance: 1e-5)
        assertClose(dc.decodeScaled(dc.encodeScaled(y)), dc.decode(z), tolerance: 1e-4)
    }

    /// A model saved through the protocol loads back as the same family with the same outputs.
    func testSavingThroughTheProtocolRoundTrips() throws {
        let models: [any LatentAutoencoder] = [try AutoencoderDC.load(directory: Self.fixture("dc_in")),
                                               try AutoencoderKL.load(directory: Self.fixture("kl_quant"))]
        var g = RandomGenerator(seed: 5)
        for (i, model) in models.enumerated() {
            let folder = dir.appendingPathComponent("ae\(i)")
            try model.save(directory: folder)
            XCTAssertEqual(try AutoencoderFolder.className(in: folder), model.className)
            let loaded = try loadAutoencoder(directory: folder)
            XCTAssertEqual(loaded.className, model.className)
            let x = Tensor.normal([1, model.imageChannels, 16, 16], std: 0.5, generator: &g)
            XCTAssertEqual(loaded.encodeScaled(x).toArray(), model.encodeScaled(x).toArray(), model.className)
        }
    }

    private func assertClose(_ a: Tensor, _ b: Tensor, tolerance: Float, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(a.shape, b.shape, file: file, line: line)
        let worst = zip(a.toArray(), b.toArray()).map { Swift.abs($0 - $1) }.max() ?? 0
        XCTAssertLessThanOrEqual(worst, tolerance, file: file, line: line)
    }

    func testOtherFoldersAreRefusedNamingTheFileAndTheClass() throws {
        func expectError(_ contents: String?, _ needles: [String], line: UInt = #line) {
            let folder = dir.appendingPathComponent(UUID().uuidString)
            try? FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            if let contents { try? Data(contents.utf8).write(to: folder.appendingPathComponent("config.json")) }
            XCTAssertThrowsError(try loadAutoencoder(directory: folder), line: line) { error in
                for needle in needles + ["config.json"] { XCTAssertTrue("\(error)".contains(needle), "\(error) lacks \(needle)", line: line) }
            }
        }
        expectError(nil, ["no such file"])
        expectError("{not json", ["not a readable JSON"])
        expectError("[1, 2]", ["not a JSON object"])
        expectError(#"{"in_channels": 3}"#, ["_class_name", "AutoencoderKL, AutoencoderDC"])
        expectError(#"{"_class_name": "AutoencoderTiny"}"#, ["AutoencoderTiny", "AutoencoderKL, AutoencoderDC"])
        // The family's own loader still reports a missing weights file.
        let folder = dir.appendingPathComponent("no-weights")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        try FileManager.default.copyItem(at: Self.fixture("dc_in").appendingPathComponent("config.json"), to: folder.appendingPathComponent("config.json"))
        XCTAssertThrowsError(try loadAutoencoder(directory: folder)) { XCTAssertTrue("\($0)".contains(AutoencoderFolder.weightsFileName), "\($0)") }
    }
}
