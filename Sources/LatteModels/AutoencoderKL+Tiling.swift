import LatteTensor

extension AutoencoderKL {
    /// Decodes a large latent tile by tile, as diffusers' `tiled_decode`: latent tiles of
    /// `tileLatentSize` (default sample_size / downsampling factor) start every
    /// ⌊tile·(1 − overlap)⌋ latent pixels; each decoded tile is blended linearly into the tile above
    /// and the tile to its left over ⌊tileSample·overlap⌋ pixels, then cropped where the next tile
    /// starts (diffusers' row_limit for its tile sizes). The stitching is `TiledApplication`'s: only
    /// the previous row of decoded tiles is kept, so memory grows with one row of tiles, not with the
    /// image. Latents no larger than a tile decode whole.
    ///
    /// The result differs from `decode` near tile seams (GroupNorm and attention see one tile);
    /// tests state the tolerance.
    public func tiledDecode(_ z: Tensor, tileLatentSize: Int? = nil, overlapFactor: Float = 0.25) -> Tensor {
        let f = configuration.downsamplingFactor
        let tileLatent = Swift.max(1, tileLatentSize ?? configuration.sampleSize / f)
        let (h, w) = (z.shape[2], z.shape[3])
        if h <= tileLatent && w <= tileLatent { return decode(z) }
        // Overlaps beyond half a tile would let a blend reach past the tile's crop; clamp to [0, ½].
        let overlap = Swift.min(Swift.max(overlapFactor, 0), 0.5)
        let stride = Swift.max(1, Int(Float(tileLatent) * (1 - overlap)))
        let blend = Int(Float(tileLatent * f) * overlap)
        // Each tile but the last keeps the pixels up to where the next one starts (stride·f; with
        // diffusers' sizes this is its row_limit, tileSample − blend); the last keeps the rest, so
        // the output is always the latent size × f, also for tile sizes diffusers would get wrong.
        let layout = TiledApplication.Layout(tileHeight: tileLatent, tileWidth: tileLatent, strideHeight: stride, strideWidth: stride)
        return TiledApplication.apply(z, layout: layout, up: f, down: 1, blendHeight: blend, blendWidth: blend) { decode($0) }
    }
}
