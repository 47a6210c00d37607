// swift-tools-version:6.0
//
// LatteFlow: the layering reads bottom-up, and no target imports one above it.
//
//   CLatteKernels   C micro-kernels with per-function target attributes (AVX-512 / AVX2+FMA / generic),
//                   chosen at run time by CPU feature, so no unsafe compiler flags are needed anywhere.
//   LatteKernels    Swift drivers over them: GEMM blocking and packing, thread pool, vector math,
//                   attention kernel, optional OpenBLAS loaded with dlopen.
//   LatteTensor     Tensors, views, ops, reverse-mode autograd on a tape, safetensors I/O.
//   LatteNN         Modules with checkpoint-named parameters, layers, optimisers, schedules, EMA.
//   LatteTokenizers tokenizer.json and GGUF tokenizers (BPE, WordPiece), chat templates.
//   LatteFormats    GGUF, images (CImageShims: libpng, libjpeg, zlib), datasets, the asset cache.
//                   These two stand alone, with no tensor engine below them; LatteModels joins them to
//                   LatteNN.
//   LatteModels     model families, one file each: LLaMA, Qwen2-VL, AutoencoderKL, AutoencoderDC.
//   LatteFlow       the LaTtE-Flow generator: timestep experts, residual attention, flow matching,
//                   samplers, trainer.
//   LatteBenchmarks what `latte bench` measures: options in, typed rows out, tables and JSON, each
//                   beside its reference (OpenBLAS, PyTorch, HF tokenizers, diffusers) in the same run.
//   LatteServe      `latte serve`: the OpenAI-compatible HTTP server (Hummingbird); only `latte` uses it.
//   latte           the command line.
import PackageDescription

let package = Package(
    name: "LatteFlow",
    products: [
        .library(name: "LatteKernels", targets: ["LatteKernels"]),
        .library(name: "LatteTensor", targets: ["LatteTensor"]),
        .library(name: "LatteNN", targets: ["LatteNN"]),
        .library(name: "LatteTokenizers", targets: ["LatteTokenizers"]),
        .library(name: "LatteFormats", targets: ["LatteFormats"]),
        .library(name: "LatteModels", targets: ["LatteModels"]),
        .library(name: "LatteFlow", targets: ["LatteFlow"]),
        .library(name: "LatteEval", targets: ["LatteEval"]),
        .library(name: "LatteBenchmarks", targets: ["LatteBenchmarks"]),
        .executable(name: "latte", targets: ["latte"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        // The HTTP stack of `latte serve` only (LatteServe); the libraries never depend on these.
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.0.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.60.0"),
        .package(url: "https://github.com/apple/swift-http-types", from: "1.0.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.0.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.0.0"),
    ],
    targets: [
        .target(name: "CLatteKernels"),
        .target(name: "LatteKernels", dependencies: ["CLatteKernels"]),
        .target(name: "LatteTensor", dependencies: ["LatteKernels"]),
        .target(name: "LatteNN", dependencies: ["LatteTensor", "LatteKernels"]),
        .target(name: "LatteTokenizers"),
        // C shim over the system libpng, libjpeg and zlib: their longjmp error paths stay in C.
        .target(
            name: "CImageShims",
            linkerSettings: [.linkedLibrary("png16"), .linkedLibrary("jpeg"), .linkedLibrary("z")]),
        .target(name: "LatteFormats", dependencies: ["CImageShims", "LatteKernels"]),
        .target(name: "LatteModels", dependencies: ["LatteNN", "LatteFormats", "LatteTokenizers"]),
        .target(name: "LatteFlow", dependencies: ["LatteModels"]),
        // FID (Inception network converted from TorchScript, Fréchet distance) and the Fashion-MNIST classifier.
        .target(name: "LatteEval", dependencies: ["LatteNN", "LatteFormats"]),
        .target(
            name: "LatteBenchmarks",
            dependencies: ["LatteKernels", "LatteTensor", "LatteNN", "LatteTokenizers", "LatteFormats", "LatteModels", "LatteFlow"]),
        // `latte serve`: the OpenAI-compatible HTTP server (Hummingbird). Only the `latte` executable
        // depends on it, so users of the LatteFlow library never build the HTTP stack.
        .target(
            name: "LatteServe",
            dependencies: [
                "LatteKernels", "LatteTensor", "LatteTokenizers", "LatteFormats", "LatteModels", "LatteFlow",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            // The web page (GET /): plain HTML, CSS and JavaScript, served as they are.
            resources: [.copy("Web")]),
        .executableTarget(
            name: "latte",
            dependencies: [
                "LatteKernels", "LatteTensor", "LatteNN", "LatteTokenizers", "LatteFormats", "LatteModels", "LatteFlow", "LatteEval", "LatteBenchmarks",
                "LatteServe",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]),
        // Fuzz targets for every parser (fuzz/run.sh); an ordinary build makes a replay tool.
        .executableTarget(name: "latte-fuzz", dependencies: ["LatteTensor", "LatteFormats", "LatteTokenizers", "LatteModels", "LatteFlow"]),
        // What the test targets share: pinned real assets that skip when absent, or fail under CI=true.
        .target(name: "LatteTestSupport", dependencies: ["LatteFormats"], path: "Tests/LatteTestSupport"),
        .target(name: "LatteFlowTestSupport", dependencies: ["LatteFlow", "LatteModels"], path: "Tests/LatteFlowTestSupport"),
        .testTarget(name: "LatteKernelsTests", dependencies: ["LatteKernels"]),
        .testTarget(name: "LatteTensorTests", dependencies: ["LatteTensor"], resources: [.copy("Fixtures")]),
        .testTarget(name: "LatteNNTests", dependencies: ["LatteNN"]),
        .testTarget(name: "LatteTokenizersTests", dependencies: ["LatteTokenizers", "LatteTestSupport"], resources: [.copy("Fixtures")]),
        .testTarget(name: "LatteFormatsTests", dependencies: ["LatteFormats", "LatteTestSupport"], resources: [.copy("Fixtures")]),
        .testTarget(name: "LatteModelsTests", dependencies: ["LatteModels", "LatteTestSupport"], resources: [.copy("Fixtures")]),
        .testTarget(name: "LatteFlowTests", dependencies: ["LatteFlow", "LatteTestSupport"], resources: [.copy("Fixtures")]),
        .testTarget(name: "LatteEvalTests", dependencies: ["LatteEval", "LatteFlow", "LatteTestSupport"], resources: [.copy("Fixtures")]),
        .testTarget(name: "LatteBenchmarksTests", dependencies: ["LatteBenchmarks"]),
        .testTarget(
            name: "LatteServeTests",
            dependencies: [
                "LatteServe", "LatteFlow", "LatteModels", "LatteFormats", "LatteTestSupport", "LatteFlowTestSupport",
                .product(name: "Logging", package: "swift-log"),
            ],
            resources: [.copy("openai_client_check.py"), .copy("web_page_check.py")]),
        // Runs the built `latte` executable (a killed `latte train` resumes exactly); the dependency makes
        // `swift build --build-tests` and `swift test` build it first.
        .testTarget(name: "LatteCommandLineTests", dependencies: ["latte", "LatteFormats", "LatteModels", "LatteFlow", "LatteEval", "LatteTestSupport", "LatteFlowTestSupport"]),
    ],
    swiftLanguageModes: [.v5]
)
