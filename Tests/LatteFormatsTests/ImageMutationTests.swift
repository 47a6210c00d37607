import Foundation
import XCTest
@testable import LatteFormats

/// Seeded random damage to every PNG and JPEG fixture: each decode must either succeed with a sane
/// image or throw an ImageError naming the file; a crash, hang or runaway allocation fails the run.
/// (A cheap, always-on complement to the libFuzzer runs.)
final class ImageMutationTests: XCTestCase {
    private let limits = ImageLimits(maxDimension: 4096, maxPixels: 1 << 22)

    private func mutate(_ bytes: [UInt8], _ rng: inout SplitMix64) -> [UInt8] {
        var out = bytes
        switch rng.next(below: 5) {
        case 0:  // flip a few random bytes
            for _ in 0...rng.next(below: 4) { out[rng.next(below: out.count)] ^= UInt8(truncatingIfNeeded: rng.next() | 1) }
        case 1:  // truncate
            out = Array(out.prefix(rng.next(below: out.count)))
        case 2:  // overwrite a run with a marker-like byte
            let at = rng.next(below: out.count), n = min(out.count - at, 1 + rng.next(below: 16))
            for i in at..<(at + n) { out[i] = [0x00, 0xFF, 0x7F][rng.next(below: 3)] }
        case 3:  // duplicate a slice (repeated chunks / scans)
            let at = rng.next(below: out.count), n = min(out.count - at, 1 + rng.next(below: 64))
            out.insert(contentsOf: out[at..<(at + n)], at: at)
        default:  // damage the header region, where sizes and tables live
            for _ in 0...rng.next(below: 3) { out[rng.next(below: min(out.count, 200))] = UInt8(truncatingIfNeeded: rng.next()) }
        }
        return out
    }

    func testDamagedFilesNeverCrash() throws {
        let manifest = try ImageFixtureManifest.load()
        let files = manifest.png.map(\.file) + manifest.jpeg.map(\.file)
        var rng = SplitMix64(seed: 2026)
        var decoded = 0, rejected = 0
        for file in files {
            let original = [UInt8](try Data(contentsOf: URL(fileURLWithPath: ImageFixtureManifest.path(file))))
            // LATTE_MUTATION_ROUNDS raises the count for a longer local campaign.
            let rounds = Int(ProcessInfo.processInfo.environment["LATTE_MUTATION_ROUNDS"] ?? "") ?? 150
            for _ in 0..<rounds {
                let damaged = mutate(original, &rng)
                do {
                    let image = try ImageFile.decode(damaged, file: "mutant-\(file)", limits: limits)
                    XCTAssertEqual(image.pixels.count, image.width * image.height * image.channels)
                    decoded += 1
                } catch let error as ImageError {
                    XCTAssertEqual(error.file, "mutant-\(file)")
                    XCTAssertFalse(error.message.isEmpty)
                    rejected += 1
                }
            }
        }
        print("mutated image files: \(decoded) decoded, \(rejected) rejected with ImageError")
        XCTAssertGreaterThan(rejected, files.count * 50)
    }

    func testProgressiveScanFloodIsCut() throws {
        let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: ImageFixtureManifest.path("jpeg/progressive.jpg"))))
        // The last scan runs from the last SOS marker (FF DA) to EOI (FF D9); repeat it 1200 times.
        let sos = try XCTUnwrap((0..<(bytes.count - 1)).last { bytes[$0] == 0xFF && bytes[$0 + 1] == 0xDA })
        let scan = bytes[sos..<(bytes.count - 2)]
        var flood = Array(bytes[..<sos])
        for _ in 0..<1200 { flood += scan }
        flood += [0xFF, 0xD9]
        XCTAssertThrowsError(try JPEG.decode(flood, file: "flood.jpg")) { error in
            XCTAssertTrue("\(error)".contains("flood.jpg: JPEG: more than 1000 progressive scans"), "\(error)")
        }
    }
}
