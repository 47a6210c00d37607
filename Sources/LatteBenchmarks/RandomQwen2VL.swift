import LatteKernels
import LatteModels
import LatteNN
import LatteTensor

/// Randomly initialised Qwen2-VL models of the 2B geometry (or a tiny one with the same code paths) for
/// speed measurements that need no download: the language model of `latte bench sample --config paper`
/// (`PaperSampleBenchmark.randomBackbone`, same seed) in a chosen weight format, and the vision tower.
public enum RandomQwen2VL {
    /// Model names `latte bench lm --model` accepts for these.
    public static let names = ["qwen2-vl-2b-random", "qwen2-vl-tiny-random"]

    /// nil when `name` is not one of `names`; else whether it is the tiny one.
    public static func isTiny(_ name: String) -> Bool? {
        switch name {
        case names[0]: return false
        case names[1]: return true
        default: return nil
        }
    }

    /// How the language model's weights are kept: as built (f32), as a bf16 checkpoint keeps them (every
    /// tensor bf16, decoding reading them directly), or quantised at load (`Qwen2VLQuantization`, Q8_0
    /// embedding/head).
    public enum Weights: String, CaseIterable, Sendable {
        case f32, bf16, q8_0, q4_1
    }

    /// The text model with N(0, 0.02) weights (RMSNorm weights 1) in `weights`; the vision tower keeps its
    /// placeholders.
    public static func languageModel(tiny: Bool, weights: Weights) throws -> Qwen2VLModel {
        let lm = PaperSampleBenchmark.randomBackbone(PaperSampleBenchmark.backboneConfiguration(tiny: tiny))
        switch weights {
        case .f32: break
        case .bf16:
            for (name, p) in lm.namedParameters() where name.hasPrefix("model.") { p.assign(p.value.to(.bfloat16)) }
        case .q8_0: try lm.quantizeLanguageModel(Qwen2VLQuantization(layers: .q8_0))
        case .q4_1: try lm.quantizeLanguageModel(Qwen2VLQuantization(layers: .q4_1))
        }
        return lm
    }

    /// The vision tower (2B: 32 blocks of width 1280, 16 heads, patch 14, merge 2) with N(0, 0.02)
    /// weights and biases, LayerNorm weights 1; bf16 keeps every tensor bf16 as the checkpoint does.
    public static func visionTower(tiny: Bool, bf16: Bool) -> Qwen2VLVisionTower {
        let tower = Qwen2VLVisionTower(configuration: PaperSampleBenchmark.backboneConfiguration(tiny: tiny).vision)
        var g = RandomGenerator(seed: 6)
        for (name, p) in tower.namedParameters() {
            let isNorm = name.hasSuffix(".weight") && (name.contains("norm") || name.contains("ln_q"))
            let v = isNorm ? Tensor.ones(p.shape) : Tensor.normal(p.shape, std: 0.02, generator: &g)
            p.assign(bf16 ? v.to(.bfloat16) : v)
        }
        return tower
    }
}
