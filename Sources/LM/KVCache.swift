import CKernels
import Tensor

/// How a KV cache stores keys and values: f32 (exact, the reference's numerics) or IEEE half
/// (half the memory and bandwidth; rounding of 2^-11 relative per element).
public enum KVPrecision: String, Sendable, CaseIterable {
    case f32, f16
}

/// Keys and values of every layer of one transformer stack for one sequence, grown as
/// positions are added. Per-request state: a loaded model never holds one.
public final class KVCache {
    let width: Int
    public let precision: KVPrecision
    private var keys32: [[Float]] = [], values32: [[Float]] = []
    private var keys16: [[UInt16]] = [], values16: [[UInt16]] = []
    /// Positions cached (the same for every layer once a forward pass completes).
    public private(set) var count = 0

    init(layers: Int, width: Int, precision: KVPrecision) {
        self.width = width
        self.precision = precision
        switch precision {
        case .f32:
            keys32 = Array(repeating: [], count: layers)
            values32 = keys32
        case .f16:
            keys16 = Array(repeating: [], count: layers)
            values16 = keys16
        }
    }

    func append(layer: Int, keys k: [Float], values v: [Float]) {
        switch precision {
        case .f32:
            keys32[layer] += k
            values32[layer] += v
        case .f16:
            Self.appendHalf(k, to: &keys16[layer])
            Self.appendHalf(v, to: &values16[layer])
        }
    }

    private static func appendHalf(_ x: [Float], to store: inout [UInt16]) {
        let old = store.count
        store.append(contentsOf: repeatElement(0, count: x.count))
        store.withUnsafeMutableBufferPointer { dst in
            x.withUnsafeBufferPointer { mk_f32_to_f16($0.baseAddress!, dst.baseAddress! + old, x.count) }
        }
    }

    /// The layer's cached rows (and any appended but not yet committed).
    func withLayer<R>(_ layer: Int, _ body: (KVRows) -> R) -> R {
        switch precision {
        case .f32:
            return keys32[layer].withUnsafeBufferPointer { k in
                values32[layer].withUnsafeBufferPointer { v in body(.f32(keys: k.baseAddress!, values: v.baseAddress!))
                }
            }
        case .f16:
            return keys16[layer].withUnsafeBufferPointer { k in
                values16[layer].withUnsafeBufferPointer { v in body(.f16(keys: k.baseAddress!, values: v.baseAddress!))
                }
            }
        }
    }

    func commit(_ positions: Int) { count += positions }

    /// Memory of the cached keys and values.
    public var bytes: Int {
        let layers = max(keys32.count, keys16.count)
        return 2 * layers * count * width * (precision == .f32 ? 4 : 2)
    }

    /// A new cache holding a copy of the first `length` positions.
    public func copy(keeping length: Int) -> KVCache {
        precondition(length <= count)
        let copy = KVCache(layers: max(keys32.count, keys16.count), width: width, precision: precision)
        let n = length * width
        copy.keys32 = keys32.map { Array($0[0..<n]) }
        copy.values32 = values32.map { Array($0[0..<n]) }
        copy.keys16 = keys16.map { Array($0[0..<n]) }
        copy.values16 = values16.map { Array($0[0..<n]) }
        copy.count = length
        return copy
    }

    /// Drops every position from `length` on (to resume from a shared prefix).
    func truncate(to length: Int) {
        precondition(length <= count)
        for l in keys32.indices {
            keys32[l].removeSubrange((length * width)...)
            values32[l].removeSubrange((length * width)...)
        }
        for l in keys16.indices {
            keys16[l].removeSubrange((length * width)...)
            values16[l].removeSubrange((length * width)...)
        }
        count = length
    }
}
