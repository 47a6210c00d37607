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

    /// Pools an encoder map [N, C, h, w] to tokens [N, g·g, C], cells in row-major order, as torch's
    /// `adaptive_avg_pool2d`: cell (i, j) averages rows ⌊i·h/g⌋ ..< ⌈(i+1)·h/g⌉ and the same for columns.
    /// Done once per image when the frozen features are cached, so it is outside the gradient tape.
    public static func poolTokens(_ map: Tensor, grid g: Int) -> Tensor {
        precondition(map.rank == 4 && g >= 1, "poolTokens expects [N, C, h, w] and a grid ≥ 1, got \(map.shape) and \(g)")
        let (n, c, h, w) = (map.shape[0], map.shape[1], map.shape[2], map.shape[3])
        let src = map.contiguous().toFloat32()
        let out = Tensor.empty([n, g * g, c])
        withExtendedLifetime(src) {
            for img in 0..<n {
                for i in 0..<g {
                    let (y0, y1) = (i * h / g, ((i + 1) * h + g - 1) / g)
                    for j in 0..<g {
                        let (x0, x1) = (j * w / g, ((j + 1) * w + g - 1) / g)
                        let scale = 1 / Float((y1 - y0) * (x1 - x0))
                        let dst = out.f32 + (img * g * g + i * g + j) * c
                        for ch in 0..<c {
                            let plane = src.f32 + (img * c + ch) * h * w
                            var sum: Float = 0
                            for y in y0..<y1 { for x in x0..<x1 { sum += plane[y * w + x] } }
                            dst[ch] = sum * scale
                        }
                    }
                }
            }
        }
        return out
    }
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
