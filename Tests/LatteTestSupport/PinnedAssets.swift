import Foundation
import LatteFormats
import XCTest

/// Pinned real assets (weights, data sets) in tests, one policy for every test target.
///
/// A test that needs an asset asks `PinnedAssets.require`. When the asset is in the cache it gets the
/// file's path. When it is not, the test **fails** under `CI=true` (CI fetched the assets first, so a
/// missing one is a broken run) and is **skipped** otherwise, with a message that says it was skipped
/// and names the command that fetches it. The README's test command fetches every pinned asset before
/// `swift test`, so a machine that runs it skips nothing.
public enum PinnedAssets {
    /// Whether a missing asset fails the test: `CI` set to `true` or `1` (any case).
    public static var isCI: Bool {
        isCI(ProcessInfo.processInfo.environment)
    }

    public static func isCI(_ environment: [String: String]) -> Bool {
        guard let value = environment["CI"]?.lowercased() else { return false }
        return value == "true" || value == "1"
    }

    /// The path of `file` (default: the first) of the pinned asset `name`, or the skip / failure above.
    public static func require(_ name: String, file: String? = nil, cache: AssetCache = AssetCache(),
                               environment: [String: String] = ProcessInfo.processInfo.environment,
                               sourceFile: StaticString = #filePath, line: UInt = #line) throws -> URL {
        guard let asset = AssetCatalog.asset(named: name) else {
            throw MissingAsset(description: "'\(name)' is not a pinned asset (known: \(AssetCatalog.all.map(\.name).joined(separator: ", ")))")
        }
        // A file name the asset does not have is an error in the test, present or not.
        let url = try cache.path(for: asset, file: file)
        if cache.isPresent(asset) { return url }
        let fetch = "swift run -c release \(AssetCache.fetchCommand([name]))"
        let whereabouts = "not in the asset cache \(cache.root.path) (\(AssetCache.environmentVariable))"
        if isCI(environment) {
            throw MissingAsset(description: "pinned asset '\(name)' is \(whereabouts) and CI=true, so this test fails instead of skipping. Fetch it with `latte assets fetch \(name)` (from a checkout: `\(fetch)`); the README's test command fetches every asset first.")
        }
        throw XCTSkip("skipped, not passed: needs pinned asset '\(name)', which is \(whereabouts). Fetch it with `\(fetch)`, or run the README's test command, which fetches every asset first; under CI=true this test fails.",
                      file: sourceFile, line: line)
    }

    /// A missing asset under `CI=true`: thrown from a test, it fails it (an XCTSkip would not).
    public struct MissingAsset: Error, CustomStringConvertible {
        public let description: String
    }
}
