import ArgumentParser
import LatteKernels

/// `--quantized-format q8_0|q4_1`: the format `--quantized` quantises a Hugging Face Qwen2-VL folder's
/// language model to at load (a GGUF keeps the formats its file stores).
extension QuantizedFormat: ExpressibleByArgument {
    public init?(argument: String) {
        switch argument.lowercased() {
        case "q8_0", "q8": self = .q8_0
        case "q4_1", "q4": self = .q4_1
        default: return nil
        }
    }

    public static var allValueStrings: [String] { ["q8_0", "q4_1"] }
}
