import Foundation
import HTTPTypes
import Hummingbird

/// `GET /` and `GET /web/{file}`: the web page (docs/serving.md), plain HTML, CSS and JavaScript from
/// `Sources/LatteServe/Web/`, copied into the build as a SwiftPM resource and read once at start.
///
/// These are open without the API key: the page holds no secret (the key is typed into it and sent
/// by its own API calls, which the key guards like any other client's), and a browser loading a page
/// cannot send a Bearer header anyway.
struct WebRoutes {
    /// The files the page is made of and their content types; nothing else in the folder is served.
    static let contentTypes = [
        "index.html": "text/html; charset=utf-8",
        "app.css": "text/css; charset=utf-8",
        "app.js": "text/javascript; charset=utf-8",
    ]

    /// The page's files (name → bytes), or why they could not be read.
    let files: Result<[String: Data], ServeError>

    init(folder: URL? = WebRoutes.locateFolder()) {
        files = Self.read(folder)
    }

    /// Requests that need no API key: GET of the page and its files (the API stays guarded).
    static func isOpen(method: HTTPRequest.Method, path: String) -> Bool {
        method == .get && (path == "/" || path == "/index.html" || path.hasPrefix("/web/"))
    }

    func add(to router: Router<BasicRequestContext>) {
        router.get("/") { _, _ in try serve("index.html") }
        router.get("/index.html") { _, _ in try serve("index.html") }
        router.get("/web/:file") { _, context in try serve(try context.parameters.require("file")) }
    }

    private func serve(_ name: String) throws -> Response {
        guard let type = Self.contentTypes[name] else { throw APIError.notFound("no web page file '\(name)'") }
        let files: [String: Data]
        switch self.files {
        case .success(let f): files = f
        case .failure(let e): throw APIError(.internalServerError, e.description, type: "server_error", code: "web_page_missing")
        }
        guard let data = files[name] else { throw APIError.notFound("no web page file '\(name)'") }
        return Response(status: .ok, headers: [
            .contentType: type,
            .cacheControl: "no-cache",
            // Same-origin API calls only, no inline script, images from the server's own data: URLs.
            .contentSecurityPolicy: "default-src 'self'; img-src 'self' data: blob:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
            .xContentTypeOptions: "nosniff",
        ], body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }

    private static func read(_ folder: URL?) -> Result<[String: Data], ServeError> {
        guard let folder else {
            return .failure(ServeError(description: "the web page's files are missing: \(resourceBundle) is not beside the latte executable (copy it from .build/release along with the executable), and the source folder Sources/LatteServe/Web is not there either"))
        }
        var files: [String: Data] = [:]
        for name in contentTypes.keys {
            let url = folder.appendingPathComponent(name)
            guard let data = FileManager.default.contents(atPath: url.path) else {
                return .failure(ServeError(description: "the web page file \(url.path) cannot be read"))
            }
            files[name] = data
        }
        return .success(files)
    }

    /// The folder name SwiftPM gives this target's resource bundle: `<package>_LatteServe.resources`.
    static let resourceBundle = "LatteFlow_LatteServe.resources"

    /// The `Web` folder: in the resource bundle SwiftPM puts beside the executable (also when LatteFlow
    /// is a dependency: the bundle goes to that package's build folder, beside its `latte`), else in
    /// the source tree this was compiled from. Not `Bundle.module`: its accessor stops the process with
    /// `fatalError` when the bundle is missing (an executable copied elsewhere without it), and a
    /// missing page must be a clear error response, not a dead server.
    static func locateFolder() -> URL? {
        var places: [URL] = [Bundle.main.bundleURL]
        if let exe = Bundle.main.executableURL { places.append(exe.resolvingSymlinksInPath().deletingLastPathComponent()) }
        var candidates: [URL] = []
        for place in places {
            // The package part of the bundle's name is the manifest's name; match any, to be safe.
            let names = (try? FileManager.default.contentsOfDirectory(atPath: place.path)) ?? []
            let bundles = [resourceBundle] + names.filter { $0.hasSuffix("_LatteServe.resources") && $0 != resourceBundle }
            candidates += bundles.map { place.appendingPathComponent($0).appendingPathComponent("Web") }
        }
        candidates.append(URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Web"))
        return candidates.first { FileManager.default.fileExists(atPath: $0.appendingPathComponent("index.html").path) }
    }
}
