/// What a header says about one tensor.
public struct TensorInfo: Sendable, Equatable {
    public let name: String
    public let dtype: DType
    public let shape: [Int]
    public let byteCount: Int

    public init(name: String, dtype: DType, shape: [Int], byteCount: Int) {
        self.name = name
        self.dtype = dtype
        self.shape = shape
        self.byteCount = byteCount
    }

    /// Product of `shape`; cannot overflow because the header parser verified it.
    public var elementCount: Int {
        byteCount / dtype.byteSize
    }
}
