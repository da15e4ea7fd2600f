// swift-tools-version:6.0
//
// Mien: facial-expression recognition over video archives as a ZeroMQ worker cluster.
// Targets follow dependency direction (see docs/ARCHITECTURE.md):
//   C system libraries / shims  →  I/O modules (MienTransport, MienVision)
//   pure logic (MienWire, MienCore, MienNN's maths)  →  MienCluster  →  mien (CLI)
// Pure targets never import an I/O target.
import PackageDescription

/// OpenCV's headers live under /usr/include/opencv4 on Debian; only the modules the shim uses on
/// every run are linked (linking all ~55 via pkg-config costs ~0.3 s and 130 MB at start-up).
/// imgcodecs (image files) and videoio (writer.cpp's cv::VideoWriter) are linked only into the
/// small library libMienOpenCVIO.so (the CMienOpenCVIO target, a product built beside `mien`),
/// which the shim opens on first use: they pull in GDAL and GStreamer, ~0.09 s of every start
/// (CMienVision/opencv_io.hpp).
/// dnn runs the default face detector (RetinaFace, retinaface.cpp). Linking it costs nothing at start-up:
/// OpenCV 4.6's objdetect already depends on it (`mien probe`: CPU ratio 0.99, docs/BENCHMARKS.md).
let openCVModules = ["opencv_core", "opencv_imgproc", "opencv_objdetect", "opencv_dnn"]
/// FFmpeg 5.1 (Debian's libav*-dev): video.cpp decodes with libavformat + libavcodec directly
/// (gray straight from the luma plane, decoder thread control); swscale for BGR and odd formats.
let ffmpegLibraries = ["avformat", "avcodec", "avutil", "swscale"]

let package = Package(
    name: "Mien",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "mien", targets: ["mien"]),
        // OpenCV's imgcodecs and videoio behind C functions, dlopened by CMienVision on first use;
        // never linked into mien (install it beside the binary or in its ../lib).
        .library(name: "MienOpenCVIO", type: .dynamic, targets: ["CMienOpenCVIO"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-protobuf", from: "1.39.0"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
    ],
    targets: [
        // MARK: native libraries, one target each
        .systemLibrary(name: "CZeroMQ", pkgConfig: "libzmq",
                       providers: [.apt(["libzmq3-dev"])]),
        .systemLibrary(name: "COpenBLAS", pkgConfig: "openblas",
                       providers: [.apt(["libopenblas-dev"])]),
        // glibc functions the Glibc module leaves out (declarations only; libc is always linked)
        .systemLibrary(name: "CLibcExtras"),
        .target(name: "CMienVision",
                cxxSettings: [.headerSearchPath("../CMienOpenCVIO/include"), .unsafeFlags(["-I/usr/include/opencv4", "-std=c++17"])],
                linkerSettings: (openCVModules + ffmpegLibraries).map { .linkedLibrary($0) } + [.linkedLibrary("dlib")]),
        .target(name: "CMienOpenCVIO",
                cxxSettings: [.unsafeFlags(["-I/usr/include/opencv4", "-std=c++17"])],
                linkerSettings: ["opencv_core", "opencv_imgcodecs", "opencv_videoio"].map { .linkedLibrary($0) }),

        // MARK: wire protocol (generated code + pure envelope codec)
        .target(name: "MienProto",
                dependencies: [.product(name: "SwiftProtobuf", package: "swift-protobuf")]),
        .target(name: "MienWire",
                dependencies: ["MienProto", .product(name: "SwiftProtobuf", package: "swift-protobuf")]),

        // MARK: I/O modules
        .target(name: "MienTransport", dependencies: ["CZeroMQ"]),
        .target(name: "MienVision", dependencies: ["CMienVision", "MienCore"]),

        // MARK: compute and pure logic
        .target(name: "MienNN", dependencies: ["MienCore", "COpenBLAS", "CMienKernels", "CLibcExtras", .product(name: "Crypto", package: "swift-crypto")]),
        // AVX2+FMA kernels for MienNN's CNN inference, chosen at run time (see its header)
        .target(name: "CMienKernels"),
        // Full cross-module optimisation: the cluster specialises MienCore's generic label policy
        // (VideoLabeller, TrackLabelStream, WorkDispatcher) for its own types instead of running
        // it through generic metadata (docs/BENCHMARKS.md, "Routing").
        .target(name: "MienCore", swiftSettings: [.unsafeFlags(["-cross-module-optimization"])]),
        .target(name: "MienSynth", dependencies: ["MienCore"]),

        // MARK: the cluster roles
        .target(name: "MienCluster",
                dependencies: ["MienCore", "MienWire", "MienTransport", "MienProto", "MienNN", "MienVision", "CLibcExtras",
                               .product(name: "CoreMetrics", package: "swift-metrics"),
                               .product(name: "Logging", package: "swift-log")]),

        // MARK: observability (Prometheus exposition over a small HTTP responder, key=value logs)
        .target(name: "MienTelemetry",
                dependencies: ["MienCore", .product(name: "Prometheus", package: "swift-prometheus"),
                               .product(name: "CoreMetrics", package: "swift-metrics"),
                               .product(name: "Logging", package: "swift-log")]),

        // MARK: training (the paper's method: face crops → CNN; windows of embeddings → BiLSTM)
        .target(name: "MienTraining", dependencies: ["MienNN", "MienCore", "MienVision"]),
        // Hyper-parameter search (`mien tune`): search spaces, trials, executors, ranked tables, and
        // the search across local slots and remote tune workers (`TuningSearch`, `TrialWorker`),
        // which uses the cluster's worker session and transport.
        .target(name: "MienTuning", dependencies: ["MienTraining", "MienCluster", "MienNN", "MienCore", "MienProto", "MienWire", "MienTransport",
                                                   .product(name: "Logging", package: "swift-log")]),

        // MARK: evaluation report (pure: metrics.json, Markdown tables, HTML with inline SVG)
        .target(name: "MienReport", dependencies: ["MienCore"]),

        // MARK: command line
        .executableTarget(name: "mien",
                          dependencies: ["MienWire", "MienTransport", "MienProto", "MienNN", "MienVision", "MienCore", "MienSynth", "MienCluster", "MienTraining", "MienTuning", "MienReport", "MienTelemetry",
                                         .product(name: "ArgumentParser", package: "swift-argument-parser"),
                                         .product(name: "CoreMetrics", package: "swift-metrics"),
                                         .product(name: "Logging", package: "swift-log")]),

        // MARK: tests
        .target(name: "MienTestKit", dependencies: ["MienProto", "MienWire", "MienCore", .product(name: "Logging", package: "swift-log")], path: "Tests/MienTestKit"),
        .testTarget(name: "MienWireTests", dependencies: ["MienWire", "MienProto", "MienTestKit"]),
        .testTarget(name: "MienTransportTests", dependencies: ["MienTransport", "MienWire", "MienProto", "MienTestKit"]),
        .testTarget(name: "MienNNTests", dependencies: ["MienNN", "CMienKernels"], exclude: ["Fixtures"]),
        .testTarget(name: "MienVisionTests", dependencies: ["MienVision", "MienSynth", "CMienVision"], exclude: ["Fixtures"]),
        .testTarget(name: "MienClusterTests", dependencies: ["MienCluster", "MienCore", "MienNN", "MienWire", "MienProto", "MienTransport", "MienTestKit",
                                                             .product(name: "MetricsTestKit", package: "swift-metrics"),
                                                             .product(name: "Logging", package: "swift-log")]),
        .testTarget(name: "MienTelemetryTests", dependencies: ["MienTelemetry", .product(name: "Prometheus", package: "swift-prometheus"),
                                                               .product(name: "CoreMetrics", package: "swift-metrics"),
                                                               .product(name: "Logging", package: "swift-log")]),
        .testTarget(name: "MienTrainingTests", dependencies: ["MienTraining", "MienNN", "MienCore", "MienVision", "MienSynth", "MienCluster"]),
        .testTarget(name: "MienTuningTests", dependencies: ["MienTuning", "MienTraining", "MienCluster", "MienNN", "MienCore", "MienProto", "MienWire", "MienTransport", "MienTestKit",
                                                            .product(name: "Logging", package: "swift-log")]),
        .testTarget(name: "MienCoreTests", dependencies: ["MienCore", "MienTestKit"], exclude: ["Fixtures"]),
        .testTarget(name: "MienReportTests", dependencies: ["MienReport", "MienCore"]),
        .testTarget(name: "MienSynthTests", dependencies: ["MienSynth", "MienCore", "MienVision"]),
    ]
)
