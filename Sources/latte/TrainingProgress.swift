import LatteNN

/// The library's progress bar under its own name here, so the commands that do not import LatteNN
/// (generate, eval, vae) keep using it as they did when it lived in this target.
typealias TrainingProgress = LatteNN.TrainingProgress
