import Foundation
import XCTest
import LatteTestSupport
@testable import LatteFormats

final class AssetsTests: XCTestCase {
    // MARK: SHA-256

    func testSHA256KnownVectors() {
        // FIPS 180-4 / NIST example vectors.
        XCTAssertEqual(SHA256.hash(Data()), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        XCTAssertEqual(SHA256.hash(Data("abc".utf8)), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        XCTAssertEqual(SHA256.hash(Data("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8)),
                       "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
        XCTAssertEqual(SHA256.hash(Data(repeating: UInt8(ascii: "a"), count: 1_000_000)),
                       "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
    }

    func testSHA256StreamingEqualsOneShotAtEveryPaddingBoundary() {
        var rng = SystemRandomNumberGenerator()
        let bytes = (0..<1000).map { _ in UInt8.random(in: 0...255, using: &rng) }
        for n in [0, 1, 55, 56, 57, 63, 64, 65, 119, 120, 128, 999] {
            let whole = SHA256.hash(Data(bytes[..<n]))
            var h = SHA256()
            var i = 0, step = 1
            while i < n {  // uneven chunks straddle block edges
                let j = min(n, i + step)
                h.update(Data(bytes[i..<j]))
                i = j
                step = step * 3 % 70 + 1
            }
            XCTAssertEqual(SHA256.hex(h.finalize()), whole, "length \(n)")
        }
    }

    func testSHA256OfAFileEqualsSha256sum() throws {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/sha256sum") else { throw XCTSkip("no sha256sum here") }
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("latte-sha-\(getpid()).bin")
        defer { try? FileManager.default.removeItem(at: url) }
        let size = (5 << 20) + 37  // more than one 4 MiB read
        var state: UInt32 = 2_463_534_242
        try Data((0..<size).map { _ in  // xorshift: fast reproducible bytes
            state ^= state << 13; state ^= state >> 17; state ^= state << 5
            return UInt8(truncatingIfNeeded: state)
        }).write(to: url)
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/sha256sum")
        p.arguments = [url.path]
        let pipe = Pipe()
        p.standardOutput = pipe
        try p.run()
        let out = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        let expected = String(out.prefix(64))
        var seen = 0
        XCTAssertEqual(try SHA256.hash(fileAt: url.path, progress: { seen = $0 }), expected)
        XCTAssertEqual(seen, size)
    }

    /// The folder pin: SHA-256 over `path NUL sha256 LF` lines in byte order of the paths.
    func testTreeDigestOfAFolder() throws {
        let cache = try temporaryCache()
        let dir = cache.root.appendingPathComponent("tree")
        try FileManager.default.createDirectory(at: dir.appendingPathComponent("sub"), withIntermediateDirectories: true)
        let files = [("b.png", "second"), ("a.png", "first"), ("sub/c.png", ""), ("B.png", "upper")]
        for (path, text) in files { try Data(text.utf8).write(to: dir.appendingPathComponent(path)) }
        let manifest = files.map(\.0).sorted { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }.map { path in
            path + "\u{0}" + SHA256.hash(Data(files.first { $0.0 == path }!.1.utf8)) + "\n"
        }.joined()
        let (digest, size) = try AssetTreeDigest.digest(of: dir)
        XCTAssertEqual(digest, SHA256.hash(Data(manifest.utf8)))
        XCTAssertEqual(size, files.reduce(0) { $0 + $1.1.utf8.count })
        try Data("changed".utf8).write(to: dir.appendingPathComponent("sub/c.png"))
        XCTAssertNotEqual(try AssetTreeDigest.digest(of: dir).sha256, digest)
    }

    // MARK: Catalog

    func testCatalogPinsAreWellFormed() {
        XCTAssertEqual(Set(AssetCatalog.all.map(\.name)).count, AssetCatalog.all.count)
        for name in ["smollm2", "minilm", "fashion-mnist", "fid-inception", "efficientnet-lite0", "digits", "mnist-5k", "emojione", "twemoji", "unicode-emoji", "cldr-annotations"] {
            XCTAssertNotNil(AssetCatalog.asset(named: name), name)
        }
        let hex = CharacterSet(charactersIn: "0123456789abcdef")
        for a in AssetCatalog.all {
            XCTAssertFalse(a.files.isEmpty, a.name)
            XCTAssertEqual(Set(a.files.map(\.name)).count, a.files.count, a.name)
            for f in a.files {
                XCTAssertEqual(f.sha256.count, 64, "\(a.name)/\(f.name)")
                XCTAssertTrue(f.sha256.unicodeScalars.allSatisfy(hex.contains), "\(a.name)/\(f.name)")
                XCTAssertGreaterThan(f.size, 0)
                XCTAssertFalse(f.name.hasPrefix("/") || f.name.split(separator: "/").contains(".."), f.name)
            }
        }
        XCTAssertEqual(AssetCatalog.smollm2.files[0].sha256, "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53")
        XCTAssertEqual(AssetCatalog.minilm.file(named: "model.safetensors")?.sha256, "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db")
        XCTAssertEqual(AssetCatalog.fidInception.files[0].sha256, "7ff4a85c3a6378f0dfc8433ffd789663b01176bec0a683a435651739c091fa34")
        if case .debian(_, _, let deb) = AssetCatalog.fashionMNIST.source {
            XCTAssertEqual(deb, "39e172fe32dd318ebb3e512220c3beea2fa47d7e20bab348fb4e0922d6beefc0")
        } else {
            XCTFail("fashion-mnist comes from Debian")
        }
    }

    // MARK: Cache

    func testCacheRootFollowsLatteHome() {
        XCTAssertEqual(AssetCache(environment: ["LATTE_HOME": "/data/latte", "HOME": "/home/x"]).root.path, "/data/latte")
        XCTAssertEqual(AssetCache(environment: ["HOME": "/home/x"]).root.path, "/home/x/.cache/latteflow")
        XCTAssertEqual(AssetCache(environment: ["LATTE_HOME": "", "HOME": "/home/x"]).root.path, "/home/x/.cache/latteflow")
        let cache = AssetCache(root: URL(fileURLWithPath: "/c"))
        XCTAssertEqual(try cache.path(for: "smollm2").path, "/c/smollm2/SmolLM2-135M-Instruct.Q4_1.gguf")
        XCTAssertEqual(try cache.path(for: "minilm", file: "tokenizer.json").path, "/c/minilm/tokenizer.json")
        XCTAssertThrowsError(try cache.path(for: "minilm", file: "nope.bin"))
        XCTAssertThrowsError(try cache.path(for: "no-such-asset"))
    }

    func temporaryCache() throws -> AssetCache {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("latte-cache-\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(at: root) }
        return AssetCache(root: root)
    }

    func testRequireNamesTheFetchCommandWhenAbsent() throws {
        let cache = try temporaryCache()
        XCTAssertFalse(cache.isPresent(AssetCatalog.smollm2))
        XCTAssertNil(cache.fileIfPresent(asset: "smollm2"))
        XCTAssertThrowsError(try cache.require("smollm2")) { error in
            let text = "\(error)"
            XCTAssertTrue(text.contains("latte assets fetch smollm2"), text)
            XCTAssertTrue(text.contains(cache.root.path), text)
            XCTAssertTrue(text.contains("LATTE_HOME"), text)
        }
    }

    /// The tests' policy for a missing pinned asset: a failure naming the fetch command under CI=true,
    /// a skip that says so otherwise; a file name the asset does not have is an error either way.
    func testPinnedAssetsFailUnderCIAndSkipOtherwise() throws {
        let cache = try temporaryCache()
        XCTAssertThrowsError(try PinnedAssets.require("smollm2", cache: cache, environment: ["CI": "true"])) { error in
            XCTAssertTrue(error is PinnedAssets.MissingAsset, "\(type(of: error))")
            XCTAssertTrue("\(error)".contains("latte assets fetch smollm2"), "\(error)")
        }
        for environment in [[:], ["CI": "false"]] {
            XCTAssertThrowsError(try PinnedAssets.require("fashion-mnist", cache: cache, environment: environment)) { error in
                XCTAssertTrue(error is XCTSkip, "\(environment): \(type(of: error))")
                XCTAssertTrue("\(error)".contains("latte assets fetch fashion-mnist"), "\(error)")
            }
        }
        XCTAssertTrue(PinnedAssets.isCI(["CI": "1"]))
        XCTAssertFalse(PinnedAssets.isCI([:]))
        XCTAssertThrowsError(try PinnedAssets.require("smollm2", file: "nope.gguf", cache: cache, environment: [:])) { error in
            XCTAssertTrue(error is AssetError, "\(type(of: error))")
        }
        XCTAssertThrowsError(try PinnedAssets.require("no-such-asset", cache: cache, environment: [:])) { error in
            XCTAssertTrue(error is PinnedAssets.MissingAsset, "\(type(of: error))")
        }
    }

    /// A fetch that fails is tried again `retries` times, waiting twice as long each time, and the last
    /// error is the one thrown; one that succeeds on a retry returns its value.
    func testFetchRetriesWithGrowingWaitsThenGivesUp() throws {
        struct Unreachable: Error {}
        var lines = [String](), waits = [Double](), calls = 0
        XCTAssertThrowsError(try AssetFetcher.retrying(2, delay: 10, log: { lines.append($0) }, sleep: { waits.append($0) }) {
            calls += 1
            throw Unreachable()
        }) { XCTAssertTrue($0 is Unreachable) }
        XCTAssertEqual(calls, 3)
        XCTAssertEqual(waits, [10, 20])
        XCTAssertEqual(lines.count, 2)
        XCTAssertTrue(lines[0].hasPrefix("attempt 1 of 3 failed"), lines[0])
        XCTAssertTrue(lines[1].contains("trying again in 20 s"), lines[1])

        calls = 0
        waits = []
        let value = try AssetFetcher.retrying(2, delay: 10, log: { _ in }, sleep: { waits.append($0) }) { () throws -> Int in
            calls += 1
            if calls < 2 { throw Unreachable() }
            return 7
        }
        XCTAssertEqual([value, calls], [7, 2])
        XCTAssertEqual(waits, [10])
        XCTAssertThrowsError(try AssetFetcher.retrying(0, delay: 10, log: { _ in XCTFail("no retry") }, sleep: { _ in XCTFail("no wait") }) {
            throw Unreachable()
        })
    }

    /// Files placed by hand with the pinned hashes are adopted without any download, a second fetch
    /// does nothing, and a corrupted file is caught by `verify` with both hashes in the message.
    func testAdoptionIdempotenceAndHashMismatch() throws {
        let cache = try temporaryCache()
        let content = Data("tiny asset payload\n".utf8)
        let asset = Asset(name: "tiny", summary: "test", licence: "none",
                          source: .pypi(package: "latte-no-such-package", version: "0"),
                          files: [AssetFile("payload.txt", inner: "x/payload.txt", sha256: SHA256.hash(content), size: content.count)])
        let folder = cache.directory(for: asset)
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        try content.write(to: folder.appendingPathComponent("payload.txt"))
        XCTAssertFalse(cache.isPresent(asset))

        var lines = [String]()
        let fetcher = AssetFetcher(cache: cache, log: { lines.append($0) })
        XCTAssertEqual(try fetcher.fetch(asset), .adopted)
        XCTAssertTrue(cache.isPresent(asset))
        XCTAssertEqual(try fetcher.fetch(asset), .alreadyPresent)
        XCTAssertTrue(lines.last?.contains("not fetched again") ?? false, lines.joined(separator: "\n"))
        XCTAssertNoThrow(try fetcher.verify(asset))

        // Same size, different bytes: only hashing notices.
        var bad = content
        bad[0] ^= 1
        try bad.write(to: folder.appendingPathComponent("payload.txt"))
        XCTAssertTrue(cache.isPresent(asset))
        XCTAssertThrowsError(try fetcher.verify(asset)) { error in
            let text = "\(error)"
            XCTAssertTrue(text.contains(asset.files[0].sha256), text)
            XCTAssertTrue(text.contains(SHA256.hash(bad)), text)
            XCTAssertTrue(text.contains("latte assets fetch --force tiny"), text)
        }
        // A changed pin makes the cached copy stale.
        let repinned = Asset(name: "tiny", summary: "test", licence: "none", source: .pypi(package: "latte-no-such-package", version: "1"),
                             files: asset.files)
        XCTAssertFalse(cache.isPresent(repinned))
    }
}
