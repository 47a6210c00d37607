import Foundation

/// What a loader may do when a pinned asset it needs is not in the cache yet. Loaders never fetch
/// behind the caller's back: a library user or a server chooses, a command line usually fetches.
public enum AssetPolicy {
    /// Throw the cache's error, which names the `latte assets fetch NAME` command.
    case requirePresent
    /// Fetch it (hash-checked, as `latte assets fetch`), reporting what happens through `log`.
    case fetchIfMissing(log: (String) -> Void)

    /// The file or folder of asset `name`, fetched first when missing and the policy allows it.
    public func resolve(_ name: String, cache: AssetCache = AssetCache()) throws -> URL {
        if case .fetchIfMissing(let log) = self, let asset = AssetCatalog.asset(named: name), !cache.isPresent(asset) {
            log("the asset '\(asset.name)' is not in the cache yet: fetching it once (\(AssetFetcher.sizeText(asset.totalSize)))")
            _ = try AssetFetcher(cache: cache, log: log).fetch(asset)
        }
        return try cache.require(name)
    }
}
