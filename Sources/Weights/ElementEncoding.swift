/// Conversions from Swift values to the little-endian element encodings of each dtype.
public enum ElementEncoding {
    /// f32 -> bf16 with round-to-nearest, ties to even.
    ///
    /// Plain truncation would bias every weight toward zero. NaNs keep their sign and get the
    /// quiet bit set, because a NaN whose payload sits only in the low 16 bits would otherwise
    /// truncate to infinity.
    public static func bfloat16Bits(_ value: Float) -> UInt16 {
        let bits = value.bitPattern
        if value.isNaN {
            return UInt16(truncatingIfNeeded: bits >> 16) | 0x0040
        }
        let lowestKeptBit = (bits >> 16) & 1
        // Adding 0x7FFF rounds up exactly when the dropped half exceeds one half; the kept
        // bit breaks the tie. Finite inputs cannot wrap: the largest magnitude rounds to inf.
        let rounded = bits &+ 0x7FFF &+ lowestKeptBit
        return UInt16(truncatingIfNeeded: rounded >> 16)
    }

    /// f32 -> IEEE half, round-to-nearest-even, overflow to infinity, NaN preserved.
    public static func float16Bits(_ value: Float) -> UInt16 {
        Float16(value).bitPattern
    }

    static func littleEndianBytes<T: FixedWidthInteger>(_ values: [T]) -> [UInt8] {
        let swapped = values.map { $0.littleEndian }
        return swapped.withUnsafeBytes { Array($0) }
    }
}
