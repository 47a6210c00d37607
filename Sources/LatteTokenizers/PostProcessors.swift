/// What `encode(addSpecialTokens: true)` wraps around a single sequence.
indirect enum PostProcessor {
    /// TemplateProcessing's `single` template: special-token ids before and after `$A`.
    case template(prefix: [Int], suffix: [Int])
    /// BertProcessing `[CLS] A [SEP]`, RobertaProcessing `<s> A </s>`.
    case wrap(first: Int, last: Int)
    /// ByteLevel only trims offsets: the ids are unchanged.
    case none
    case sequence([PostProcessor])

    func process(_ ids: [Int]) -> [Int] {
        switch self {
        case let .template(prefix, suffix): return prefix + ids + suffix
        case let .wrap(first, last): return [first] + ids + [last]
        case .none: return ids
        case .sequence(let list): return list.reduce(ids) { $1.process($0) }
        }
    }

    /// Number of ids added around a sequence.
    var addedCount: Int {
        switch self {
        case let .template(p, s): return p.count + s.count
        case .wrap: return 2
        case .none: return 0
        case .sequence(let list): return list.reduce(0) { $0 + $1.addedCount }
        }
    }
}
