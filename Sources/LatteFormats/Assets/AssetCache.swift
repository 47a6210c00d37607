import Foundation

public struct AssetError: Error, CustomStringConvertible, LocalizedError, Sendable {
    public let asset: String
    public let message: String

    public init(asset: String, _ message: String) {
        self.asset = asset
        self.message = message
    }

    public var description: String { "asset '\(asset)': \(message)" }
    public var errorDescription: String? { description }
}

/// The folder of fetched assets: `$LATTE_HOME` (default `~/.cache/latteflow`), one sub-folder per asset
/// (`smollm2/SmolLM2-135M-Instruct.Q4_1.gguf`, `minilm/tokenizer.json`, …).
///
/// An asset counts as present when its folder holds the marker written after every file's sha256
/// matched the catalog, and each file still has its pinned size. Checking that costs a few `stat`s,
/// so tests and loaders can ask freely; `AssetFetcher.verify` re-hashes when in doubt.
public struct AssetCache: Sendable {
    public static let environmentVariable = "LATTE_HOME"
    static let markerName = ".latte-verified.json"

    public let root: URL

    public init(root: URL? = nil, environment: [String: String] = ProcessInfo.processInfo.environment) {
        if let root {
            self.root = root
        } else if let home = environment[Self.environmentVariable], !home.isEmpty {
            self.root = URL(fileURLWithPath: home, isDirectory: true)
        } else {
            let user = environment["HOME"].map { URL(fileURLWithPath: $0, isDirectory: true) }
                ?? FileManager.default.homeDirectoryForCurrentUser
            self.root = user.appendingPathComponent(".cache/latteflow", isDirectory: true)
        }
    }

    /// The command that installs `asset`, quoted in every "missing" message.
    public static func fetchCommand(_ names: [String]) -> String {
        "latte assets fetch \(names.joined(separator: " "))"
    }

    public func directory(for asset: Asset) -> URL {
        root.appendingPathComponent(asset.name, isDirectory: true)
    }

    /// Where `file` of `asset` lives (or will live) in the cache; the first file when `file` is nil.
    public func path(for asset: Asset, file: String? = nil) throws -> URL {
        guard let f = file.map({ asset.file(named: $0) }) ?? asset.files.first else {
            throw AssetError(asset: asset.name, "has no file '\(file ?? "")' (files: \(asset.files.map(\.name).joined(separator: ", ")))")
        }
        return directory(for: asset).appendingPathComponent(f.name)
    }

    public func path(for name: String, file: String? = nil) throws -> URL {
        try path(for: try Self.asset(named: name), file: file)
    }

    public func isPresent(_ asset: Asset) -> Bool {
        guard let marker = try? readMarker(asset), marker == Marker(asset) else { return false }
        return asset.files.allSatisfy { f in
            let p = directory(for: asset).appendingPathComponent(f.name).path
            return (try? FileManager.default.attributesOfItem(atPath: p)[.size] as? Int) == f.size
        }
    }

    /// The path of `file` (default: the first) of a present asset, or an error saying how to fetch it.
    public func require(_ name: String, file: String? = nil) throws -> URL {
        let asset = try Self.asset(named: name)
        let url = try path(for: asset, file: file)
        guard isPresent(asset) else {
            throw AssetError(asset: name, "not in the asset cache at \(directory(for: asset).path) (set \(Self.environmentVariable) to use another folder). Fetch it with `\(Self.fetchCommand([name]))` (from a source checkout: `swift run -c release \(Self.fetchCommand([name]))`); it downloads \(AssetFetcher.sizeText(asset.totalSize)) from \(asset.source).")
        }
        return url
    }

    /// The path when the asset is present, nil otherwise (for tests that skip without it).
    public func fileIfPresent(asset name: String, file: String? = nil) -> URL? {
        guard let asset = AssetCatalog.asset(named: name), isPresent(asset) else { return nil }
        return try? path(for: asset, file: file)
    }

    static func asset(named name: String) throws -> Asset {
        guard let a = AssetCatalog.asset(named: name) else {
            throw AssetError(asset: name, "unknown; known assets: \(AssetCatalog.all.map(\.name).joined(separator: ", "))")
        }
        return a
    }

    // MARK: Marker

    /// What was verified, so a changed pin (new version or hash) makes the cached copy stale.
    struct Marker: Codable, Equatable {
        struct File: Codable, Equatable {
            var name: String
            var sha256: String
            var size: Int
        }
        var source: String
        var files: [File]

        init(_ asset: Asset) {
            source = asset.source.description
            files = asset.files.map { File(name: $0.name, sha256: $0.sha256, size: $0.size) }
        }
    }

    func readMarker(_ asset: Asset) throws -> Marker {
        let data = try Data(contentsOf: directory(for: asset).appendingPathComponent(Self.markerName))
        return try JSONDecoder().decode(Marker.self, from: data)
    }

    static func writeMarker(_ asset: Asset, in folder: URL) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try encoder.encode(Marker(asset)).write(to: folder.appendingPathComponent(markerName), options: .atomic)
    }
}
