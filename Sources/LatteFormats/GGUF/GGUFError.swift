import Foundation

/// Everything that can go wrong while opening or reading a GGUF file. Each case carries the file's path
/// so a message printed far from the call site still says which file was bad.
public struct GGUFError: Error, CustomStringConvertible, Equatable, Sendable {
    public enum Kind: Equatable, Sendable {
        case cannotOpen
        case badMagic
        case unsupportedVersion
        case truncated
        case absurdCount
        case badValueType
        case badString
        case badAlignment
        case badTensorInfo
        case unknownTensorType
        case tensorOutOfBounds
        case duplicateName
        case unsupportedDequantization
        case noSuchTensor
        case badRange
    }

    public let kind: Kind
    public let path: String
    public let message: String

    public init(_ kind: Kind, path: String, _ message: String) {
        self.kind = kind
        self.path = path
        self.message = message
    }

    public var description: String { "GGUF file \(path): \(message)" }
}

extension GGUFError: LocalizedError {
    public var errorDescription: String? { description }
}
