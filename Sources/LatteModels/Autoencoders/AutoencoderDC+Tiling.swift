import LatteTensor

/// Tile sizes for AutoencoderDC's tiled encode and decode, in image pixels, as diffusers'
/// `AutoencoderDC.enable_tiling` takes them (tile_sample_min_height/width,
/// tile_sample_stride_height/width; defaults 512 and 448, i.e. 16 and 14 latent pixels at f = 32).
public struct AutoencoderDCTiling: Equatable, Sendable {
    public var tileHeight: Int, tileWidth: Int, strideHeight: Int, strideWidth: Int

    public init(tileHeight: Int = 512, tileWidth: Int = 512, strideHeight: Int = 448, strideWidth: Int = 448) {
        (self.tileHeight, self.tileWidth, self.strideHeight, self.strideWidth) = (tileHeight, tileWidth, strideHeight, strideWidth)
    }

    /// Square tiles of `tileSize` pixels starting every `stride` pixels.
    public init(tileSize: Int, stride: Int) {
        self.init(tileHeight: tileSize, tileWidth: tileSize, strideHeight: stride, strideWidth: stride)
    }

    /// Throws unless every size is a positive multiple of the compression ratio `f` and each stride is
    /// at most its tile. (diffusers floors a size that is not a multiple of f to latent pixels but
    /// crops decoded tiles at the unfloored pixel stride, which misplaces tiles; here it is an error.)
    public func validate(compressionRatio f: Int) throws {
        for (name, v) in [("tile height", tileHeight), ("tile width", tileWidth), ("stride height", strideHeight), ("stride width", strideWidth)] {
            guard v > 0, v % f == 0 else {
                throw AutoencoderError("AutoencoderDC tiling: \(name) \(v) must be a positive multiple of \(f) pixels (the compression ratio)")
            }
        }
        guard strideHeight <= tileHeight, strideWidth <= tileWidth else {
            throw AutoencoderError("AutoencoderDC tiling: stride \(strideHeight)×\(strideWidth) exceeds tile \(tileHeight)×\(tileWidth) (tiles would leave gaps)")
        }
    }
}

extension AutoencoderDC {
    /// Decodes latents tile by tile as diffusers' `AutoencoderDC.tiled_decode`: latent tiles of
    /// tile/f start every stride/f latent pixels, each decoded tile is blended linearly into the tile
    /// above and to its left over tile − stride image pixels and cropped at the stride. Latents no
    /// larger than a tile (diffusers' condition) decode whole. Only one tile is decoded at a time and
    /// only the previous row of decoded tiles is kept (`TiledApplication`), so activation memory is
    /// bounded by the tile. DC-AE's multiscale linear attention sees one tile, so tiles differ from
    /// the whole decode near seams; docs/autoencoders.md states the measured tolerance.
    public func tiledDecode(_ z: Tensor, tiling: AutoencoderDCTiling = AutoencoderDCTiling()) throws -> Tensor {
        try validateLatents(z)
        let f = spatialCompressionRatio
        try tiling.validate(compressionRatio: f)
        let layout = TiledApplication.Layout(
            tileHeight: tiling.tileHeight / f, tileWidth: tiling.tileWidth / f,
            strideHeight: tiling.strideHeight / f, strideWidth: tiling.strideWidth / f)
        if z.shape[2] <= layout.tileHeight && z.shape[3] <= layout.tileWidth { return decode(z) }
        return TiledApplication.apply(
            z, layout: layout, up: f, down: 1,
            blendHeight: tiling.tileHeight - tiling.strideHeight, blendWidth: tiling.tileWidth - tiling.strideWidth
        ) { decode($0) }
    }

    /// Encodes images tile by tile as diffusers' `AutoencoderDC.tiled_encode`: image tiles of `tile`
    /// pixels start every `stride` pixels, each latent tile is blended into its upper and left
    /// neighbours over (tile − stride)/f latent pixels and cropped at stride/f. Images no larger than
    /// a tile encode whole. Memory is bounded by the tile as in `tiledDecode`.
    public func tiledEncode(_ x: Tensor, tiling: AutoencoderDCTiling = AutoencoderDCTiling()) throws -> Tensor {
        try validateImages(x)
        let f = spatialCompressionRatio
        try tiling.validate(compressionRatio: f)
        if x.shape[2] <= tiling.tileHeight && x.shape[3] <= tiling.tileWidth { return encode(x) }
        let layout = TiledApplication.Layout(
            tileHeight: tiling.tileHeight, tileWidth: tiling.tileWidth,
            strideHeight: tiling.strideHeight, strideWidth: tiling.strideWidth)
        return TiledApplication.apply(
            x, layout: layout, up: 1, down: f,
            blendHeight: (tiling.tileHeight - tiling.strideHeight) / f, blendWidth: (tiling.tileWidth - tiling.strideWidth) / f
        ) { encode($0) }
    }
}
