// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "winclip-cluster",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "WinCLIP", targets: ["WinCLIP"]),
        .library(name: "Protocol", targets: ["Protocol"]),
        .library(name: "Options", targets: ["Options"]),
        .library(name: "Hub", targets: ["Hub"]),
        .executable(name: "winclip-coord", targets: ["Coordinator"]),
        .executable(name: "winclip-worker", targets: ["Worker"]),
        .executable(name: "winclip-bench", targets: ["Bench"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "5.0.0"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.0"),
        // Operators' view (Sources/Cluster/Observability): Prometheus metrics through
        // swift-metrics, served with the status page by a small swift-nio HTTP/1 server.
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
    ],
    targets: [
        // Thin system-library targets: headers and link flags of Debian's -dev packages.
        .systemLibrary(name: "CLibPNG", pkgConfig: "libpng", providers: [.apt(["libpng-dev"])]),
        .systemLibrary(name: "CLibJPEG", pkgConfig: "libjpeg", providers: [.apt(["libjpeg62-turbo-dev"])]),
        .systemLibrary(name: "CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),
        .systemLibrary(name: "CLibTIFF", pkgConfig: "libtiff-4", providers: [.apt(["libtiff-dev"])]),
        .systemLibrary(name: "CLibWebP", pkgConfig: "libwebpdemux", providers: [.apt(["libwebp-dev"])]),
        .systemLibrary(name: "CLibZMQ", pkgConfig: "libzmq", providers: [.apt(["libzmq3-dev"])]),
        // OpenBLAS is opened at run time (dlopen) so that the kernel core can be chosen before
        // the library's constructor runs; this C target holds the loader and the CPU probe.
        .target(name: "CBLASLoader", linkerSettings: [.linkedLibrary("dl")]),
        // PNG, JPEG, TIFF and WebP decoding through libpng, libjpeg-turbo, libtiff and libwebp,
        // with their longjmp error handling and variadic getters kept in C.
        .target(name: "CImageShim", dependencies: ["CLibPNG", "CLibJPEG", "CLibTIFF", "CLibWebP"]),
        // Element-wise kernels (GELU), built with -O3 and per-CPU clones in every configuration.
        .target(name: "CKernels", cSettings: [.unsafeFlags(["-O3", "-ffp-contract=off"])]),
        // PNG and JPEG writing through libpng and libjpeg, with their setjmp error handling kept in C.
        .target(name: "CPNGWrite", dependencies: ["CLibPNG", "CLibJPEG"]),
        // A job's options (one Codable type for the command line, cluster.yaml and the wire):
        // the leaf both the engine and the wire format build on.
        .target(name: "Options"),
        .target(
            name: "WinCLIP",
            dependencies: [
                "Options", "CLibPNG", "CLibJPEG", "CImageShim", "CZlib", "CBLASLoader", "CKernels",
                .product(name: "Logging", package: "swift-log"),
            ],
            // The BPE vocabulary and the tokenizer tables Tools/reference/tokenizer_tables.py generates.
            resources: [
                .copy("Resources/bpe_simple_vocab_16e6.txt.gz"), .copy("Resources/html5_entities.txt"),
                .copy("Resources/ftfy_entities.txt"), .copy("Resources/character_widths.txt"),
                .copy("Resources/unicode_classes.txt"),
            ]
        ),
        // The wire format: message types, bodies and the frame codec (no engine, no sockets).
        .target(name: "Protocol", dependencies: ["Options"]),
        // The Hugging Face hub client: pretrained tags, hf:// URIs, huggingface_hub's cache
        // layout, downloads over URLSession with resume and SHA-256 checks, offline mode.
        .target(name: "Hub", dependencies: [.product(name: "Crypto", package: "swift-crypto")]),
        // The cluster: coordinator, worker and submit state machines and their ZeroMQ loops,
        // configuration, datasets and outputs (the executables only parse options and call it).
        .target(
            name: "Cluster",
            dependencies: [
                "WinCLIP", "Protocol", "Options", "Hub", "CLibZMQ", "Yams", "CPNGWrite",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Crypto", package: "swift-crypto"),  // key fingerprints (SHA-256)
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ]
        ),
        .executableTarget(
            name: "Coordinator",
            dependencies: [
                "Cluster", "WinCLIP",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .executableTarget(
            name: "Worker",
            dependencies: [
                "Cluster",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .executableTarget(
            name: "Bench",
            dependencies: [
                "WinCLIP", "Options", "Protocol",
                // Cluster: the coordinator under load (`cluster`) and the CURVE handshake bench.
                "Cluster",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .testTarget(
            name: "WinCLIPTests",
            dependencies: ["WinCLIP", "Options"],
            resources: [.copy("../Fixtures")]
        ),
        .testTarget(
            name: "ClusterTests",
            dependencies: ["Cluster", "WinCLIP", "Protocol", "Options", "Hub", "HubTestSupport", "Coordinator", "Worker"]
        ),
        // Tools/fake_hub.py started and stopped for the tests (HubTests and ClusterTests).
        .target(name: "HubTestSupport", path: "Tests/HubTestSupport"),
        .testTarget(name: "HubTests", dependencies: ["Hub", "HubTestSupport"]),
    ],
    swiftLanguageModes: [.v6]
)
