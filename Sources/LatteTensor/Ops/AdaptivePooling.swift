extension Tensor {
    /// Pools a map [N, C, h, w] to tokens [N, g·g, C], cells in row-major order, as torch's
    /// `adaptive_avg_pool2d` followed by flattening: cell (i, j) averages rows ⌊i·h/g⌋ ..< ⌈(i+1)·h/g⌉ and
    /// the same for columns. No gradient: it turns a frozen encoder's map into the vision path's image
    /// tokens, once per image.
    public func adaptiveAveragePoolTokens(grid g: Int) -> Tensor {
        precondition(rank == 4 && g >= 1, "adaptiveAveragePoolTokens expects [N, C, h, w] and a grid ≥ 1, got \(shape) and \(g)")
        let (n, c, h, w) = (shape[0], shape[1], shape[2], shape[3])
        let src = contiguous().toFloat32()
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
