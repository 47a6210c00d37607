/// The dominant colour of an image by name, computed from its pixels: the answer to "What colour is
/// this emoji?" (VisionQuestions.emoji), so the label comes from what the picture shows rather than from
/// a name that may not say it ("face with tears of joy" is yellow).
///
/// The rule: only pixels with alpha ≥ 128 count (an emoji's transparent surround says nothing). Each
/// counted pixel gets one of `names` by its HSV value: saturation < 0.25 is achromatic — white (value
/// ≥ 0.8), black (value < 0.25) or grey; otherwise its hue picks red, orange, yellow, green, blue,
/// purple or pink, and a red or orange pixel darker than value 0.6 is brown. The answer is the most
/// frequent chromatic name when chromatic pixels are at least a quarter of the counted ones (so the
/// black eyes and white teeth of a yellow face do not win), else the most frequent name overall; ties
/// go to the earlier name in `names`. An image with no counted pixel has no colour (nil).
public enum DominantColour {
    public static let names = ["red", "orange", "yellow", "green", "blue", "purple", "pink", "brown", "black", "white", "grey"]
    static let chromatic = 8    // names[0..<8] are colours, the rest achromatic

    public static func name(of image: Image) -> String? {
        var counts = [Int](repeating: 0, count: names.count)
        let c = image.channels
        let colour = c >= 3, alpha = c == 2 || c == 4
        for i in 0..<(image.width * image.height) {
            let p = i * c
            if alpha && image.pixels[p + c - 1] < 128 { continue }
            let r = Float(image.pixels[p]) / 255
            let g = colour ? Float(image.pixels[p + 1]) / 255 : r, b = colour ? Float(image.pixels[p + 2]) / 255 : r
            counts[bin(r: r, g: g, b: b)] += 1
        }
        let total = counts.reduce(0, +)
        guard total > 0 else { return nil }
        let chromaticTotal = counts[..<chromatic].reduce(0, +)
        let range = chromaticTotal * 4 >= total ? 0..<chromatic : 0..<names.count
        var best = range.lowerBound
        for k in range where counts[k] > counts[best] { best = k }
        return names[best]
    }

    /// Index into `names` of one pixel (r, g, b in [0, 1]).
    static func bin(r: Float, g: Float, b: Float) -> Int {
        let maxC = max(r, g, b), minC = min(r, g, b)
        let value = maxC, saturation = maxC > 0 ? (maxC - minC) / maxC : 0
        if saturation < 0.25 { return value >= 0.8 ? 9 : value < 0.25 ? 8 : 10 }
        let d = maxC - minC
        var hue: Float
        if maxC == r { hue = 60 * ((g - b) / d) } else if maxC == g { hue = 60 * ((b - r) / d + 2) } else { hue = 60 * ((r - g) / d + 4) }
        if hue < 0 { hue += 360 }
        let name: Int
        switch hue {
        case ..<15, 345...: name = 0
        case ..<40: name = 1
        case ..<70: name = 2
        case ..<165: name = 3
        case ..<255: name = 4
        case ..<290: name = 5
        default: name = 6
        }
        return name <= 1 && value < 0.6 ? 7 : name
    }
}
