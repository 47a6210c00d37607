import LatteTensor

extension AutoencoderKL {
    /// Decodes a large latent tile by tile, as diffusers' `tiled_decode`: latent tiles of
    /// `tileLatentSize` (default sample_size / downsampling factor) start every
    /// ⌊tile·(1 − overlap)⌋ latent pixels; each decoded tile is blended linearly into the tile above
    /// and the tile to its left over ⌊tileSample·overlap⌋ pixels, then cropped where the next tile
    /// starts (diffusers' row_limit for its tile sizes). Only the previous row of decoded tiles is kept, so memory grows
    /// with one row of tiles, not with the image. Latents no larger than a tile decode whole.
    ///
    /// The result differs from `decode` near tile seams (GroupNorm and attention see one tile);
    /// tests state the tolerance.
    public func tiledDecode(_ z: Tensor, tileLatentSize: Int? = nil, overlapFactor: Float = 0.25) -> Tensor {
        let f = configuration.downsamplingFactor
        let tileLatent = Swift.max(1, tileLatentSize ?? configuration.sample_size / f)
        let (n, h, w) = (z.shape[0], z.shape[2], z.shape[3])
        if h <= tileLatent && w <= tileLatent { return decode(z) }
        let tileSample = tileLatent * f
        // Overlaps beyond half a tile would let a blend reach past the tile's crop; clamp to [0, ½].
        let overlap = Swift.min(Swift.max(overlapFactor, 0), 0.5)
        let stride = Swift.max(1, Int(Float(tileLatent) * (1 - overlap)))
        let blend = Int(Float(tileSample) * overlap)
        // Each tile but the last keeps the pixels up to where the next one starts (stride·f; with
        // diffusers' sizes this is its row_limit, tileSample − blend); the last keeps the rest, so
        // the output is always the latent size × f, also for tile sizes diffusers would get wrong.
        let step = stride * f
        let c = configuration.out_channels

        let rowStarts = Array(Swift.stride(from: 0, to: h, by: stride))
        let colStarts = Array(Swift.stride(from: 0, to: w, by: stride))
        func extent(_ starts: [Int], _ size: Int) -> [Int] {
            starts.indices.map { k in starts[k] == starts.last! ? (size - starts[k]) * f : step }
        }
        let rowHeights = extent(rowStarts, h), colWidths = extent(colStarts, w)
        let out = Tensor.empty([n, c, h * f, w * f])

        var above: [Tensor] = []
        var y0 = 0
        for (ri, i) in rowStarts.enumerated() {
            var current: [Tensor] = []
            var x0 = 0
            for (cj, j) in colStarts.enumerated() {
                let latentTile = z.sliced(axis: 2, i..<Swift.min(i + tileLatent, h))
                    .sliced(axis: 3, j..<Swift.min(j + tileLatent, w))
                // The decoder output is a fresh buffer nobody else holds, so blending may write into it.
                let tile = decode(latentTile).toFloat32().contiguous()
                if ri > 0 { Self.blendVertical(above[cj], from: step, into: tile, extent: blend) }
                if cj > 0 { Self.blendHorizontal(current[cj - 1], from: step, into: tile, extent: blend) }
                Self.copyCrop(tile, rows: rowHeights[ri], cols: colWidths[cj], into: out, y: y0, x: x0)
                current.append(tile)
                x0 += colWidths[cj]
            }
            above = current
            y0 += rowHeights[ri]
        }
        return out
    }

    /// b[y] = a[start + y]·(1 − y/e) + b[y]·(y/e) for the first e rows of b: the rows of the tile
    /// above that lie under b's top rows (diffusers' blend_v, whose a[−e + y] is the same row when
    /// start = tileSample − e).
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
