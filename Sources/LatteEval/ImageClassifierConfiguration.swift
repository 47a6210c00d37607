import Foundation
import LatteFormats

/// `config.json` of an `ImageClassifier` folder: what images it reads (channels, side, and how real
/// images were prepared for it), which classes it names, and the width of each stage.
public struct ImageClassifierConfiguration: Codable, Equatable, Sendable {
    public static let currentFormat = "latteflow-image-classifier-1"
    public static let fileName = "config.json"

    public var format: String
    /// 1 (grey) or 3 (RGB).
    public var channels: Int
    /// Side of the square input images.
    public var resolution: Int
    /// Class names indexed by the label the classifier predicts.
    public var classNames: [String]
    /// Channels of each stage; stage 0 keeps the input size, every later one halves it (stride 2).
    public var widths: [Int]
    /// GroupNorm groups in every stage (each width must be a multiple).
    public var normGroups: Int
    /// What transparent pixels of real images were flattened onto (`white`, `black` or RRGGBB), so
    /// evaluation prepares real images exactly as training did.
    public var background: String

    enum CodingKeys: String, CodingKey {
        case format, channels, resolution, widths, background
        case classNames = "class_names", normGroups = "norm_groups"
    }

    public init(channels: Int, resolution: Int, classNames: [String], widths: [Int] = [32, 64, 128], normGroups: Int = 8,
                background: String = "white") {
        format = Self.currentFormat
        self.channels = channels
        self.resolution = resolution
        self.classNames = classNames
        self.widths = widths
        self.normGroups = normGroups
        self.background = background
    }

    /// Checks the values; the message names the file when one is given.
    public func validate(file: String = "<classifier configuration>") throws {
        func fail(_ why: String) -> FIDError { FIDError("\(file): \(why)") }
        guard format == Self.currentFormat else { throw fail("format '\(format)' is not \(Self.currentFormat)") }
        guard channels == 1 || channels == 3 else { throw fail("channels must be 1 or 3, got \(channels)") }
        guard classNames.count >= 2 else { throw fail("a classifier needs at least 2 classes, got \(classNames.count)") }
        guard !widths.isEmpty, widths.allSatisfy({ $0 >= 1 && $0 % max(normGroups, 1) == 0 }), normGroups >= 1 else {
            throw fail("widths \(widths) must be positive multiples of norm_groups \(normGroups)")
        }
        let downsampling = 1 << (widths.count - 1)
        guard resolution >= downsampling else {
            throw fail("resolution \(resolution) is smaller than the \(downsampling)× downsampling of \(widths.count) stages")
        }
        _ = try BackgroundColour(parsing: background)
    }

    /// How real images become this classifier's input (no flip: augmentation happens in training).
    public var preparation: ImagePreparation {
        get throws {
            ImagePreparation(resolution: resolution, channels: channels, background: try BackgroundColour(parsing: background))
        }
    }
}
