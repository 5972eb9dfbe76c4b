/// bfloat16 rounding, for reproducing the reference's bf16 islands inside f32 computation.
public enum BFloat16 {
    /// Rounds to the nearest bf16 value (ties to even), returned as a Float.
    @inline(__always)
    public static func round(_ x: Float) -> Float {
        let bits = x.bitPattern
        if x.isNaN { return x }
        let rounded = (bits &+ 0x7FFF &+ ((bits >> 16) & 1)) & 0xFFFF_0000
        return Float(bitPattern: rounded)
    }

    public static func round(_ xs: inout [Float]) {
        for i in xs.indices { xs[i] = round(xs[i]) }
    }
}
