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
        .executable(name: "winclip-coord", targets: ["winclip-coord"]),
        .executable(name: "winclip-worker", targets: ["winclip-worker"]),
        .executable(name: "winclip-bench", targets: ["winclip-bench"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "5.0.0"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.0"),
        // Operators' view (Sources/Coordinator/Observability): Prometheus metrics through
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
        // The engine: open_clip's ViT on the CPU, safetensors weights, open_clip's tokenizer,
        // WinCLIP's scoring (windows, harmonic aggregation, fusion), pixel tensors in, scores out.
        .target(
            name: "WinCLIP",
            dependencies: [
                "Options", "CZlib", "CBLASLoader", "CKernels",
                .product(name: "Logging", package: "swift-log"),
            ],
            // The BPE vocabulary and the tokenizer tables Tools/reference/tokenizer_tables.py generates.
            resources: [
                .copy("Resources/bpe_simple_vocab_16e6.txt.gz"), .copy("Resources/html5_entities.txt"),
                .copy("Resources/ftfy_entities.txt"), .copy("Resources/character_widths.txt"),
                .copy("Resources/unicode_classes.txt"),
            ]
        ),
        // Image files in: PNG, JPEG, BMP, TIFF and WebP decoded as PIL does, and CLIP's
        // preprocessing (bicubic resize, crop, normalisation) equal to torchvision's.
        .target(name: "ImageInput", dependencies: ["CImageShim", "CLibPNG", "CLibJPEG", "CLibTIFF"]),
        // anomalib's metrics and decisions: AUROC, F1Max, AUPRO, adaptive thresholds,
        // normalisation, pixel metrics over spilled batches.
        .target(name: "AnomalyMetrics"),
        // The wire format: message types, bodies and the frame codec (no engine, no sockets).
        .target(name: "Protocol", dependencies: ["Options"]),
        // The Hugging Face hub client: pretrained tags, hf:// URIs, huggingface_hub's cache
        // layout, downloads over URLSession with resume and SHA-256 checks, offline mode.
        .target(name: "Hub", dependencies: [.product(name: "Crypto", package: "swift-crypto")]),
        // ZeroMQ sockets and their security: CURVE keys and certificates, the ZAP handler, key
        // rings, peer identities, frame limits, rate limits; the loops' stop signal and clock.
        .target(
            name: "Transport",
            dependencies: [
                "CLibZMQ",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Crypto", package: "swift-crypto"),  // key fingerprints (SHA-256)
            ]
        ),
        // cluster.yaml: one validated configuration for every command (sections per role).
        .target(name: "Configuration", dependencies: ["Options", "Protocol", "Transport", "WinCLIP", "Yams"]),
        // Dataset layouts (folder, MVTec AD, MVTec AD 2, VisA, file lists), scanning and masks.
        .target(name: "Datasets", dependencies: ["ImageInput"]),
        // What a job writes: result rows, maps, pictures, predicted masks, progress, failures.
        .target(name: "Outputs", dependencies: ["Datasets", "ImageInput", "AnomalyMetrics", "WinCLIP", "CPNGWrite"]),
        // The one-file HTML report of a job.
        .target(name: "Report", dependencies: ["Datasets", "Outputs", "ImageInput", "AnomalyMetrics"]),
        // The coordinator: its state machine (jobs, workers, units), its ZeroMQ loop, `serve`,
        // and the operators' view (status, Prometheus metrics, status page).
        .target(
            name: "Coordinator",
            dependencies: [
                "Protocol", "Transport", "Configuration", "WinCLIP", "Options",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ]
        ),
        // The worker: its state machine, its ZeroMQ loop, the unit executor over the engine.
        .target(
            name: "Worker",
            dependencies: [
                "Protocol", "Transport", "Configuration", "WinCLIP", "Options", "Hub",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // `submit`: the client's state machine and loop, the job around it (dataset in, outputs
        // and report out, resume) and the embedded local cluster.
        .target(
            name: "Submit",
            dependencies: [
                "Protocol", "Transport", "Configuration", "Datasets", "Outputs", "Report",
                "Coordinator", "Worker", "WinCLIP", "ImageInput", "AnomalyMetrics", "Options", "Hub",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // What the commands share: option groups (the only ArgumentParser outside executables)
        // and the log formats.
        .target(
            name: "CLI",
            dependencies: [
                "Configuration", "Datasets", "Outputs", "Transport", "ImageInput", "Options",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .executableTarget(
            name: "winclip-coord",
            dependencies: [
                "CLI", "Configuration", "Coordinator", "Datasets", "Outputs", "Submit", "Transport", "Worker",
                "WinCLIP", "ImageInput", "Hub",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .executableTarget(
            name: "winclip-worker",
            dependencies: [
                "CLI", "Transport", "Worker",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .executableTarget(
            name: "winclip-bench",
            dependencies: [
                "WinCLIP", "AnomalyMetrics", "Options", "Protocol",
                // The coordinator under load (`cluster`) and the CURVE handshake bench.
                "CLI", "Coordinator", "Submit", "Transport",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .testTarget(
            name: "WinCLIPTests",
            dependencies: ["WinCLIP", "ImageInput", "AnomalyMetrics", "Options"],
            resources: [.copy("../Fixtures")]
        ),
        .testTarget(
            name: "ClusterTests",
            dependencies: [
                "Coordinator", "Worker", "Submit", "Transport", "Configuration", "Datasets", "Outputs", "Report", "CLI",
                "WinCLIP", "ImageInput", "AnomalyMetrics", "Protocol", "Options", "Hub", "HubTestSupport",
                "winclip-coord", "winclip-worker",
            ]
        ),
        // Tools/fake_hub.py started and stopped for the tests (HubTests and ClusterTests).
        .target(name: "HubTestSupport", path: "Tests/HubTestSupport"),
        .testTarget(name: "HubTests", dependencies: ["Hub", "HubTestSupport"]),
    ],
    swiftLanguageModes: [.v6]
)
