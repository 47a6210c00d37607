import Foundation
import LatteFormats

/// The training and held-out datasets of an evaluation: a named source with its own splits (`emoji`:
/// its deterministic 10 % held-out split; `fashion-mnist`: train and test), or a training set and a
/// separate held-out set (caption files or image folders, which carry no split of their own).
public struct EvaluationSplits {
    public let training: any Dataset
    public let heldOut: any Dataset
    /// How the two were named, for reports: "emoji" or "train.jsonl + held-out test.jsonl".
    public let description: String

    public init(data: String, heldOut: String? = nil) throws {
        if let heldOut {
            training = try ImageDataSource.dataset(data, split: .train)
            self.heldOut = try ImageDataSource.dataset(heldOut, split: .test)
            description = "\(data) + held-out \(heldOut)"
            return
        }
        guard !FileManager.default.fileExists(atPath: data) else {
            throw FIDError("\(data) is a file or folder with no held-out split of its own: name the held-out set too (--held-out, or \"held_out\" in model.json's evaluation)")
        }
        training = try ImageDataSource.dataset(data, split: .train)
        self.heldOut = try ImageDataSource.dataset(data, split: .test)
        description = data
    }
}
