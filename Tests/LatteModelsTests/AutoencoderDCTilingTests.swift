import Foundation
import XCTest
import LatteNN
import LatteTensor
@testable import LatteModels

/// AutoencoderDC's tiled encode/decode: parity with diffusers' tiled_encode/tiled_decode
/// (scripts/make_autoencoder_dc_tiling_fixtures.py), closeness to the whole decode, the stitching
/// mechanics, the bound on what the decoder sees, and bad tilings.
final class AutoencoderDCTilingTests: XCTestCase {
    private func maxDifference(_ a: Tensor, _ b: Tensor, file: StaticString = #filePath, line: UInt = #line) -> Float {
        XCTAssertEqual(a.shape, b.shape, file: file, line: line)
        return zip(a.toArray(), b.toArray()).reduce(0) { Swift.max($0, Swift.abs($1.0 - $1.1)) }
    }

    private func meanDifference(_ a: Tensor, _ b: Tensor) -> Float {
        zip(a.toArray(), b.toArray()).reduce(Float(0)) { $0 + Swift.abs($1.0 - $1.1) } / Float(a.count)
    }

    /// dc_resvit (f = 4) with 32-pixel tiles at stride 24 on a 14×13 latent / 56×52 image: rows and
    /// columns end in short tiles, the corner tile (2×1 latent pixels) takes the quadratic attention
    /// path, the others the linear one. Same tiles, same blends as diffusers, to fp32 rounding.
    func testTiledDecodeAndEncodeMatchDiffusers() throws {
        let model = try AutoencoderDC.load(directory: AutoencoderDCParityTests.folder("dc_resvit"))
        let io = try AutoencoderDCParityTests.io("dc_tiling")
        let tiling = AutoencoderDCTiling(tileSize: 32, stride: 24)
        let z = try XCTUnwrap(io["latent"]), x = try XCTUnwrap(io["image"])
        let dDecode = maxDifference(try model.tiledDecode(z, tiling: tiling), try XCTUnwrap(io["decoded_tiled"]))
        let dEncode = maxDifference(try model.tiledEncode(x, tiling: tiling), try XCTUnwrap(io["encoded_tiled"]))
        XCTAssertLessThan(maxDifference(model.decode(z), try XCTUnwrap(io["decoded_whole"])), 1e-4)
        print("AutoencoderDC tiling vs diffusers: max |diff| decode \(dDecode), encode \(dEncode)")
        XCTAssertLessThan(dDecode, 1e-4)
        XCTAssertLessThan(dEncode, 1e-4)
        // Non-square tiles give the same output size and stay finite.
        let odd = try model.tiledDecode(z, tiling: AutoencoderDCTiling(tileHeight: 24, tileWidth: 40, strideHeight: 16, strideWidth: 36))
        XCTAssertEqual(odd.shape, [1, 3, 56, 52])
        XCTAssertTrue(odd.toArray().allSatisfy { $0.isFinite })
    }

    /// A residual-only DC-AE (no attention: every layer is local) decodes a latent of 4×4 tiles
    /// within a measured distance of the whole decode; a tile covering the latent is the whole decode
    /// bit for bit, and without overlap each output block is exactly its own tile's decode.
    func testTiledDecodeIsCloseToWholeDecode() throws {
        var c = AutoencoderDCConfiguration()
        c.latentChannels = 4
        c.attentionHeadDim = 8
        c.encoderBlockOutChannels = [8, 16, 16]
        c.decoderBlockOutChannels = [8, 16, 16]
        c.encoderLayersPerBlock = [1, 1, 1]
        c.decoderLayersPerBlock = [1, 1, 1]
        c.encoderQkvMultiscales = [[], [], []]
        c.decoderQkvMultiscales = [[], [], []]
        let model = try AutoencoderDC(c, seed: 11)
        var g = RandomGenerator(seed: 3)
        let z = Tensor.normal([1, 4, 36, 36], generator: &g)
        let whole = model.decode(z)
        // 64-pixel tiles (16 latent) at stride 48 (12 latent): 3 tiles per side, 16-pixel blends.
        let tiled = try model.tiledDecode(z, tiling: AutoencoderDCTiling(tileSize: 64, stride: 48))
        let maxDiff = maxDifference(tiled, whole), meanDiff = meanDifference(tiled, whole)
        let values = whole.toArray()
        let mean = values.reduce(0, +) / Float(values.count)
        let std = (values.reduce(Float(0)) { $0 + ($1 - mean) * ($1 - mean) } / Float(values.count)).squareRoot()
        print("AutoencoderDC tiled vs whole decode (residual-only, random): max |diff| \(maxDiff), mean |diff| \(meanDiff), output std \(std)")
        let exact = zip(tiled.toArray(), values).filter { Swift.abs($0.0 - $0.1) <= 1e-5 }.count
        print("  pixels equal to the whole decode within 1e-5: \(exact) of \(values.count)")
        // Measured: mean 0.017 (3.6 % of std), worst pixel 0.48 (≈ 1 std, at a seam), 30 % of the
        // pixels equal; the bounds leave room for other seeds.
        XCTAssertLessThan(meanDiff, 0.06 * std)
        XCTAssertLessThan(maxDiff, 1.5 * std)
        XCTAssertGreaterThan(exact, values.count / 5, "tile interiors beyond the receptive field must equal the whole decode")
        XCTAssertGreaterThan(std, 0.05, "the decode must not be trivially flat")

        XCTAssertEqual(try model.tiledDecode(z, tiling: AutoencoderDCTiling(tileSize: 144, stride: 48)).toArray(), whole.toArray())
        let abutting = try model.tiledDecode(z, tiling: AutoencoderDCTiling(tileSize: 32, stride: 32))
        let block = model.decode(z.sliced(axis: 2, 8..<16).sliced(axis: 3, 32..<36))
        XCTAssertEqual(abutting.sliced(axis: 2, 32..<64).sliced(axis: 3, 128..<144).contiguous().toArray(), block.toArray())
    }

    /// The stitching alone: with a pointwise map (×2, then nearest 2× upsampling by the layout's
    /// scale) overlapping tiles agree where they overlap, so blending must reproduce the whole map.
    func testStitchingReproducesAPointwiseMap() throws {
        var g = RandomGenerator(seed: 9)
        let x = Tensor.normal([2, 3, 11, 7], generator: &g)
        let layout = TiledApplication.Layout(tileHeight: 4, tileWidth: 3, strideHeight: 3, strideWidth: 2)
        let tiled = TiledApplication.apply(x, layout: layout, up: 1, down: 1, blendHeight: 1, blendWidth: 1) { $0 * 2 }
        XCTAssertLessThan(maxDifference(tiled, x * 2), 1e-6)
    }

    /// The decoder only ever sees latent tiles no larger than the tile (its activations, the bulk of
    /// the memory, scale with the tile), one call per tile.
    func testDecoderSeesOnlyTiles() throws {
        let model = try AutoencoderDC.load(directory: AutoencoderDCParityTests.folder("dc_resvit"))
        var g = RandomGenerator(seed: 4)
        let z = Tensor.normal([1, 4, 30, 17], generator: &g)
        var seen: [[Int]] = []
        let layout = TiledApplication.Layout(tileHeight: 8, tileWidth: 8, strideHeight: 6, strideWidth: 6)
        let out = TiledApplication.apply(z, layout: layout, up: 4, down: 1, blendHeight: 8, blendWidth: 8) { tile in
            seen.append(tile.shape)
            return model.decode(tile)
        }
        XCTAssertEqual(out.shape, [1, 3, 120, 68])
        XCTAssertEqual(seen.count, 5 * 3)
        XCTAssertTrue(seen.allSatisfy { $0[2] <= 8 && $0[3] <= 8 }, "\(seen)")
        let api = try model.tiledDecode(z, tiling: AutoencoderDCTiling(tileSize: 32, stride: 24))
        XCTAssertEqual(api.toArray(), out.toArray())
    }

    func testBadTilingsAreNamed() throws {
        let model = try AutoencoderDC.load(directory: AutoencoderDCParityTests.folder("dc_resvit"))
        let z = Tensor.zeros([1, 4, 12, 12])
        XCTAssertThrowsError(try model.tiledDecode(z, tiling: AutoencoderDCTiling(tileSize: 32, stride: 22))) {
            XCTAssertTrue("\($0)".contains("stride height 22 must be a positive multiple of 4"), "\($0)")
        }
        XCTAssertThrowsError(try model.tiledDecode(z, tiling: AutoencoderDCTiling(tileSize: 16, stride: 24))) {
            XCTAssertTrue("\($0)".contains("exceeds tile"), "\($0)")
        }
        XCTAssertThrowsError(try model.tiledEncode(Tensor.zeros([1, 3, 30, 32]), tiling: AutoencoderDCTiling(tileSize: 16, stride: 12))) {
            XCTAssertTrue("\($0)".contains("multiple of 4"), "\($0)")
        }
        XCTAssertThrowsError(try model.tiledDecode(Tensor.zeros([1, 5, 12, 12]))) {
            XCTAssertTrue("\($0)".contains("latents"), "\($0)")
        }
    }
}
