import LatteNN
import LatteTensor

/// The trainable bridge from a frozen image encoder to a frozen language model, LLaVA-1.5's two-layer
/// MLP projector: each image token — one cell of the encoder's spatial map average-pooled to
/// `grid`×`grid` (few tokens, as nanoVLM: 2×2 = 4 … 4×4 = 16) — becomes one input embedding in the
/// language model's width, Linear → GELU → Linear. Parameter names are `linear_1` and `linear_2`
/// (LLaVA's `multi_modal_projector`).
public final class ImageTokenProjector: Module {
    public let linear_1: Linear
    public let linear_2: Linear

    /// Randomly initialised (torch's default uniform), for training.
    public init(encoderChannels: Int, width: Int, generator: inout RandomGenerator) {
        linear_1 = Linear(encoderChannels, width, generator: &generator)
        linear_2 = Linear(width, width, generator: &generator)
    }

    /// Placeholders whose values come from a checkpoint.
    public init(encoderChannels: Int, width: Int) {
        linear_1 = Linear(encoderChannels, width)
        linear_2 = Linear(width, width)
    }

    public var encoderChannels: Int { linear_1.inFeatures }
    public var width: Int { linear_2.outFeatures }

    /// Image embeddings [N, T, width] of pooled encoder tokens [N, T, channels].
    public func callAsFunction(_ tokens: Tensor) -> Tensor {
        linear_2(linear_1(tokens).gelu())
    }

    /// Pools an encoder map [N, C, h, w] to tokens [N, g·g, C] (`Tensor.adaptiveAveragePoolTokens`).
    /// Done once per image when the frozen features are cached, so it is outside the gradient tape.
    public static func poolTokens(_ map: Tensor, grid g: Int) -> Tensor { map.adaptiveAveragePoolTokens(grid: g) }
}

/// Places image embeddings into a prompt's input embeddings (LLaVA): the prompt holds one placeholder
/// token per image token, and the rows at those positions are replaced by the projector's output; every
/// other row is the language model's own embedding, so a prompt without placeholders is exactly the
/// text-only input. Built from slices and `concat`, so the gradient reaches the image rows.
public enum ImageTokenInsertion {
    /// Input embeddings [1, T, H]: `text` [1, T, H] with row `positions[k]` replaced by `images` row k
    /// ([1, K, H], K = positions.count; positions strictly increasing and inside the prompt).
    public static func embeddings(_ text: Tensor, replacing positions: [Int], with images: Tensor) -> Tensor {
        precondition(text.rank == 3 && text.shape[0] == 1, "text embeddings must be [1, T, H], got \(text.shape)")
        precondition(images.shape == [1, positions.count, text.shape[2]], "image embeddings \(images.shape) do not match \(positions.count) positions of width \(text.shape[2])")
        precondition(zip(positions, positions.dropFirst()).allSatisfy { $0 < $1 } && (positions.first ?? 0) >= 0
                     && (positions.last ?? 0) < text.shape[1], "image positions \(positions) must increase inside a \(text.shape[1])-token prompt")
        if positions.isEmpty { return text }
        var pieces: [Tensor] = []
        var next = 0
        for (k, p) in positions.enumerated() {
            if p > next { pieces.append(text.sliced(axis: 1, next..<p)) }
            pieces.append(images.sliced(axis: 1, k..<(k + 1)))
            next = p + 1
        }
        if next < text.shape[1] { pieces.append(text.sliced(axis: 1, next..<text.shape[1])) }
        return Tensor.concat(pieces, axis: 1)
    }
}

extension ImageTokenInsertion {
    /// A batch's input embeddings [B, T, H]: `text` with rows `block` replaced by `images` [B, block.count, H],
    /// the same positions in every sample (the vision prompt puts the image right after the user marker).
    public static func embeddings(batch text: Tensor, block: Range<Int>, with images: Tensor) -> Tensor {
        precondition(text.rank == 3 && images.shape == [text.shape[0], block.count, text.shape[2]] && block.lowerBound >= 0
                     && block.upperBound <= text.shape[1], "image embeddings \(images.shape) do not fit rows \(block) of text \(text.shape)")
        var pieces: [Tensor] = []
        if block.lowerBound > 0 { pieces.append(text.sliced(axis: 1, 0..<block.lowerBound)) }
        pieces.append(images)
        if block.upperBound < text.shape[1] { pieces.append(text.sliced(axis: 1, block.upperBound..<text.shape[1])) }
        return Tensor.concat(pieces, axis: 1)
    }
}
