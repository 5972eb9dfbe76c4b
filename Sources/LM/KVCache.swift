/// Keys and values of every layer of one transformer stack for one sequence, grown as
/// positions are added. Per-request state: a loaded model never holds one.
public final class KVCache {
    let width: Int
    private(set) var keys: [[Float]]
    private(set) var values: [[Float]]
    /// Positions cached (the same for every layer once a forward pass completes).
    public private(set) var count = 0

    init(layers: Int, width: Int) {
        self.width = width
        keys = Array(repeating: [], count: layers)
        values = Array(repeating: [], count: layers)
    }

    func append(layer: Int, keys k: [Float], values v: [Float]) {
        keys[layer] += k
        values[layer] += v
    }

    func commit(_ positions: Int) { count += positions }

    /// Drops every position from `length` on (to resume from a shared prefix).
    func truncate(to length: Int) {
        precondition(length <= count)
        for l in keys.indices {
            keys[l].removeSubrange((length * width)...)
            values[l].removeSubrange((length * width)...)
        }
        count = length
    }
}
