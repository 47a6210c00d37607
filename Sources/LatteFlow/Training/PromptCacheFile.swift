import Foundation
import LatteTensor
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Prompt caches stored as f16 in one file, entry after entry; each entry is, per backbone layer, its
/// keys [kvHeads, T, headDim] then its values, T being the entry's own token count (no padding). A JSON
/// header beside it (`<file>.json`) says what the file holds: backbone, geometry and a digest of every
/// entry's tokens. A file whose header matches is reused; one cut short by a killed run continues from
/// its last whole entry, so a resumed run never prefills a prompt twice.
///
/// Rows are read back with `pread` into a buffer of the batch's size and widened to f32, so the process
/// holds only the batch; the kernel's page cache holds what fits of the rest.
final class PromptCacheFile {
    struct Header: Codable, Equatable {
        static let currentFormat = "latteflow-prompt-caches-f16-1"
        var format = currentFormat
        var backbone: String
        var layers: Int
        var kvHeads: Int
        var headDim: Int
        var entries: Int
        /// SHA-256 of every entry's token ids in order: the same prompts in the same order.
        var tokens: String

        enum CodingKeys: String, CodingKey { case format, backbone, layers, entries, tokens, kvHeads = "kv_heads", headDim = "head_dim" }
    }

    let url: URL
    let header: Header
    /// Tokens per entry, and each entry's first byte.
    let lengths: [Int]
    let offsets: [Int]
    /// Entries already in the file (the rest are appended by `append`).
    private(set) var complete: Int
    private let descriptor: Int32

    /// f16 values of one token across all layers, keys and values.
    var valuesPerToken: Int { header.layers * 2 * header.kvHeads * header.headDim }
    var bytes: Int { offsets.last! }

    /// Opens `url` for these entries: reuses what a matching header's file holds (whole entries only),
    /// starts it afresh otherwise.
    init(url: URL, header: Header, lengths: [Int]) throws {
        precondition(header.entries == lengths.count, "header says \(header.entries) entries, \(lengths.count) lengths given")
        self.url = url
        self.header = header
        self.lengths = lengths
        let perToken = header.layers * 2 * header.kvHeads * header.headDim * 2
        var offsets = [0]
        for n in lengths { offsets.append(offsets.last! + n * perToken) }
        self.offsets = offsets
        let headerURL = URL(fileURLWithPath: url.path + ".json")
        let fm = FileManager.default
        let saved = (try? Data(contentsOf: headerURL)).flatMap { try? JSONDecoder().decode(Header.self, from: $0) }
        let size = (try? fm.attributesOfItem(atPath: url.path)[.size] as? Int) ?? nil
        var whole = 0
        if saved == header, let size {
            whole = offsets.lastIndex { $0 <= size }!
        } else {
            // Header first: a data file without its header is never trusted.
            try? fm.removeItem(at: url)
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            try encoder.encode(header).write(to: headerURL, options: .atomic)
        }
        let fd = open(url.path, O_RDWR | O_CREAT, 0o644)
        guard fd >= 0 else { throw GeneratorError.invalidInput("cannot open the prompt-cache file \(url.path): \(String(cString: strerror(errno)))") }
        // Drop a partly written last entry.
        guard ftruncate(fd, off_t(offsets[whole])) == 0 else {
            close(fd)
            throw GeneratorError.invalidInput("cannot truncate the prompt-cache file \(url.path): \(String(cString: strerror(errno)))")
        }
        descriptor = fd
        complete = whole
    }

    deinit { close(descriptor) }

    /// Appends the next entries from one prefill batch: per layer [B, kvHeads, T, headDim], row r
    /// being entry `complete + r` (its first `lengths[complete + r]` positions are real).
    func append(keys: [Tensor], values: [Tensor]) throws {
        let rows = keys[0].dim(0)
        precondition(complete + rows <= lengths.count, "more prompt caches than entries")
        let (kv, hd) = (header.kvHeads, header.headDim)
        let k = keys.map { $0.contiguous() }, v = values.map { $0.contiguous() }
        let t = k[0].dim(2)
        for r in 0..<rows {
            let entry = complete, n = lengths[entry]
            var buffer = [UInt16](repeating: 0, count: n * valuesPerToken)
            buffer.withUnsafeMutableBufferPointer { out in
                var at = 0
                for layer in 0..<header.layers {
                    for source in [k[layer], v[layer]] {
                        withExtendedLifetime(source) {
                            let p = source.f32 + r * kv * t * hd
                            // Each head's first n positions: the row's real tokens.
                            for h in 0..<kv {
                                for j in 0..<(n * hd) { out[at + j] = HalfConversion.float16Bits(p[h * t * hd + j]) }
                                at += n * hd
                            }
                        }
                    }
                }
            }
            if let bad = buffer.firstIndex(where: { $0 & 0x7C00 == 0x7C00 }) {
                throw GeneratorError.invalidInput("a prompt key or value (\(HalfConversion.float(fromFloat16: buffer[bad]))) does not fit f16: this backbone's caches must stay in memory as f32 (raise the prompt-cache memory budget)")
            }
            try buffer.withUnsafeBytes { try write($0, at: offsets[entry]) }
            complete += 1
        }
    }

    /// One-row f32 caches of `entries`, read from the file.
    func caches(_ entries: [Int]) throws -> [PromptCache] {
        let (kv, hd) = (header.kvHeads, header.headDim)
        var buffer = [UInt16]()
        return try entries.map { entry in
            precondition(entry < complete, "prompt cache \(entry) is not written yet")
            let n = lengths[entry], count = n * valuesPerToken
            if buffer.count < count { buffer = [UInt16](repeating: 0, count: count) }
            try buffer.withUnsafeMutableBytes { try read(into: UnsafeMutableRawBufferPointer(rebasing: $0[0..<(2 * count)]), at: offsets[entry]) }
            var keys: [Tensor] = [], values: [Tensor] = []
            buffer.withUnsafeBufferPointer { p in
                var at = 0
                for _ in 0..<header.layers {
                    for isKey in [true, false] {
                        let t = Tensor.empty([1, kv, n, hd])
                        HalfConversion.widenFloat16(p.baseAddress! + at, count: kv * n * hd, into: t.f32)
                        at += kv * n * hd
                        if isKey { keys.append(t) } else { values.append(t) }
                    }
                }
            }
            return PromptCache(keys: keys, values: values, lengths: [n])
        }
    }

    private func write(_ bytes: UnsafeRawBufferPointer, at offset: Int) throws {
        var done = 0
        while done < bytes.count {
            let n = pwrite(descriptor, bytes.baseAddress! + done, bytes.count - done, off_t(offset + done))
            guard n > 0 else { throw GeneratorError.invalidInput("cannot write the prompt-cache file \(url.path): \(String(cString: strerror(errno)))") }
            done += n
        }
    }

    private func read(into bytes: UnsafeMutableRawBufferPointer, at offset: Int) throws {
        var done = 0
        while done < bytes.count {
            let n = pread(descriptor, bytes.baseAddress! + done, bytes.count - done, off_t(offset + done))
            guard n > 0 else { throw GeneratorError.invalidInput("the prompt-cache file \(url.path) ends early (at byte \(offset + done)): delete it to prefill again") }
            done += n
        }
    }
}
