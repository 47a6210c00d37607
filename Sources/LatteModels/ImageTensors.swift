import LatteFormats
import LatteTensor

/// Image tensors [N, C, H, W] in the autoencoders' range [−1, 1] ↔ 8-bit images, and the [0, 1] range
/// the evaluation networks read. Every front end (generate, eval, the autoencoder tools, a server)
/// converts here, so a pixel value is rounded the same way wherever it is written.
public enum ImageTensors {
    /// 8-bit images from [N, C, H, W] values in [−1, 1] (clamped), each pixel repeated `scale` × `scale`
    /// times (nearest-neighbour upscaling, for looking at small images).
    public static func images(_ t: Tensor, scale: Int = 1) -> [Image] {
        precondition(t.rank == 4 && scale >= 1, "images from a tensor [N, C, H, W] with scale ≥ 1, got \(t.shape) and \(scale)")
        let (n, c, h, w) = (t.dim(0), t.dim(1), t.dim(2), t.dim(3))
        let v = t.toArray()
        return (0..<n).map { i in
            var px = [UInt8](repeating: 0, count: h * w * c * scale * scale)
            for y in 0..<(h * scale) {
                for x in 0..<(w * scale) {
                    for ch in 0..<c {
                        let f = v[((i * c + ch) * h + y / scale) * w + x / scale]
                        px[(y * w * scale + x) * c + ch] = UInt8(max(0, min(255, ((f + 1) * 127.5).rounded())))
                    }
                }
            }
            return Image(width: w * scale, height: h * scale, channels: c, pixels: px)
        }
    }

    /// [−1, 1] → [0, 1], clamped: the input range of the FID network and the classifier.
    public static func unitRange(_ t: Tensor) -> Tensor {
        ((t + 1) * 0.5).clamped(min: 0, max: 1)
    }

    /// A white image of the same size, for filling the empty cells of a grid.
    public static func blank(like image: Image) -> Image {
        Image(width: image.width, height: image.height, channels: image.channels, fill: Array(repeating: 255, count: image.channels))
    }
}
