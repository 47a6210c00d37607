import ArgumentParser

@main
struct Latte: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "latte",
        abstract: "LatteFlow: LaTtE-Flow image generation and understanding on the CPU.",
        // One file per subcommand; add new ones here.
        subcommands: [InfoCommand.self, AssetsCommand.self, TokenizeCommand.self, ChatCommand.self, TrainVAECommand.self, TrainVisionCommand.self, TrainLikeCommand.self, LikeAdapterCommand.self, VAECommand.self, TrainCommand.self, GenerateCommand.self, EvalGroupCommand.self, ConvertWeightsCommand.self, FIDCommand.self, ClassifierCommand.self, ServeCommand.self, BenchCommand.self, InspectCommand.self, PlotCommand.self])
}

struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench", abstract: "Benchmarks that print ratios against references measured in the same run.",
        subcommands: [BenchGemmCommand.self, BenchTransformerCommand.self, BenchKernelsCommand.self, BenchTokenizerCommand.self, BenchSampleCommand.self, BenchLMCommand.self, BenchVisionCommand.self, BenchVAECommand.self, BenchTrainCommand.self, BenchBatchingCommand.self, BenchServeCommand.self, BenchDistributedCommand.self])
}
