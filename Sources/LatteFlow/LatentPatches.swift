import Foundation
import LatteNN
import LatteTensor

/// Latent [B, C, H, W] ↔ image tokens [B, (H/p)·(W/p), p·p·C], row-major over the patch grid with each
/// token's values ordered (row in patch, column in patch, channel).
public enum LatentPatches {
    public static func patchify(_ z: Tensor, patch p: Int) -> Tensor {
        let (b, c, h, w) = (z.dim(0), z.dim(1), z.dim(2), z.dim(3))
        return z.reshaped([b, c, h / p, p, w / p, p]).permuted([0, 2, 4, 3, 5, 1]).reshaped([b, (h / p) * (w / p), p * p * c])
    }

    public static func unpatchify(_ tokens: Tensor, patch p: Int, channels c: Int, height h: Int, width w: Int) -> Tensor {
        let b = tokens.dim(0)
        return tokens.reshaped([b, h / p, w / p, p, p, c]).permuted([0, 5, 1, 3, 2, 4]).reshaped([b, c, h, w])
    }

    /// DiT's fixed 2-D sine-cosine table [1, gridHeight·gridWidth, width]: the first half of the width
    /// encodes the row, the second the column, each as sin then cos of position·10000^(−i/(width/4)).
    public static func sincosPositions(gridHeight: Int, gridWidth: Int, width: Int) -> Tensor {
        precondition(width % 4 == 0, "a 2-D sine-cosine table needs a width divisible by 4, got \(width)")
        let quarter = width / 4
        var table = [Float](repeating: 0, count: gridHeight * gridWidth * width)
        for r in 0..<gridHeight { for c in 0..<gridWidth {
            let row = (r * gridWidth + c) * width
            for (half, position) in [(0, r), (1, c)] {
                for i in 0..<quarter {
                    let angle = Double(position) / Foundation.pow(10_000, Double(i) / Double(quarter))
                    table[row + half * 2 * quarter + i] = Float(Foundation.sin(angle))
                    table[row + half * 2 * quarter + quarter + i] = Float(Foundation.cos(angle))
                }
            }
        } }
        return Tensor(table, shape: [1, gridHeight * gridWidth, width])
    }

    /// M-RoPE cos/sin [B, 1, N, headDim] of the image tokens that follow prompts of the given lengths:
    /// temporal id = prompt length, height/width ids = prompt length + grid row/column (docs/method.md §2).
    public static func rotaryTables(promptLengths: [Int], gridHeight: Int, gridWidth: Int,
                                    headDim: Int, theta: Float, sections: [Int]) -> (cos: Tensor, sin: Tensor) {
        var cosRows: [Tensor] = [], sinRows: [Tensor] = []
        var cache: [Int: (Tensor, Tensor)] = [:]
        for length in promptLengths {
            if cache[length] == nil {
                var streams: [[Int]] = [[], [], []]
                for r in 0..<gridHeight { for c in 0..<gridWidth {
                    streams[0].append(length); streams[1].append(length + r); streams[2].append(length + c)
                } }
                let t = Rotary.multimodalTables(positions: streams, sections: sections, headDim: headDim, theta: theta)
                cache[length] = (t.cos, t.sin)
            }
            cosRows.append(cache[length]!.0.unsqueezed(0))
            sinRows.append(cache[length]!.1.unsqueezed(0))
        }
        return (Tensor.concat(cosRows, axis: 0).unsqueezed(1), Tensor.concat(sinRows, axis: 0).unsqueezed(1))
    }
}
