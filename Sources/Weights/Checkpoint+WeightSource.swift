import Tensor

extension SafeTensorsFile: WeightOwner {}

extension Checkpoint: WeightSource {
    /// Binds a float tensor in place (memory-mapped, in its stored dtype); a tensor whose
    /// offset is not aligned to its element size is copied once so kernels can read it.
    public func weight(_ name: String, shape: [Int]) throws -> WeightMatrix {
        if let file = file(containing: name), let value = file.metadata[Quantization.metadataKey(name)] {
            return try quantizedWeight(name, shape: shape, value: value, file: file)
        }
        let info = try require(name, shape: shape)
        guard info.dtype == .f32 || info.dtype == .bf16 || info.dtype == .f16 else {
            throw WeightsError.dtypeNotSupported(tensor: name, dtype: info.dtype, wanted: "F32, BF16 or F16")
        }
        guard let file = file(containing: name) else { throw WeightsError.missingTensor(name: name, in: sourcePath) }
        let bytes = try file.bytes(name)
        let rows = shape.count > 1 ? shape[0] : 1
        let count = shape.reduce(1, *)
        let cols = count / max(rows, 1)
        guard let base = bytes.baseAddress, count > 0 else {
            let empty = OwnedBuffer(byteCount: 0)
            return WeightMatrix(
                rows: rows, cols: cols, dtype: info.dtype, base: UnsafeRawPointer(empty.pointer), owner: empty)
        }
        if Int(bitPattern: base) % info.dtype.byteSize == 0 {
            return WeightMatrix(rows: rows, cols: cols, dtype: info.dtype, base: base, owner: file)
        }
        let copy = OwnedBuffer(copying: bytes)
        return WeightMatrix(
            rows: rows, cols: cols, dtype: info.dtype, base: UnsafeRawPointer(copy.pointer), owner: copy)
    }

    /// A weight stored block-quantized by `convert`: bound in place, no conversion.
    private func quantizedWeight(_ name: String, shape: [Int], value: String, file: SafeTensorsFile) throws
        -> WeightMatrix
    {
        guard let (format, cols) = Quantization.parse(value), let info = file.info(name), info.dtype == .u8 else {
            throw QuantizationError.invalidMetadata(tensor: name, value: value)
        }
        let rows = shape.count > 1 ? shape[0] : 1
        let expectedCols = shape.reduce(1, *) / max(rows, 1)
        guard cols == expectedCols, info.shape == [rows, format.rowBytes(cols: cols)] else {
            throw QuantizationError.shapeMismatch(
                tensor: name, expected: shape, stored: "\(value) blocks of shape \(info.shape)")
        }
        let bytes = try file.bytes(name)
        guard let base = bytes.baseAddress else { throw QuantizationError.invalidMetadata(tensor: name, value: value) }
        return WeightMatrix(rows: rows, cols: cols, format: format, base: base, owner: file)
    }
}
