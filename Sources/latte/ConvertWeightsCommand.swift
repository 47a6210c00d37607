import ArgumentParser
import Foundation
import LatteTensor

/// `latte convert-weights`: rewrites a safetensors weights file in another element type — f32, f16, or
/// row-wise int8 (`Int8RowwiseWeights`, for a model that must fit a size budget) — and says what it cost.
struct ConvertWeightsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "convert-weights", abstract: "Rewrite a safetensors weights file as f32, f16 or row-wise int8.")

    enum Target: String, ExpressibleByArgument, CaseIterable {
        case f32, f16, int8
        var dtype: DType { switch self { case .f32: .float32; case .f16: .float16; case .int8: .int8 } }
    }

    @Option(help: "The weights file to read (f32, f16, bf16 or int8).") var input: String
    @Option(help: "The file to write (atomically; may equal --input).") var output: String
    @Option(help: "Element type to write: f32, f16 or int8 (matrices as int8 codes with f16 row scales, the rest f16).")
    var dtype: Target

    func run() throws {
        let source = try Safetensors.read(contentsOf: URL(fileURLWithPath: input))
        let before = (try? FileManager.default.attributesOfItem(atPath: input)[.size] as? Int) ?? nil
        let values = try Int8RowwiseWeights.dequantize(source.tensors, file: input).mapValues { $0.dtype.isFloatingPoint ? $0.toFloat32() : $0 }
        let converted = Safetensors.encode(values, as: dtype.dtype)
        // The largest change any weight sees, measured on what will be read back.
        let readBack = try Int8RowwiseWeights.dequantize(converted, file: output)
        var largest: Float = 0, largestKey = ""
        for (key, v) in values where v.dtype.isFloatingPoint {
            let d = zip(v.toArray(), readBack[key]!.toFloat32().toArray()).reduce(Float(0)) { max($0, abs($1.0 - $1.1)) }
            if d > largest { largest = d; largestKey = key }
        }
        try Safetensors.write(converted, metadata: source.metadata, to: URL(fileURLWithPath: output))
        let after = (try? FileManager.default.attributesOfItem(atPath: output)[.size] as? Int) ?? nil
        let size = { (n: Int?) in n.map { String(format: "%.2f MB", Double($0) / 1e6) } ?? "?" }
        print("wrote \(output) (\(dtype.rawValue), \(values.count) tensors): \(size(before)) → \(size(after)); largest change of a weight \(String(format: "%.2e", largest))\(largestKey.isEmpty ? "" : " in \(largestKey)")")
    }
}
