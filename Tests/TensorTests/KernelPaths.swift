import CKernels
import XCTest

/// Kernel tables for chosen instruction sets (kernels.h), so each vector path is tested against
/// the scalar one on any CPU that has it; a path this CPU lacks is skipped with a printed reason.
enum KernelPaths {
    static var scalar: mk_kernels {
        var table = mk_kernels()
        mk_kernels_scalar(&table)
        return table
    }

    static let avx2 = mk_x86_features(avx2: 1, avx512: 0, avx512_vnni: 0, avx512_bf16: 0)
    static let avx512 = mk_x86_features(avx2: 1, avx512: 1, avx512_vnni: 0, avx512_bf16: 0)
    static let avx512VNNI = mk_x86_features(avx2: 1, avx512: 1, avx512_vnni: 1, avx512_bf16: 0)
    static let avx512BF16 = mk_x86_features(avx2: 1, avx512: 1, avx512_vnni: 0, avx512_bf16: 1)
    static let neon = mk_arm_features(neon: 1, dotprod: 0)
    static let neonDotprod = mk_arm_features(neon: 1, dotprod: 1)

    /// Every path of the list this CPU runs, printing the ones it skips.
    static func available(_ x86: [(String, mk_x86_features)], arm: [(String, mk_arm_features)] = [])
        -> [(String, mk_kernels)]
    {
        var paths: [(String, mk_kernels)] = []
        for (name, features) in x86 {
            var table = mk_kernels()
            if mk_kernels_x86(features, &table) != 0 { paths.append((name, table)) } else { skipped(name) }
        }
        for (name, features) in arm {
            var table = mk_kernels()
            if mk_kernels_arm(features, &table) != 0 { paths.append((name, table)) } else { skipped(name) }
        }
        return paths
    }

    /// One path, or a skip of the test when this CPU lacks it.
    static func required(_ name: String, x86 features: mk_x86_features) throws -> mk_kernels {
        guard let path = available([(name, features)]).first else { throw XCTSkip("this CPU lacks \(name)") }
        return path.1
    }

    static func required(_ name: String, arm features: mk_arm_features) throws -> mk_kernels {
        guard let path = available([], arm: [(name, features)]).first else { throw XCTSkip("this CPU lacks \(name)") }
        return path.1
    }

    private static func skipped(_ name: String) { print("skipping the \(name) kernels: this CPU lacks \(name)") }
}
