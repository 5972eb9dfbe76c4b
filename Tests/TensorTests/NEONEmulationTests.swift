import Foundation
import TestSupport
import XCTest

/// The aarch64 NEON kernels, which an x86 test machine cannot run natively: `Tools/neon-check.sh`
/// cross-compiles the C kernels with a driver that compares every NEON path against the scalar
/// one, and runs it under qemu-user on a CPU model with the dot-product extension and on one
/// without. CI installs the cross compiler and qemu; elsewhere the test is skipped with a
/// printed reason when they are missing.
final class NEONEmulationTests: XCTestCase {
    func testNEONKernelsMatchScalarUnderEmulation() throws {
        #if arch(arm64)
            throw XCTSkip("native arm64: the NEON paths run in the other kernel tests")
        #else
            let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
                .deletingLastPathComponent()
            let run = try runTool(["bash", root.appendingPathComponent("Tools/neon-check.sh").path], directory: root)
            // Exit status 2: the cross compiler or qemu-aarch64 is missing.
            if run.status == 2 {
                print("skipping the NEON kernels: \(run.output.trimmingCharacters(in: .whitespacesAndNewlines))")
                throw XCTSkip("no aarch64 cross compiler or qemu-aarch64")
            }
            XCTAssertEqual(run.status, 0, "NEON check failed:\n\(run.output)")
        #endif
    }
}
