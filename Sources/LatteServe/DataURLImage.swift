import Foundation
import LatteFormats

/// Chat images arrive as `data:` URLs (`data:image/png;base64,…`); the server fetches nothing.
public enum DataURLImage {
    /// The image in a base64 PNG or JPEG data URL. Anything else — another scheme, no base64, bytes
    /// that do not decode — is an `APIError` 400 naming `field`.
    public static func decode(_ url: String, field: String) throws -> Image {
        guard url.hasPrefix("data:"), let comma = url.firstIndex(of: ",") else {
            throw APIError.invalid(field, "only data: URLs with a base64 PNG or JPEG are accepted (the server fetches nothing)")
        }
        let header = url[url.index(url.startIndex, offsetBy: 5)..<comma]
        guard header.hasSuffix(";base64") else { throw APIError.invalid(field, "the data: URL must be base64 (data:image/png;base64,…)") }
        guard let data = Data(base64Encoded: String(url[url.index(after: comma)...]), options: .ignoreUnknownCharacters) else {
            throw APIError.invalid(field, "the data: URL's base64 does not decode")
        }
        do { return try ImageFile.decode([UInt8](data), file: field, limits: ImageLimits(maxDimension: 8192, maxPixels: 1 << 25)) } catch {
            throw APIError.invalid(field, "the image does not decode as PNG or JPEG: \(error)", code: "invalid_image")
        }
    }
}
