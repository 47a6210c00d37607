import Foundation
import LatteTensor

/// Why a set of tensors could not be loaded into a module. Every problem names the full dotted key;
/// shape problems name both shapes; errors raised while reading a file name the file.
public struct ParameterLoadError: Error, CustomStringConvertible, Equatable {
    public enum Problem: Equatable, Sendable {
        /// The module has a parameter the tensors lack.
        case missing(key: String, expected: [Int])
        /// The tensors hold a key the module has no parameter for.
        case unexpected(key: String, found: [Int])
        case shapeMismatch(key: String, expected: [Int], found: [Int])
        case unsupportedType(key: String, dtype: String)
    }

    public var problems: [Problem]
    /// The file the tensors came from, when known.
    public var file: String?

    public init(problems: [Problem], file: String? = nil) {
        self.problems = problems
        self.file = file
    }

    public var description: String {
        let shown = problems.prefix(8).map { p -> String in
            switch p {
            case .missing(let k, let e): return "missing key '\(k)': the module expects shape \(e), the checkpoint has no such tensor"
            case .unexpected(let k, let f): return "unexpected key '\(k)' with shape \(f): the module has no such parameter"
            case .shapeMismatch(let k, let e, let f): return "shape mismatch for '\(k)': the module expects \(e), the checkpoint has \(f)"
            case .unsupportedType(let k, let d): return "'\(k)' has element type \(d), a parameter needs a float type"
            }
        }
        let more = problems.count > 8 ? "\n  … and \(problems.count - 8) more" : ""
        let source = file.map { " from \($0)" } ?? ""
        return "cannot load parameters\(source):\n  " + shown.joined(separator: "\n  ") + more
    }
}

extension Module {
    /// Sets parameters from `tensors` keyed by full dotted checkpoint keys.
    ///
    /// Strict (the default) requires exactly the module's keys: no missing and no unexpected key.
    /// Shapes must match exactly in either mode. Every check runs before any value is changed, so a
    /// failed load leaves the module as it was. Tensors keep their storage (a memory-mapped bf16
    /// weight stays mapped) unless the parameter is packed in an arena, where values are copied in.
    public func update(parameters tensors: [String: Tensor], strict: Bool = true) throws {
        let own = namedParameters()
        var problems: [ParameterLoadError.Problem] = []
        var ownKeys = Set<String>()
        for (key, p) in own {
            ownKeys.insert(key)
            guard let t = tensors[key] else {
                if strict { problems.append(.missing(key: key, expected: p.shape)) }
                continue
            }
            if !t.dtype.isFloatingPoint {
                problems.append(.unsupportedType(key: key, dtype: t.dtype.rawValue))
            } else if t.shape != p.shape {
                problems.append(.shapeMismatch(key: key, expected: p.shape, found: t.shape))
            }
        }
        if strict {
            for key in tensors.keys.sorted() where !ownKeys.contains(key) {
                problems.append(.unexpected(key: key, found: tensors[key]!.shape))
            }
        }
        if !problems.isEmpty { throw ParameterLoadError(problems: problems) }
        for (key, p) in own { if let t = tensors[key] { p.assign(t) } }
    }

    /// Every parameter's current value by key (tied weights under each key).
    public func parameterTensors() -> [String: Tensor] {
        var d: [String: Tensor] = [:]
        for (k, p) in namedParameters() { d[k] = p.value }
        return d
    }

    /// Loads parameters from a safetensors file (memory-mapped; row-wise int8 matrices, see
    /// `Int8RowwiseWeights`, are expanded to float32), after `sanitize` renames or transposes keys as
    /// the model family requires; errors name the file.
    public func loadSafetensors(_ url: URL, strict: Bool = true,
                                sanitize: ([String: Tensor]) throws -> [String: Tensor] = { $0 }) throws {
        let file = try Safetensors.read(contentsOf: url)
        let tensors = try sanitize(Int8RowwiseWeights.dequantize(file.tensors, file: url.path))
        do {
            try update(parameters: tensors, strict: strict)
        } catch var error as ParameterLoadError {
            error.file = url.path
            throw error
        }
    }

    /// Writes every parameter (frozen ones too) to a safetensors file, atomically.
    /// `dtype` .float16 or .bfloat16 halves the file, .int8 stores matrices as row-wise int8 codes and
    /// the rest as f16 (`Int8RowwiseWeights`); loading converts back to float32.
    public func saveSafetensors(_ url: URL, metadata: [String: String] = [:], dtype: DType = .float32) throws {
        // A weight packed for inference has left its parameter as a placeholder: saving would write zeros.
        for case let (key, linear as Linear) in namedModules() where linear.packedWeight != nil {
            throw PackedWeightError("\(key.isEmpty ? "the model" : key): its weight is packed for inference (`packLinearWeightsForInference`) and cannot be saved; save a model loaded without packing")
        }
        try Safetensors.write(Safetensors.encode(parameterTensors(), as: dtype), metadata: metadata, to: url)
    }
}
