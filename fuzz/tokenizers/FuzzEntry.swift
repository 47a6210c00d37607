// libFuzzer entry for LatteTokenizers' parsers (tokenizer.json and GGUF tokenizer metadata).
// Built and run by scripts/tokenizer_fuzz.sh: the library sources and this file are compiled as one module
// with -sanitize=fuzzer,address, so nothing here imports LatteTokenizers.
import Foundation

@_cdecl("LLVMFuzzerTestOneInput")
public func latteTokenizerFuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Data(bytes: data, count: size)
    // Whatever parses must also tokenise and decode without trapping.
    if let t = try? Tokenizer(jsonData: bytes, file: "fuzz.json") {
        let ids = t.encode("Hello wörld 12345 <s> [CLS] 日本語 😀\n\t", addSpecialTokens: true)
        _ = t.decode(ids + [0, 1, 2, 1 << 30, -1], skipSpecialTokens: false)
    }
    if let v = try? GGUFVocabulary(data: bytes, file: "fuzz.gguf"), let t = try? Tokenizer.fromGGUF(v, file: "fuzz.gguf") {
        _ = t.decode(t.encode("Hello 123 <|im_start|>"))
    }
    return 0
}
