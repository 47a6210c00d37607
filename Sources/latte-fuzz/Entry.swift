import Foundation

// Built with -DFUZZING and -sanitize=fuzzer (fuzz/run.sh), this is a libFuzzer target; in ordinary
// builds it replays files through the same target, to reproduce a crash a fuzzer saved:
//     LATTE_FUZZ_TARGET=gguf swift run latte-fuzz crash-1234

#if FUZZING
/// libFuzzer's entry for programs that keep their own main (SwiftPM always gives an executable one).
@_silgen_name("LLVMFuzzerRunDriver")
func LLVMFuzzerRunDriver(
    _ argc: UnsafeMutablePointer<CInt>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>>,
    _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt) -> CInt

nonisolated(unsafe) private var target: ([UInt8]) -> Void = { _ in }

@main
struct Fuzz {
    static func main() {
        target = FuzzTargets.selected
        var argc = CommandLine.argc
        var argv = CommandLine.unsafeArgv
        exit(LLVMFuzzerRunDriver(&argc, &argv) { data, size in
            target(size == 0 ? [] : [UInt8](UnsafeBufferPointer(start: data, count: size)))
            return 0
        })
    }
}
#else
@main
struct Replay {
    static func main() throws {
        let target = FuzzTargets.selected
        for path in CommandLine.arguments.dropFirst() {
            target([UInt8](try Data(contentsOf: URL(fileURLWithPath: path))))
            print("ok: \(path)")
        }
    }
}
#endif
