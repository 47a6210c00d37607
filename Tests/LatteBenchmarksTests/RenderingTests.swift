// Tables and JSON of the benchmarks, pinned: scripts (scripts/bench_*.py) and earlier results read them.
import XCTest
@testable import LatteBenchmarks

final class RenderingTests: XCTestCase {
    func testGemmRowWithAndWithoutOpenBLAS() {
        let both = GemmRow(shape: "64x576x1536", threads: 2, oursGFLOPS: 150.25, openBLASGFLOPS: 120.5, ratio: 1.247)
        XCTAssertEqual(both.json, #"{"shape": "64x576x1536", "threads": 2, "ours_gflops": 150.25, "openblas_gflops": 120.5, "ratio": 1.247}"#)
        XCTAssertEqual(both.tableLine, "64x576x1536       2        150.2         120.5             1.247")
        let alone = GemmRow(shape: "8x8x8", threads: 1, oursGFLOPS: 3.5, openBLASGFLOPS: nil, ratio: nil)
        XCTAssertEqual(alone.json, #"{"shape": "8x8x8", "threads": 1, "ours_gflops": 3.5, "openblas_gflops": null, "ratio": null}"#)
        XCTAssertEqual(alone.tableLine, "8x8x8             1        3.5           n/a               n/a")
        XCTAssertEqual(GemmBenchmark.json([alone, alone]), "[\n  \(alone.json),\n  \(alone.json)\n]")
    }

    func testAttentionWithoutNaiveShowsNullAndNoSpeedUp() {
        let t = AttentionRow.Time(wall: 0.0005, cpu: 0.001)
        let row = AttentionRow(shape: "B=1 H=1 T=16 D=8", threads: 2, variant: "avx2", naive: nil, flash: t, flashCausal: t, decode: t)
        XCTAssertTrue(row.json.contains(#""naive_ms": null, "flash_ms": 0.5,"#), row.json)
        XCTAssertTrue(row.json.contains(#""naive_cpu_ms": null, "flash_cpu_ms": 1.0,"#), row.json)
        let lines = row.table.split(separator: "\n", omittingEmptySubsequences: false)
        XCTAssertEqual(lines.first, "")
        XCTAssertEqual(lines[1], "attention B=1 H=1 T=16 D=8, 2 thread(s), avx2 kernels   wall ms    cpu ms")
        XCTAssertEqual(lines[3], "flash, no mask                                          0.500     1.000")
        XCTAssertEqual(lines.count, 6, "no speed-up line without the naive timing")
        XCTAssertNotNil(AttentionRow(shape: "", threads: 1, variant: "", naive: t, flash: t, flashCausal: t, decode: t)
            .table.range(of: "flash (no mask) is 1.0× faster than naive (cpu time)"))
    }

    func testTransformerJSONHasTheKeysBenchTransformerPyReads() throws {
        let result = TransformerResult(options: .init(layers: 1, hidden: 64, heads: 2, mlp: 128, sequence: 8), threads: 1,
                                       forwardSeconds: 0.0625, forwardBackwardSeconds: 0.25)
        XCTAssertEqual(try result.json(),
                       #"{"forward_backward_ms":250,"forward_ms":62.5,"heads":2,"hidden":64,"layers":1,"mlp":128,"sequence":8,"threads":1}"#)
        XCTAssertEqual(result.table, "transformer 1×(64, 2 heads, mlp 128), seq 8, 1 threads: forward 62.5 ms, forward+backward 250.0 ms")
    }

    func testVAEResultWithTheDiffusersReference() throws {
        var small = AutoencoderThroughputRow(name: "small", size: 8, batch: 1, blockOutChannels: [32, 64, 64],
                                             encodeImagesPerSecond: 400, decodeImagesPerSecond: 1000)
        small.torch = .init(encodeImagesPerSecond: 100, decodeImagesPerSecond: 50)
        var conv = ConvThroughputRow(name: "conv3x3 32→32 32×32 batch 64", channels: 32, size: 32, batch: 64, gflops: 25)
        conv.torchGFLOPS = 20
        let result = VAEResult(threads: 1, repeats: 1, torchStatus: "measured (fake)", autoencoders: [small], convs: [conv])
        // "%-7@" pads nothing on Linux Foundation: one space after the name, as every earlier run printed.
        XCTAssertEqual(result.table, """
            AutoencoderKL fp32, random weights, 1 threads, best of 1; diffusers: measured (fake)
            small [32, 64, 64] 8×8 batch 1: encode 400 img/s, decode 1e+03 img/s | diffusers encode 100, decode 50 | ratio (ours / diffusers) encode 4.00×, decode 20.00×
            conv3x3 32→32 32×32 batch 64: 25.0 GFLOP/s | torch 20.0 GFLOP/s | ratio 1.25×
            """)
        XCTAssertEqual(try result.json(), #"{"conv2d":[{"batch":64,"channels":32,"gflops":25,"name":"conv3x3 32→32 32×32 batch 64","ratio":1.25,"#
            + #""size":32,"torch_gflops":20}],"repeats":1,"results":[{"batch":1,"block_out_channels":[32,64,64],"decode_images_per_second":1000,"#
            + #""encode_images_per_second":400,"name":"small","ratio_decode":20,"ratio_encode":4,"size":8,"torch_decode_images_per_second":50,"#
            + #""torch_encode_images_per_second":100}],"threads":1,"torch":"measured (fake)"}"#)
    }

    func testSampleJSONKeysWithAndWithoutPyTorch() throws {
        func result(torch: [String: Any]?) -> SampleResult {
            SampleResult(options: .init(groups: 5, layers: 30, guidance: 1.5), threads: 2, secondsPerImageExperts: 0.5,
                         secondsPerImageVanilla: 2, trainingSamplesPerSecond: 64, prefillBackbone: "stand-in", prefillSeconds: 0.5,
                         torch: torch, torchSkipped: torch == nil ? "--no-torch given" : "")
        }
        let common: Set = [
            "groups", "layers", "layers_per_step_experts", "width", "steps", "guidance", "image_tokens", "prompt_tokens", "threads",
            "repeats", "seconds_per_image_experts", "seconds_per_image_vanilla", "speedup", "includes_prompt_prefill",
            "training_batch", "training_samples_per_second_one_group", "prefill_backbone", "prefill_seconds",
            "seconds_per_image_experts_with_prefill", "seconds_per_image_vanilla_with_prefill", "speedup_with_prefill",
        ]
        func keys(_ r: SampleResult) throws -> Set<String> {
            Set(try XCTUnwrap(JSONSerialization.jsonObject(with: Data(try r.json().utf8)) as? [String: Any]).keys)
        }
        XCTAssertEqual(try keys(result(torch: nil)), common.union(["torch_skipped"]))
        let withTorch = result(torch: ["torch_version": "x", "seconds_per_image_experts": 0.25, "seconds_per_image_vanilla": 1.0,
                                       "training_samples_per_second_one_group": 32.0])
        XCTAssertEqual(try keys(withTorch), common.union(["torch", "ratio_ours_over_torch"]))
        XCTAssertEqual(withTorch.ratiosOverTorch, ["experts_seconds": 2, "vanilla_seconds": 2, "training_seconds_per_sample": 0.5])
        XCTAssertEqual(result(torch: nil).table.split(separator: "\n").first,
                       "K=5: 0.500 s/image, vanilla: 2.000 s/image, speedup 4.00× (ideal 5×), 40 steps, guidance 1.5")
    }
}
