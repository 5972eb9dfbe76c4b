// swift-tools-version:5.9
import PackageDescription

let package = Package(
    name: "mimo-audio-swift",
    platforms: [.macOS(.v13)],
    products: [
        .library(name: "MiMoAudio", targets: ["MiMoAudio"]),
        .executable(name: "mimo-audio", targets: ["mimo-audio"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird-websocket", from: "2.8.0"),
        .package(url: "https://github.com/vapor/multipart-kit", from: "4.7.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.6.0"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.5.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.0.0"),
    ],
    targets: [
        // OpenBLAS on Linux; Apple platforms use Accelerate instead (see Tensor/BLAS.swift).
        .systemLibrary(
            name: "CBLAS",
            pkgConfig: "openblas",
            providers: [.apt(["libopenblas-dev"])]
        ),
        // FFmpeg's libraries decode compressed audio (Debian: libavformat-dev, libavcodec-dev,
        // libswresample-dev, libavutil-dev).
        .systemLibrary(
            name: "CFFmpeg",
            pkgConfig: "libavformat",
            providers: [.apt(["libavformat-dev", "libavcodec-dev", "libswresample-dev", "libavutil-dev"])]
        ),
        // No compiler flags (a package with unsafeFlags cannot be depended on): the kernel files
        // choose their instruction set and FP contraction themselves (Sources/CKernels/target.h).
        .target(name: "CKernels"),
        .target(
            name: "Tensor",
            dependencies: ["CKernels", .target(name: "CBLAS", condition: .when(platforms: [.linux]))]
        ),
        .target(name: "FileAccess"),
        // The one JSON reader: a strict RFC 8259 parser and a Decoder over its output.
        .target(name: "JSON"),
        .target(
            name: "Weights",
            dependencies: ["Tensor", "FileAccess", "JSON", .product(name: "Logging", package: "swift-log")]),
        .target(name: "Audio", dependencies: ["Tensor", "CFFmpeg", "FileAccess"]),
        .target(
            name: "Codec",
            dependencies: ["Tensor", "Weights", "Audio", .product(name: "Logging", package: "swift-log")]),
        .target(name: "TextTokenizer", dependencies: ["FileAccess", "JSON"]),
        .target(
            name: "LM",
            dependencies: [
                "Tensor", "Weights", "TextTokenizer", "CKernels", .product(name: "Logging", package: "swift-log"),
            ]),
        .target(
            name: "MiMoAudio",
            dependencies: ["Codec", "LM", "TextTokenizer", "Audio", "Weights", "Tensor", "FileAccess"]),
        // Repo id -> local directory: the Hugging Face hub's HTTP API and its shared cache.
        .target(
            name: "Hub",
            dependencies: [
                "JSON", .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Crypto", package: "swift-crypto"),
            ]),
        // The OpenAI-compatible HTTP server over the engine; request decoding in plain functions.
        .target(
            name: "Server",
            dependencies: [
                "MiMoAudio", "JSON", "Audio", "VAD", "CEmbedded",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdWebSocket", package: "hummingbird-websocket"),
                .product(name: "MultipartKit", package: "multipart-kit"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Logging", package: "swift-log"),
            ]),
        // Files compiled into the program (C23 #embed): the Silero VAD weights, the web playground.
        .target(name: "CEmbedded"),
        .target(name: "VAD", dependencies: ["CEmbedded", "Weights", "Audio"]),
        // The `bench` commands' measurements, on the production path; not part of the public API.
        .target(name: "Benchmarks", dependencies: ["MiMoAudio"]),
        .executableTarget(
            name: "mimo-audio",
            dependencies: [
                "MiMoAudio",
                "Benchmarks",
                "Hub",
                "JSON",
                "Server",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .testTarget(name: "TensorTests", dependencies: ["Tensor", "CKernels", "TestSupport"]),
        .testTarget(name: "JSONTests", dependencies: ["JSON"]),
        .testTarget(name: "WeightsTests", dependencies: ["Weights"]),
        .testTarget(name: "AudioTests", dependencies: ["Audio", "TestSupport"]),
        .target(name: "TestSupport", dependencies: ["MiMoAudio"], path: "Tests/TestSupport"),
        .testTarget(name: "CodecTests", dependencies: ["Codec", "MiMoAudio", "TestSupport"]),
        .testTarget(name: "LMTests", dependencies: ["LM", "MiMoAudio", "Benchmarks", "TestSupport"]),
        .testTarget(name: "TextTokenizerTests", dependencies: ["TextTokenizer", "JSON", "TestSupport"]),
        .testTarget(name: "TaskTests", dependencies: ["MiMoAudio", "TestSupport"]),
        .testTarget(name: "EngineTests", dependencies: ["MiMoAudio", "TestSupport"]),
        .testTarget(name: "HubTests", dependencies: ["Hub", "TestSupport"]),
        .testTarget(name: "VADTests", dependencies: ["VAD", "Audio", "JSON"], exclude: ["Fixtures"]),
        .testTarget(
            name: "ServerTests",
            dependencies: ["Server", "MiMoAudio", "TestSupport", .product(name: "Logging", package: "swift-log")]),
        .testTarget(name: "CLITests", dependencies: ["mimo-audio", "MiMoAudio", "TestSupport"]),
    ]
)
