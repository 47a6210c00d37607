import Foundation

/// What a loader does when a pinned asset it needs is not in the cache: the caller chooses, so a
/// library never downloads behind a front end's back.
public enum AssetPolicy {
    /// Throw the error that says how to fetch it (`latte assets fetch NAME`).
    case requirePresent
    /// Fetch it (every file sha256-checked by `AssetFetcher`), telling `log` what happens.
    case fetchIfMissing(log: (String) -> Void)
}

extension AssetCache {
    /// The path of `file` (default: the first) of the asset `name`, fetched first when missing and the
    /// policy allows it.
    public func resolve(_ name: String, file: String? = nil, policy: AssetPolicy) throws -> URL {
        let asset = try Self.asset(named: name)
        if case .fetchIfMissing(let log) = policy, !isPresent(asset) {
            log("the asset '\(name)' is not in the cache at \(root.path) yet: fetching it once (\(AssetFetcher.sizeText(asset.totalSize)))")
            try AssetFetcher(cache: self, log: log).fetch(asset)
        }
        return try require(name, file: file)
    }
}
