import Foundation

/// An RGB drawing surface with clipped lines, rectangles and 3×5 pixel text.
struct PlotCanvas {
    var image: Image

    init(width: Int, height: Int) { image = Image(width: width, height: height, channels: 3, fill: [255, 255, 255]) }

    mutating func set(_ x: Int, _ y: Int, _ color: [UInt8]) {
        guard x >= 0, y >= 0, x < image.width, y < image.height else { return }
        let i = (y * image.width + x) * 3
        image.pixels[i] = color[0]; image.pixels[i + 1] = color[1]; image.pixels[i + 2] = color[2]
    }

    mutating func rect(x: Int, y: Int, w: Int, h: Int, color: [UInt8]) {
        for yy in y..<(y + h) { for xx in x..<(x + w) { set(xx, yy, color) } }
    }

    /// Bresenham line; `thick` also paints the pixel below.
    mutating func line(_ x0: Int, _ y0: Int, _ x1: Int, _ y1: Int, color: [UInt8], thick: Bool = false) {
        var (x, y) = (x0, y0)
        let dx = abs(x1 - x0), dy = -abs(y1 - y0), sx = x0 < x1 ? 1 : -1, sy = y0 < y1 ? 1 : -1
        var err = dx + dy
        while true {
            set(x, y, color)
            if thick { set(x, y + 1, color) }
            if x == x1 && y == y1 { break }
            let e2 = 2 * err
            if e2 >= dy { err += dy; x += sx }
            if e2 <= dx { err += dx; y += sy }
        }
    }

    /// A filled disc of radius r centred on (x, y): a scatter marker.
    mutating func disc(_ x: Int, _ y: Int, radius r: Int, color: [UInt8]) {
        for dy in -r...r { for dx in -r...r where dx * dx + dy * dy <= r * r + r { set(x + dx, y + dy, color) } }
    }

    /// Pixels `text` takes across (8 per character).
    static func textWidth(_ s: String) -> Int { s.count * 8 }

    /// Text in a 3×5 font scaled ×2 (8 px advance): digits, capitals (lower case is drawn as capitals)
    /// and some punctuation; unknown characters are left blank.
    mutating func text(_ s: String, x: Int, y: Int, color: [UInt8]) {
        for (k, ch) in s.enumerated() {
            guard let rows = Self.glyph(ch) else { continue }
            for (r, bits) in rows.enumerated() {
                for c in 0..<3 where bits & (4 >> c) != 0 {
                    rect(x: x + k * 8 + c * 2, y: y + r * 2, w: 2, h: 2, color: color)
                }
            }
        }
    }

    /// Each glyph: five rows of three bits (4 = left column).
    static let font: [Character: [UInt8]] = [
        "0": [7, 5, 5, 5, 7], "1": [2, 6, 2, 2, 7], "2": [7, 1, 7, 4, 7], "3": [7, 1, 7, 1, 7], "4": [5, 5, 7, 1, 1],
        "5": [7, 4, 7, 1, 7], "6": [7, 4, 7, 5, 7], "7": [7, 1, 1, 2, 2], "8": [7, 5, 7, 5, 7], "9": [7, 5, 7, 1, 7],
        "-": [0, 0, 7, 0, 0], ".": [0, 0, 0, 0, 2], "_": [0, 0, 0, 0, 7], "/": [1, 1, 2, 4, 4], " ": [0, 0, 0, 0, 0],
        "A": [2, 5, 7, 5, 5], "B": [6, 5, 6, 5, 6], "C": [3, 4, 4, 4, 3], "D": [6, 5, 5, 5, 6], "E": [7, 4, 6, 4, 7],
        "F": [7, 4, 6, 4, 4], "G": [3, 4, 5, 5, 3], "H": [5, 5, 7, 5, 5], "I": [7, 2, 2, 2, 7], "J": [1, 1, 1, 5, 2],
        "K": [5, 5, 6, 5, 5], "L": [4, 4, 4, 4, 7], "M": [5, 7, 7, 5, 5], "N": [6, 5, 5, 5, 5], "O": [2, 5, 5, 5, 2],
        "P": [6, 5, 6, 4, 4], "Q": [2, 5, 5, 6, 3], "R": [6, 5, 6, 5, 5], "S": [3, 4, 2, 1, 6], "T": [7, 2, 2, 2, 2],
        "U": [5, 5, 5, 5, 7], "V": [5, 5, 5, 5, 2], "W": [5, 5, 7, 7, 5], "X": [5, 5, 2, 5, 5], "Y": [5, 5, 2, 2, 2],
        "Z": [7, 1, 2, 4, 7],
        "(": [1, 2, 2, 2, 1], ")": [4, 2, 2, 2, 4], ",": [0, 0, 0, 2, 4], ":": [0, 2, 0, 2, 0], "=": [0, 7, 0, 7, 0],
        "+": [0, 2, 7, 2, 0], "%": [5, 1, 2, 4, 5], "<": [1, 2, 4, 2, 1], ">": [4, 2, 1, 2, 4], "'": [2, 2, 0, 0, 0],
        "[": [6, 4, 4, 4, 6], "]": [3, 1, 1, 1, 3], "|": [2, 2, 2, 2, 2], "*": [0, 5, 2, 5, 0], "?": [7, 1, 2, 0, 2],
        "#": [5, 7, 5, 7, 5],
    ]

    /// The rows of `ch`'s glyph: its own, its capital's, or its alias's.
    static func glyph(_ ch: Character) -> [UInt8]? {
        if let rows = font[ch] { return rows }
        let upper = ch.uppercased()
        if upper.count == 1, let rows = font[Character(upper)] { return rows }
        return aliases[ch].flatMap { font[$0] }
    }

    /// Characters drawn as another glyph: the multiplication sign, the minus sign, the dashes.
    static let aliases: [Character: Character] = ["×": "*", "−": "-", "–": "-", "—": "-", "·": "."]
}
