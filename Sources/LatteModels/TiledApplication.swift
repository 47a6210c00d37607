import LatteTensor

/// Runs a spatial map (a decoder or an encoder) over overlapping tiles of an [N, C, H, W] tensor and
/// stitches the outputs with diffusers' linear seam blending (blend_v / blend_h), shared by the
/// AutoencoderKL and AutoencoderDC tilings.
///
/// Input tiles of `tile` pixels start every `stride` pixels. The map scales space by up/down
/// (decoders: f/1, encoders: 1/f), so an output tile starts every stride·up/down pixels. Each output
/// tile is blended into the tile above and the tile to its left over `blend` output pixels (rows of
/// the neighbour that lie under the tile's first rows), then cropped where the next tile starts; the
/// last tile of a row or column keeps the rest, so the output is always the input size × up/down.
///
/// Memory: one tile goes through the map at a time, and only the previous row of (blended) output
/// tiles is kept besides the output itself, so the map's activations are bounded by the tile, not the
/// image.
public enum TiledApplication {
    /// Tile and stride along height and width, in input pixels.
    public struct Layout: Equatable, Sendable {
        public var tileHeight: Int, tileWidth: Int, strideHeight: Int, strideWidth: Int
        public init(tileHeight: Int, tileWidth: Int, strideHeight: Int, strideWidth: Int) {
            (self.tileHeight, self.tileWidth, self.strideHeight, self.strideWidth) = (tileHeight, tileWidth, strideHeight, strideWidth)
        }
    }

    /// Applies `map` tile by tile (see the type's description). `up`/`down` is the map's spatial
    /// scale, exact for every tile (the caller checks divisibility); `blendHeight`/`blendWidth` are in
    /// output pixels. The map's output must be a fresh buffer: blending writes into it.
    public static func apply(
        _ x: Tensor, layout: Layout, up: Int, down: Int, blendHeight: Int, blendWidth: Int,
        _ map: (Tensor) throws -> Tensor
    ) rethrows -> Tensor {
        let (h, w) = (x.shape[2], x.shape[3])
        let rowStarts = Array(Swift.stride(from: 0, to: h, by: layout.strideHeight))
        let colStarts = Array(Swift.stride(from: 0, to: w, by: layout.strideWidth))
        // Output rows (columns) each tile contributes: up to the next tile's start, the rest for the last.
        func extents(_ starts: [Int], _ size: Int, _ stride: Int) -> [Int] {
            starts.indices.map { k in (k == starts.count - 1 ? size - starts[k] : stride) * up / down }
        }
        let rowHeights = extents(rowStarts, h, layout.strideHeight), colWidths = extents(colStarts, w, layout.strideWidth)
        let stepH = layout.strideHeight * up / down, stepW = layout.strideWidth * up / down
        var out: Tensor?

        var above: [Tensor] = []
        var y0 = 0
        for (ri, i) in rowStarts.enumerated() {
            var current: [Tensor] = []
            var x0 = 0
            for (cj, j) in colStarts.enumerated() {
                let input = x.sliced(axis: 2, i..<Swift.min(i + layout.tileHeight, h))
                    .sliced(axis: 3, j..<Swift.min(j + layout.tileWidth, w))
                let tile = try map(input).toFloat32().contiguous()
                if out == nil { out = Tensor.empty([x.shape[0], tile.shape[1], h * up / down, w * up / down]) }
                if ri > 0 { blendVertical(above[cj], from: stepH, into: tile, extent: blendHeight) }
                if cj > 0 { blendHorizontal(current[cj - 1], from: stepW, into: tile, extent: blendWidth) }
                copyCrop(tile, rows: rowHeights[ri], cols: colWidths[cj], into: out!, y: y0, x: x0)
                current.append(tile)
                x0 += colWidths[cj]
            }
            above = current
            y0 += rowHeights[ri]
        }
        return out!
    }

    /// b[y] = a[start + y]·(1 − y/e) + b[y]·(y/e) for the first e rows of b: the rows of the tile
    /// above that lie under b's top rows (diffusers' blend_v, whose a[−e + y] is the same row when
    /// start = a's height − e).
    static func blendVertical(_ a: Tensor, from start: Int, into b: Tensor, extent: Int) {
        let e = Swift.min(a.shape[2] - start, b.shape[2], extent)
        guard e > 0 else { return }
        let planes = b.shape[0] * b.shape[1], ah = a.shape[2], bh = b.shape[2], aw = a.shape[3], bw = b.shape[3]
        let width = Swift.min(aw, bw)
        withExtendedLifetime((a, b)) {
            for p in 0..<planes {
                for y in 0..<e {
                    let t = Float(y) / Float(e)
                    let src = a.f32 + p * ah * aw + (start + y) * aw, dst = b.f32 + p * bh * bw + y * bw
                    for x in 0..<width { dst[x] = src[x] * (1 - t) + dst[x] * t }
                }
            }
        }
    }

    /// b[:, x] = a[:, start + x]·(1 − x/e) + b[:, x]·(x/e) for the first e columns (diffusers' blend_h).
    static func blendHorizontal(_ a: Tensor, from start: Int, into b: Tensor, extent: Int) {
        let e = Swift.min(a.shape[3] - start, b.shape[3], extent)
        guard e > 0 else { return }
        let planes = b.shape[0] * b.shape[1], ah = a.shape[2], bh = b.shape[2], aw = a.shape[3], bw = b.shape[3]
        let height = Swift.min(ah, bh)
        withExtendedLifetime((a, b)) {
            for p in 0..<planes {
                for y in 0..<height {
                    let src = a.f32 + p * ah * aw + y * aw + start, dst = b.f32 + p * bh * bw + y * bw
                    for x in 0..<e {
                        let t = Float(x) / Float(e)
                        dst[x] = src[x] * (1 - t) + dst[x] * t
                    }
                }
            }
        }
    }

    /// Copies tile[:, :, :rows, :cols] into out at (y, x).
    static func copyCrop(_ tile: Tensor, rows: Int, cols: Int, into out: Tensor, y: Int, x: Int) {
        let planes = tile.shape[0] * tile.shape[1], th = tile.shape[2], tw = tile.shape[3]
        let oh = out.shape[2], ow = out.shape[3]
        withExtendedLifetime((tile, out)) {
            for p in 0..<planes {
                for r in 0..<rows {
                    (out.f32 + p * oh * ow + (y + r) * ow + x).update(from: tile.f32 + p * th * tw + r * tw, count: cols)
                }
            }
        }
    }
}
