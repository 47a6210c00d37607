import Foundation
import LatteEval
import LatteFormats
import LatteKernels
import LatteModels
import LatteTensor

/// `latte chat --image` on a LatteFlow model folder with vision weights (`vision.json` +
/// `vision.safetensors`, docs/vision.md): the pinned encoder turns each image into tokens, the folder's
/// projector into input embeddings of the frozen backbone, and the answer streams by greedy decoding.
///
/// Images are checked and shrunk before any tensor is made: a file that is not a PNG or JPEG, one with
/// no pixels, one larger than `maxPixels` (refused from its header, before decoding) each get their own
/// message naming the file; a decodable image is flattened onto black (Fashion-MNIST's background)
/// and, when larger than the encoder's input, shrunk to it at once, so memory is bounded by the decoded
/// file (`VisionImage`).
struct VisionChat {
    /// 64 M pixels: a 256 MiB RGBA buffer at most (ImageLimits' own default allows 1 GiB).
    static let maxPixels = 1 << 26

    let folder: URL
    let configuration: VisionModelConfiguration
    let answerer: VisionAnswerer
    let encoder: EfficientNetLite

    /// `backbone`: an already loaded backbone to share (`latte generate --describe`: the generator's
    /// prompt backbone); nil loads the one vision.json names.
    static func load(folder: URL, backbone shared: Backbone? = nil) throws -> VisionChat {
        let (c, projector) = try VisionModelConfiguration.load(folder: folder)
        guard c.encoder == EfficientNetLiteWeights.assetName else {
            throw CommandFailure("\(folder.path)/vision.json names the encoder '\(c.encoder)'; this build knows \(EfficientNetLiteWeights.assetName)")
        }
        let backbone = try shared ?? Backbone.load(c.backbone, assets: .fetchIfMissing(log: say))
        guard let lm = backbone.model as? LLaMAModel, lm.configuration.hiddenSize == c.width else {
            throw CommandFailure("\(folder.path)/vision.json: the projector writes \(c.width)-wide embeddings, which the backbone '\(c.backbone)' does not take")
        }
        let encoder = try EfficientNetLite.load(inputSize: c.inputSize, assetCache: AssetCache(), log: say)
        return VisionChat(folder: folder, configuration: c, answerer: VisionAnswerer(lm: lm, projector: projector, tokenizer: backbone.tokenizer),
                          encoder: encoder)
    }

    /// An image file as the encoder's input [1, C, H, W] in [0, 1] (C = 1 for grey files, else 3; at most S × S).
    /// `option` names the flag in messages (`--image`, `--like`).
    static func prepare(_ path: String, size: Int, option: String = "--image") throws -> Tensor {
        let bytes: [UInt8]
        do { bytes = Array(try Data(contentsOf: URL(fileURLWithPath: path))) } catch {
            throw CommandFailure("\(option) \(path): cannot read the file (\(error.localizedDescription))")
        }
        let isPNG = bytes.starts(with: [0x89, 0x50, 0x4E, 0x47]), isJPEG = bytes.starts(with: [0xFF, 0xD8])
        guard isPNG || isJPEG else { throw CommandFailure("\(option) \(path): not an image (a PNG or JPEG file is needed)") }
        let image: Image
        do { image = try ImageFile.decode(bytes, file: path, limits: ImageLimits(maxDimension: 32768, maxPixels: maxPixels)) } catch let e as ImageError {
            switch e.kind {
            case .tooLarge: throw CommandFailure("\(option) \(path): too large to load (\(e.message)); the limit is \(maxPixels) pixels — shrink it first")
            default: throw CommandFailure("\(option) \(path): no decodable pixels (\(e.message))")
            }
        }
        guard image.width > 0, image.height > 0, !image.pixels.isEmpty else { throw CommandFailure("\(option) \(path): no decodable pixels (an empty image)") }
        return VisionImage.tensor(of: image, size: size)
    }

    /// Streams the answer to `question` about `images` to standard output.
    func answer(_ question: String, images paths: [String], maxTokens: Int) throws {
        let t = configuration.tokensPerImage
        let context = answerer.lm.geometry.contextLength
        let promptTokens = try VisionPrompt.build(tokenizer: answerer.tokenizer, question: question, images: paths.count, tokensPerImage: t).ids.count
        guard promptTokens + maxTokens <= context else {
            throw CommandFailure("\(paths.count) images × \(t) image tokens, the question and --max-tokens \(maxTokens) need \(promptTokens + maxTokens) positions; the backbone's context holds \(context): give fewer images or a smaller --max-tokens")
        }
        var tokens: [Tensor] = []
        for path in paths {
            let x = try Self.prepare((path as NSString).expandingTildeInPath, size: configuration.inputSize)
            tokens.append(encoder.features(x).adaptiveAveragePoolTokens(grid: configuration.grid))
        }
        let out = FileHandle.standardOutput
        let start = DispatchTime.now().uptimeNanoseconds
        var first: UInt64?
        var pieces = 0
        _ = try answerer.answer(question, tokens: Tensor.concat(tokens, axis: 0), maxTokens: maxTokens) { piece in
            if first == nil { first = DispatchTime.now().uptimeNanoseconds }
            pieces += 1
            out.write(Data(piece.utf8))
        }
        out.write(Data("\n".utf8))
        let end = DispatchTime.now().uptimeNanoseconds
        say(String(format: "%d image%@ (%d tokens each); first text after %.2f s; %d pieces in %.2f s", paths.count, paths.count == 1 ? "" : "s", t,
                   Double((first ?? end) - start) / 1e9, pieces, Double(end - start) / 1e9))
    }
}
