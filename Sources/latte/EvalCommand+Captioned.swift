import ArgumentParser
import Foundation
import LatteEval
import LatteFlow
import LatteFormats
import LatteModels
import LatteNN
import LatteTensor

/// `latte eval` on a captioned model (model.json names an `evaluation`): one image per held-out caption,
/// then FID against the held-out images (with its train-vs-held-out floor), prompt adherence with the
/// category classifier (beside its accuracy on the real held-out images) and memorisation
/// (`CaptionedEvaluation`, docs/evaluation.md).
extension EvalCommand {
    func runCaptioned(pipeline: TextToImagePipeline, evaluation: TextToImageEvaluation) throws {
        let classifierURL = classifier.map { URL(fileURLWithPath: $0) }
            ?? evaluation.classifierDirectory(modelDirectory: URL(fileURLWithPath: model))
        let net: ImageClassifier
        do { net = try ImageClassifier.load(directory: classifierURL) } catch {
            throw CommandFailure("cannot load the category classifier \(classifierURL.path) (\(classifier == nil ? "named by \(model)/model.json" : "--classifier")): \(error)")
        }
        let settings = try sampling.settings(for: pipeline, seed: seed)

        // Real images are prepared at the model's output size (one zero latent decoded tells it), with
        // the classifier's background and channels; the classifier sees both through the same resize.
        let g = pipeline.generator.configuration
        let probe = pipeline.decode(Tensor.zeros([1, g.latentChannels, g.latentHeight, g.latentWidth]))
        let (channels, side) = (probe.dim(1), probe.dim(2))
        guard probe.dim(3) == side, channels == net.configuration.channels else {
            throw CommandFailure("\(model) makes \(channels)-channel \(probe.dim(3))×\(side) images; the classifier at \(classifierURL.path) reads square \(net.configuration.channels)-channel images")
        }
        var preparation = try net.configuration.preparation
        preparation.resolution = side
        let splits = try EvaluationSplits(data: evaluation.data, heldOut: evaluation.heldOut)
        say("preparing \(splits.training.count) training and \(splits.heldOut.count) held-out images of \(splits.description) (\(preparation.fingerprint))")
        let training = try LabelledImageSet.load(splits.training, preparation: preparation)
        let heldOut = try LabelledImageSet.load(splits.heldOut, preparation: preparation)
        for s in training.skipped + heldOut.skipped { say("skipped unreadable \(s.file): \(s.reason)") }

        let inception = try InceptionFID.load(log: say)
        let cache = try InceptionFeatureCache(network: inception)
        var options = CaptionedEvaluation.Options()
        options.seed = seed
        options.limit = limit
        options.memorisationPercentile = memorisationPercentile
        options.fid = !skipFid
        var generationSeconds = 0.0
        let (report, images, prompts) = try CaptionedEvaluation.run(
            training: training, heldOut: heldOut, classNames: net.configuration.classNames, options: options,
            generate: { prompts, seeds in
                let requests = zip(prompts, seeds).map { ImageRequest(prompt: $0, seed: $1) }
                var progress = TrainingProgress(total: requests.count, label: "generating")
                let start = Date()
                let images = try pipeline.generate(requests, settings: settings, batchSize: batch) { p in
                    if p.step == p.stepsPerBatch { progress.update(step: p.imagesDone + p.batchImages, fields: []) }
                    return true
                }
                generationSeconds = Date().timeIntervalSince(start)
                return ImageTensors.unitRange(images).contiguous()
            },
            classify: { try net.predict(EvaluationImages.resized($0, side: net.configuration.resolution)) },
            features: { images, role in
                var progress = TrainingProgress(total: images.dim(0), label: "FID features (\(role.rawValue))")
                let update: (Int, Int) -> Void = { done, _ in progress.update(step: done, fields: []) }
                return role == .generated ? try inception.features(of: images, progress: update)
                                          : try cache.features(of: images, log: say, progress: update)
            })
        if let saveImages { try writeImages(images, prompts: prompts, to: URL(fileURLWithPath: saveImages)) }
        let speed = skipSpeed ? [:] : try measureSpeed(pipeline, settings: settings) { prompts[$0 % prompts.count] }

        if json {
            let encoder = JSONEncoder()
            encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
            var object = try JSONSerialization.jsonObject(with: try encoder.encode(report)) as! [String: Any]
            object["data"] = splits.description
            object["classifier"] = classifierURL.path
            object["preparation"] = preparation.fingerprint
            object["seeds"] = "image i uses first_seed + i"
            object["skipped_unreadable"] = training.skipped.count + heldOut.skipped.count
            object["steps"] = settings.steps
            object["solver"] = settings.solver.rawValue
            object["guidance"] = settings.guidance
            object["shift"] = settings.shift
            object["guidance_interval"] = [settings.guidanceInterval.lowerBound, settings.guidanceInterval.upperBound]
            object["generation_seconds"] = generationSeconds
            if let path = sampling.schedulerConfig { object["scheduler_config"] = path; object["mu"] = sampling.mu }
            if let guide = sampling.guide.source(model: model, pipeline: pipeline) { object["guide_model"] = guide; object["guide_weight"] = settings.guideWeight }
            for (k, v) in speed { object[k] = v }
            print(String(decoding: try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]), as: UTF8.self))
        } else {
            printCaptioned(report, data: splits.description, classNames: net.configuration.classNames)
            for (k, v) in speed.sorted(by: { $0.key < $1.key }) { print(String(format: "%@ %.3f", k as NSString, v)) }
            print(String(format: "(%d %@ steps, guidance %.2f at t %.2f…%.2f, shift %.1f; images from seed %llu + i; generation took %.0f s)", settings.steps,
                         settings.solver.rawValue as NSString, settings.guidance, settings.guidanceInterval.lowerBound,
                         settings.guidanceInterval.upperBound, settings.shift, report.firstSeed, generationSeconds))
            if let guide = sampling.guide.source(model: model, pipeline: pipeline), settings.guideWeight != 1 {
                print(String(format: "(autoguidance weight %.2f against %@)", settings.guideWeight, guide as NSString))
            }
        }
    }

    func printCaptioned(_ r: CaptionedEvaluation.Report, data: String, classNames: [String]) {
        if let fid = r.fid, let floor = r.fidFloor {
            print(String(format: "FID %.2f: %d generated vs %d held-out images of %@ (|μ₁−μ₂|² %.2f); floor at this count: %d training vs the same held-out images %.2f",
                         fid, r.generatedImages, r.fidImages, data as NSString, r.fidMeanTerm ?? 0, r.fidImages, floor))
        }
        print(String(format: "prompt adherence %.1f %% (%d/%d labelled held-out captions); the classifier on the real held-out images %.1f %%: gap %.1f points",
                     r.adherence.fraction * 100, r.adherence.correct, r.adherence.total, r.classifierAccuracy.fraction * 100, r.adherenceGapPoints))
        print(String(format: "  every category weighted equally: adherence %.1f %%, real %.1f %%, gap %.1f points (always naming the largest category: %.1f %%)",
                     r.adherence.balancedFraction * 100, r.classifierAccuracy.balancedFraction * 100, r.balancedAdherenceGapPoints,
                     r.classifierAccuracy.majorityFraction * 100))
        for name in classNames {
            guard let a = r.adherence.perCategory[name], let c = r.classifierAccuracy.perCategory[name] else { continue }
            print("  \(name.column(classNames)) " + String(format: "generated %5.1f %%  real %5.1f %%  (%d)", a.fraction * 100, c.fraction * 100, a.total))
        }
        let m = r.memorisation
        print(String(format: "memorisation %.1f %% (%d/%d generated images nearer a training image than %.2f, percentile %g of the held-out images' nearest-training distances; %.1f %% of held-out images are, by construction)",
                     m.fraction * 100, m.flagged, m.generated, m.threshold, m.percentile, m.heldOutFraction * 100))
        print(String(format: "  median nearest-training distance: generated %.2f, held-out %.2f (%d training images)",
                     m.generatedMedianDistance, m.heldOutMedianDistance, m.training))
    }

    /// Writes images [N, C, H, W] in [0, 1] as PNGs named by index and prompt.
    func writeImages(_ images: Tensor, prompts: [String], to folder: URL) throws {
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        for (i, image) in ImageTensors.images(images * 2 - 1).enumerated() {
            let words = prompts[i].lowercased().map { $0.isLetter || $0.isNumber ? $0 : "-" }
            let name = String(String(words).split(separator: "-").joined(separator: "-").prefix(60))
            try PNG.write(image, to: folder.appendingPathComponent(String(format: "%05d-%@.png", i, name)).path)
        }
    }
}
