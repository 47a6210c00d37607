// MARK: - M-RoPE positions

/// transformers' `Qwen2VLModel.get_rope_index` for one sequence of text and image tokens.
///
/// Text runs count up by one in all three streams. A run of image tokens (one image: its merged
/// grid t × h/m × w/m in row-major order) starts at the current position p: temporal p + ti, height
/// p + hi, width p + wi; the next text token then starts at p + max(h, w)/m. So an image advances the
/// position less than its token count, and `delta` (= last position + 1 − token count, ≤ 0 with
/// images) shifts the positions of every later decoding step: position = cache length + delta.
public enum Qwen2VLRopeIndex {
    public static func compute(tokens: [Int], grids: [Qwen2VLImageGrid], imageTokenID: Int,
                               mergeSize: Int) throws -> (positions: [[Int]], delta: Int) {
        var streams: [[Int]] = [[], [], []]
        streams[0].reserveCapacity(tokens.count); streams[1].reserveCapacity(tokens.count); streams[2].reserveCapacity(tokens.count)
        var current = 0, i = 0, image = 0
        while i < tokens.count {
            if tokens[i] != imageTokenID {
                for s in 0..<3 { streams[s].append(current) }
                current += 1; i += 1
                continue
            }
            // A run of image tokens is one image (transformers groups consecutive token types).
            var end = i
            while end < tokens.count && tokens[end] == imageTokenID { end += 1 }
            guard image < grids.count else {
                throw LLaMAError(file: "prompt", "image token run at \(i) has no image (\(grids.count) given)")
            }
            let g = grids[image]
            let gh = g.h / mergeSize, gw = g.w / mergeSize
            guard end - i == g.t * gh * gw else {
                throw LLaMAError(file: "prompt", "image \(image) has \(end - i) placeholder tokens, its grid \(g) needs \(g.t * gh * gw)")
            }
            for t in 0..<g.t {
                for y in 0..<gh {
                    for x in 0..<gw {
                        streams[0].append(current + t); streams[1].append(current + y); streams[2].append(current + x)
                    }
                }
            }
            current += max(gh, gw)
            i = end
            image += 1
        }
        guard image == grids.count else {
            throw LLaMAError(file: "prompt", "\(grids.count) images but \(image) runs of image tokens")
        }
        let last = streams.map { $0.max() ?? -1 }.max() ?? -1
        return (streams, last + 1 - tokens.count)
    }
}
