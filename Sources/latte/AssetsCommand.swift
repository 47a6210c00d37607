import ArgumentParser
import Foundation
import LatteFormats

/// `latte assets fetch|list|path|verify`: the pinned real weights and data sets (see docs/assets.md).
struct AssetsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "assets",
        abstract: "Fetch, list and locate the pinned model weights and data sets ($LATTE_HOME, default ~/.cache/latteflow).",
        subcommands: [Fetch.self, List.self, Path.self, Verify.self])

    static func assets(_ names: [String]) throws -> [Asset] {
        if names.isEmpty { return AssetCatalog.all }
        return try names.map { name in
            guard let a = AssetCatalog.asset(named: name) else {
                throw ValidationError("unknown asset '\(name)'; known: \(AssetCatalog.all.map(\.name).joined(separator: ", "))")
            }
            return a
        }
    }

    struct Fetch: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Download, verify (sha256) and install assets; all of them when none is named. Idempotent.")

        @Argument(help: "Asset names (see `latte assets list`).") var names: [String] = []
        @Flag(help: "Download again even when a verified copy is present.") var force = false
        @Option(help: "Times to try an asset again after a failed fetch (10 s, then twice as long each time).")
        var retries = 2

        func validate() throws {
            guard retries >= 0 else { throw ValidationError("--retries must be 0 or more") }
        }

        func run() throws {
            let assets = try AssetsCommand.assets(names)
            // Flushed line by line: pip and apt-get write to the same standard output between our lines.
            let say: (String) -> Void = { line in print(line); fflush(stdout) }
            let fetcher = AssetFetcher(log: say)
            var failures = [String]()
            for (i, asset) in assets.enumerated() {
                say("(\(i + 1)/\(assets.count)) \(asset.name): \(asset.summary)")
                do {
                    try fetcher.fetch(asset, force: force, retries: retries)
                } catch {
                    FileHandle.standardError.write(Data("error: \(error)\n".utf8))
                    failures.append(asset.name)
                }
            }
            if !failures.isEmpty {
                FileHandle.standardError.write(Data("could not fetch: \(failures.joined(separator: ", ")) (see the messages above)\n".utf8))
                throw ExitCode.failure
            }
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the pinned assets and whether each is present.")

        func run() {
            let cache = AssetCache()
            print("cache: \(cache.root.path)")
            for a in AssetCatalog.all {
                let state = cache.isPresent(a) ? "present" : "absent "
                print("\(state)  \(a.name.padding(toLength: max(14, AssetCatalog.all.map(\.name.count).max() ?? 0), withPad: " ", startingAt: 0)) \(AssetFetcher.sizeText(a.totalSize).padding(toLength: 9, withPad: " ", startingAt: 0)) \(a.source)  [\(a.licence)]")
                print("         \(a.summary)")
            }
        }
    }

    struct Path: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print where an asset's file is installed; fails with the fetch command when it is absent.")

        @Argument(help: "Asset name.") var name: String
        @Argument(help: "File name within the asset (default: its first file).") var file: String?

        func run() throws {
            print(try AssetCache().require(name, file: file).path)
        }
    }

    struct Verify: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Re-hash installed assets against their pinned sha256.")

        @Argument(help: "Asset names (default: every present asset).") var names: [String] = []

        func run() throws {
            let cache = AssetCache()
            let fetcher = AssetFetcher(cache: cache)
            for a in try AssetsCommand.assets(names) where !names.isEmpty || cache.isPresent(a) {
                _ = try cache.require(a.name)
                try fetcher.verify(a)
            }
        }
    }
}
