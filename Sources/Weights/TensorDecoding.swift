/// Conversions from raw little-endian tensor bytes to Swift arrays.
///
/// Tensor data may start at any byte offset (nothing in the format forces alignment), so
/// elements are read with `loadUnaligned` or copied with memcpy; memory is never bound to a
/// wider type at a possibly misaligned address.
enum TensorDecoding {
    /// Decodes F64/F32/F16/BF16 elements to `Float`; nil for other dtypes.
    static func floats(_ raw: UnsafeRawBufferPointer, dtype: DType) -> [Float]? {
        let count = raw.count / dtype.byteSize
        switch dtype {
        case .f32:
            #if _endian(little)
                return copied(raw, count: count)
            #else
                return (0..<count).map { Float(bitPattern: load(raw, $0, as: UInt32.self)) }
            #endif
        case .bf16:
            // bf16 is the upper half of an f32, so widening is exact.
            return mapped(raw, count: count) { raw, index in
                Float(bitPattern: UInt32(load(raw, index, as: UInt16.self)) << 16)
            }
        case .f16:
            return mapped(raw, count: count) { raw, index in
                Float(Float16(bitPattern: load(raw, index, as: UInt16.self)))
            }
        case .f64:
            return mapped(raw, count: count) { raw, index in
                Float(Double(bitPattern: load(raw, index, as: UInt64.self)))
            }
        default:
            return nil
        }
    }

    /// Decodes signed and unsigned integer elements that fit in `Int64`; nil for other dtypes.
    static func int64s(_ raw: UnsafeRawBufferPointer, dtype: DType) -> [Int64]? {
        let count = raw.count / dtype.byteSize
        switch dtype {
        case .i64:
            #if _endian(little)
                return copied(raw, count: count)
            #else
                return (0..<count).map { Int64(bitPattern: load(raw, $0, as: UInt64.self)) }
            #endif
        case .i32:
            return mapped(raw, count: count) { raw, index in
                Int64(Int32(bitPattern: load(raw, index, as: UInt32.self)))
            }
        case .i16:
            return mapped(raw, count: count) { raw, index in
                Int64(Int16(bitPattern: load(raw, index, as: UInt16.self)))
            }
        case .i8:
            return mapped(raw, count: count) { raw, index in Int64(Int8(bitPattern: raw[index])) }
        case .u32:
            return mapped(raw, count: count) { raw, index in Int64(load(raw, index, as: UInt32.self)) }
        case .u16:
            return mapped(raw, count: count) { raw, index in Int64(load(raw, index, as: UInt16.self)) }
        case .u8, .bool:
            return mapped(raw, count: count) { raw, index in Int64(raw[index]) }
        default:
            // U64 can exceed Int64 and floats would need a rounding policy; callers should
            // use the raw bytes for those.
            return nil
        }
    }

    /// Element `index` of a little-endian array of `T`.
    @inline(__always)
    private static func load<T: FixedWidthInteger>(_ raw: UnsafeRawBufferPointer, _ index: Int, as type: T.Type) -> T {
        T(littleEndian: raw.loadUnaligned(fromByteOffset: index * MemoryLayout<T>.size, as: T.self))
    }

    private static func mapped<T>(
        _ raw: UnsafeRawBufferPointer, count: Int, _ element: (UnsafeRawBufferPointer, Int) -> T
    ) -> [T] {
        var result: [T] = []
        result.reserveCapacity(count)
        for index in 0..<count {
            result.append(element(raw, index))
        }
        return result
    }

    /// Byte copy into a fresh array; memcpy has no alignment requirement on its source.
    private static func copied<T: BitwiseCopyable>(_ raw: UnsafeRawBufferPointer, count: Int) -> [T] {
        [T](unsafeUninitializedCapacity: count) { buffer, initialized in
            if count > 0 {
                UnsafeMutableRawBufferPointer(buffer).copyMemory(
                    from: UnsafeRawBufferPointer(rebasing: raw[0..<count * MemoryLayout<T>.stride]))
            }
            initialized = count
        }
    }
}
