import Foundation
import LatteFlow
import LatteModels
import LatteNN
import LatteTensor

/// A whole tiny random text-to-image model with no asset: the character-tokenizer LLaMA backbone, a
/// 4-group generator (one layer each), a 2-group guide and an RGB AutoencoderKL (2 latent channels,
/// factor 2, 8×8 images cropped by 1 to 6×6).
func tinyServingPipeline(withGuide: Bool = true) throws -> TextToImagePipeline {
    let c = tinyConfiguration(groups: 4)
    let generator = try LayerwiseTimestepExperts(c, seed: 11)
    randomizeParameters(generator, seed: 12, std: 0.2)
    var v = AutoencoderKLConfiguration()
    v.inChannels = 3; v.outChannels = 3; v.blockOutChannels = [8, 8]; v.normNumGroups = 4; v.latentChannels = 2
    let vae = try AutoencoderKL(v, seed: 13)
    randomizeParameters(vae, seed: 14, std: 0.2)
    let manifest = TextToImageManifest(backbone: "test", autoencoder: "autoencoder", promptStartToken: "<|im_start|>", crop: 1,
                                       defaultSteps: 4, defaultGuidance: 2, defaultShift: 2, defaultSolver: .heun)
    let p = try TextToImagePipeline(manifest: manifest, generator: generator, autoencoder: vae,
                                    tokenizer: try TinyTextBackbone.tokenizer(), backbone: TinyTextBackbone.model())
    if withGuide {
        let guide = try LayerwiseTimestepExperts(tinyConfiguration(groups: 2), seed: 15)
        randomizeParameters(guide, seed: 16, std: 0.2)
        try p.setGuide(guide)
    }
    return p
}

/// Collects one job's events (thread-safe: events arrive on the loop thread).
final class JobEvents: @unchecked Sendable {
    private let lock = NSLock()
    private var list: [ImageJobEvent] = []
    let done = DispatchSemaphore(value: 0)

    var handler: @Sendable (ImageJobEvent) -> Void {
        { [self] event in
            lock.lock(); list.append(event); lock.unlock()
            if event.isFinal { done.signal() }
        }
    }

    var events: [ImageJobEvent] { lock.lock(); defer { lock.unlock() }; return list }

    var images: Tensor? {
        for case .finished(let t) in events { return t }
        return nil
    }

    var steps: [Int] { events.compactMap { if case .step(let k, _, _) = $0 { return k } else { return nil } } }

    var isCancelled: Bool { events.contains { if case .cancelled = $0 { return true } else { return false } } }
    var failure: String? {
        for case .failed(let m) in events { return m }
        return nil
    }
}
