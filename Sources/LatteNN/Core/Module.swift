import LatteTensor

/// A layer or model: a tree of parameters and sub-modules named by checkpoint keys.
///
/// Names come from stored properties, found by reflection (as mlx-swift's `Module`): a property
/// `q_proj` holding a `Linear` contributes `q_proj.weight` and `q_proj.bias`; an array property
/// `layers` contributes `layers.0.…`, `layers.1.…`; optionals are skipped when nil; a dictionary of
/// modules contributes its keys. So declare properties with the checkpoint's own names
/// (`self_attn`, `gate_proj`, `embed_tokens`), and a loaded `model.layers.3.self_attn.q_proj.weight`
/// lands on exactly one parameter. Everything else a module stores (configuration, plain `Tensor`
/// buffers such as rotary tables, properties whose names start with `_`) is not a parameter.
///
/// Do not store a reference to a parent or sibling module (the tree would see it twice); hold such
/// links in an underscore-prefixed property.
open class Module {
    public init() {}

    /// One direct child: a parameter or a sub-module.
    public enum Child {
        case parameter(Parameter)
        case module(Module)
    }

    /// The direct children with their keys, in declaration order (superclass properties first).
    open func children() -> [(key: String, child: Child)] {
        var mirrors: [Mirror] = []
        var mirror: Mirror? = Mirror(reflecting: self)
        while let m = mirror { mirrors.append(m); mirror = m.superclassMirror }
        var out: [(key: String, child: Child)] = []
        for m in mirrors.reversed() {
            for case let (label?, value) in m.children where !label.hasPrefix("_") {
                Module.collect(key: label, value: value, into: &out)
            }
        }
        return out
    }

    private static func collect(key: String, value: Any, into out: inout [(key: String, child: Child)]) {
        if let p = value as? Parameter {
            out.append((key, .parameter(p)))
        } else if let m = value as? Module {
            out.append((key, .module(m)))
        } else if let list = value as? [Module] {
            for (i, m) in list.enumerated() { out.append(("\(key).\(i)", .module(m))) }
        } else if let list = value as? [Parameter] {
            for (i, p) in list.enumerated() { out.append(("\(key).\(i)", .parameter(p))) }
        } else if let dict = value as? [String: Module] {
            for k in dict.keys.sorted() { out.append(("\(key).\(k)", .module(dict[k]!))) }
        }
    }

    /// Every parameter below this module with its full dotted key, depth first in declaration order.
    /// A parameter shared by two modules (tied weights) appears under both keys.
    public func namedParameters() -> [(key: String, parameter: Parameter)] {
        var out: [(key: String, parameter: Parameter)] = []
        visitParameters(prefix: "") { out.append(($0, $1)) }
        return out
    }

    /// Every module below this one (itself included, with key "") with its dotted key.
    public func namedModules() -> [(key: String, module: Module)] {
        var out: [(key: String, module: Module)] = [("", self)]
        for (key, child) in children() {
            if case .module(let m) = child {
                out += m.namedModules().map { (k, mm) in (k.isEmpty ? key : "\(key).\(k)", mm) }
            }
        }
        return out
    }

    func visitParameters(prefix: String, _ body: (String, Parameter) -> Void) {
        for (key, child) in children() {
            let full = prefix.isEmpty ? key : "\(prefix).\(key)"
            switch child {
            case .parameter(let p): body(full, p)
            case .module(let m): m.visitParameters(prefix: full, body)
            }
        }
    }

    /// Parameters by key.
    public func parameterDictionary() -> [String: Parameter] {
        var d: [String: Parameter] = [:]
        visitParameters(prefix: "") { d[$0] = $1 }
        return d
    }

    /// Distinct parameters (tied weights once), in first-seen order.
    public func uniqueParameters() -> [(key: String, parameter: Parameter)] {
        var seen = Set<ObjectIdentifier>()
        return namedParameters().filter { seen.insert(ObjectIdentifier($0.parameter)).inserted }
    }

    /// Freezes every parameter of this subtree: no gradients, no gradient memory, no optimiser updates.
    public func freeze() { visitParameters(prefix: "") { _, p in p.isTrainable = false } }

    /// Makes every parameter of this subtree trainable again.
    public func unfreeze() { visitParameters(prefix: "") { _, p in p.isTrainable = true } }

    /// Number of scalar values (tied weights counted once).
    public func parameterCount(trainableOnly: Bool = false) -> Int {
        uniqueParameters().reduce(0) { $0 + ((!trainableOnly || $1.parameter.isTrainable) ? $1.parameter.count : 0) }
    }

    /// The sub-module at a dotted key ("layers.3.self_attn"), or nil.
    public func module(at key: String) -> Module? {
        if key.isEmpty { return self }
        return namedModules().first { $0.key == key }?.module
    }
}

/// A module with one tensor in and one out, so it can sit in a `Sequential`.
public protocol UnaryLayer: Module {
    func callAsFunction(_ x: Tensor) -> Tensor
}
