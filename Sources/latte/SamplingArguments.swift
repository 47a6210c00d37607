import ArgumentParser
import LatteFlow

extension FlowSolver: ExpressibleByArgument {}

/// `--guidance-interval FROM,TO`: the times (t: 0 = noise, 1 = data) where guidance applies.
struct GuidanceIntervalArgument: ExpressibleByArgument {
    let range: ClosedRange<Float>

    init?(argument: String) {
        let parts = argument.split(separator: ",").map { Float($0.trimmingCharacters(in: .whitespaces)) }
        guard parts.count == 2, let from = parts[0], let to = parts[1], from >= 0, from <= to, to <= 1 else { return nil }
        range = from...to
    }

    static var defaultValueDescription: String { "FROM,TO with 0 ≤ FROM ≤ TO ≤ 1" }
}

/// A comma-separated list of expert groups: `--groups 2` (generate), `--train-groups 3,4` (train).
struct ExpertGroupList: ExpressibleByArgument {
    let groups: [Int]

    init?(argument: String) {
        let ids = argument.split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard !ids.isEmpty, ids.allSatisfy({ $0 != nil }) else { return nil }
        groups = ids.map { $0! }
    }

    static var defaultValueDescription: String { "group numbers separated by commas" }
}
