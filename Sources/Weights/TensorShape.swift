/// Shape arithmetic shared by the reader and the writer. Shapes come from untrusted
/// headers, so every product is overflow-checked instead of trapping.
enum TensorShape {
    /// Number of elements, or nil if a dimension is negative or the product overflows `Int`.
    static func elementCount(_ shape: [Int]) -> Int? {
        var count = 1
        for dimension in shape {
            guard dimension >= 0 else { return nil }
            let (product, overflow) = count.multipliedReportingOverflow(by: dimension)
            guard !overflow else { return nil }
            count = product
        }
        return count
    }

    /// Bytes needed for `shape` elements of `dtype`, or nil on a negative dimension or overflow.
    static func byteCount(_ shape: [Int], _ dtype: DType) -> Int? {
        guard let elements = elementCount(shape) else { return nil }
        let (bytes, overflow) = elements.multipliedReportingOverflow(by: dtype.byteSize)
        return overflow ? nil : bytes
    }

    static func describe(_ shape: [Int]) -> String {
        "[" + shape.map(String.init).joined(separator: ", ") + "]"
    }
}
