import Foundation

/// What a reference script (the Python side of a side-by-side benchmark) left behind.
struct ReferenceScriptRun {
    let status: Int32
    let output: Data
    let errorOutput: Data
}

/// Runs `python arguments…` through /usr/bin/env and waits for it; nil when the interpreter cannot be
/// started. Standard output is captured unless `captureOutput` is false, standard error only when
/// `captureErrors` is true; whatever is not captured is discarded, so a reference never writes into
/// the benchmark's own output.
func runReferenceScript(python: String, _ arguments: [String], captureOutput: Bool = true, captureErrors: Bool = false)
    -> ReferenceScriptRun? {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    p.arguments = [python] + arguments
    let out = Pipe(), err = Pipe()
    p.standardOutput = captureOutput ? out : FileHandle.nullDevice
    p.standardError = captureErrors ? err : FileHandle.nullDevice
    do { try p.run() } catch { return nil }
    // Standard error is drained beside standard output, so a chatty script cannot fill its pipe and stall.
    let errorOutput = DrainedOutput()
    let drained = DispatchGroup()
    if captureErrors {
        DispatchQueue.global().async(group: drained) { errorOutput.data = err.fileHandleForReading.readDataToEndOfFile() }
    }
    let output = captureOutput ? out.fileHandleForReading.readDataToEndOfFile() : Data()
    drained.wait()
    p.waitUntilExit()
    return ReferenceScriptRun(status: p.terminationStatus, output: output, errorOutput: errorOutput.data)
}

/// Written by the draining task only, read only after `drained.wait()`: the group orders the two.
private final class DrainedOutput: @unchecked Sendable {
    var data = Data()
}
