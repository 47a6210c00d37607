import Foundation
import XCTest
import LatteFormats
import LatteTestSupport

/// Loaders resolve pinned assets under the caller's policy: `.requirePresent` never downloads and names
/// the fetch command; an asset already present resolves the same under either policy without fetching.
final class AssetPolicyTests: XCTestCase {
    func testRequirePresentNamesTheFetchCommandAndFetchesNothing() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("latte-policy-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: root) }
        let cache = AssetCache(root: root)
        XCTAssertThrowsError(try cache.resolve("smollm2", policy: .requirePresent)) {
            XCTAssertTrue("\($0)".contains("latte assets fetch smollm2"), "\($0)")
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: root.appendingPathComponent("smollm2").path), "nothing was fetched")
    }

    func testAPresentAssetResolvesWithoutFetching() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("latte-policy-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: root) }
        let cache = AssetCache(root: root)
        // Files placed by hand are adopted by a fetch after their hashes check out, without a download:
        // copy the digits asset from the real cache into an empty one.
        guard let asset = AssetCatalog.asset(named: "digits") else { return XCTFail("the catalog lost the digits asset") }
        let source = try PinnedAssets.require("digits")
        let folder = cache.directory(for: asset)
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        try FileManager.default.copyItem(at: source, to: folder.appendingPathComponent(source.lastPathComponent))
        var logged: [String] = []
        let fetched = try cache.resolve(asset.name, policy: .fetchIfMissing(log: { logged.append($0) }))
        XCTAssertTrue(logged.contains { $0.contains("fetching it once") }, "\(logged)")
        logged = []
        XCTAssertEqual(try cache.resolve(asset.name, policy: .fetchIfMissing(log: { logged.append($0) })), fetched)
        XCTAssertEqual(logged, [], "a present asset is not fetched again")
        XCTAssertEqual(try cache.resolve(asset.name, policy: .requirePresent), fetched)
    }
}
