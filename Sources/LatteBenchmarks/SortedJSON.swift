import Foundation

/// One line of JSON with sorted keys: the form the benchmarks built on JSONSerialization print, so
/// scripts and diffs see the keys in a stable order.
func sortedJSON(_ object: Any) throws -> String {
    String(decoding: try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]), as: UTF8.self)
}
