// swift-tools-version: 6.3
import PackageDescription

// No target carries unsafe flags (no -target-cpu, no -Ounchecked): the package builds for its
// architecture's baseline and can be used as a versioned dependency. The hot loops are C kernels
// compiled per instruction-set level and chosen at run time (Sources/CPUFeatures), with the same
// bits on every level.
let package = Package(
    name: "swift-vae",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "vae-train", targets: ["vae-train"]),
        .executable(name: "vae-gen", targets: ["vae-gen"]),
        .library(name: "VAEDecoder", type: .static, targets: ["VAEDecoder"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
    ],
    targets: [
        // zlib from the system (Debian: libz-dev / zlib1g-dev).
        .systemLibrary(name: "CZlib", path: "Sources/CZlib", pkgConfig: "zlib", providers: [.apt(["libz-dev"])]),

        // Which kernel level (portable, AVX2, AVX-512, NEON) this host may run: decided at run
        // time, one place for the runtime and the trainer.
        .target(name: "CPUFeatures", path: "Sources/CPUFeatures"),

        // The trainer's hot Float kernels, one C body compiled per instruction-set level and
        // picked at run time (the trainer itself is built for its architecture's baseline).
        .target(name: "TrainerKernels", dependencies: ["CPUFeatures"], path: "Sources/TrainerKernels"),

        // The runtime's host kernels (C, one body per instruction-set level, picked at run time).
        .target(name: "VAEHostKernels", dependencies: ["CPUFeatures"], path: "Sources/VAEHostKernels",
                exclude: ["convt_f32_body.inc", "convt_i8_body.inc"]),

        // The decoder runtime: no Foundation, no heap allocation, builds with Embedded Swift
        // (where the host kernels are absent and it runs its own Swift kernels).
        .target(name: "VAEDecoder", dependencies: ["VAEHostKernels", "CPUFeatures"], path: "Sources/VAEDecoder"),

        // Checkpoint format v1 (docs/checkpoint-format.md): reader, atomic writer.
        .target(name: "Checkpoint", dependencies: ["CZlib", "VAEDecoder", "ToolSupport"], path: "Sources/Checkpoint"),

        // printf-style formatting, paths, stderr without Foundation (the tools' start-up time).
        .target(name: "ToolSupport", path: "Sources/ToolSupport"),

        // PNG encoding, image grids, loss plots.
        .target(name: "ImageIO", dependencies: ["CZlib", "ToolSupport"], path: "Sources/ImageIO"),

        // The model, its gradients, Adam, MNIST loading: everything vae-train needs.
        .target(name: "VAETrainer", dependencies: ["Checkpoint", "CZlib", "VAEDecoder", "TrainerKernels", "ToolSupport"],
                path: "Sources/VAETrainer"),

        // The encoder for host tools (reconstruct, interpolate): plain Swift over the checkpoint's
        // ENC tensors; the runtime stays decoder-only.
        .target(name: "HostEncoder", dependencies: ["Checkpoint"], path: "Sources/HostEncoder"),

        .executableTarget(name: "vae-train",
                          dependencies: ["VAETrainer", "Checkpoint", "ImageIO", "VAEDecoder",
                                         .product(name: "ArgumentParser", package: "swift-argument-parser")],
                          path: "Sources/vae-train"),
        .executableTarget(name: "vae-gen",
                          dependencies: ["VAEDecoder", "Checkpoint", "ImageIO", "ToolSupport", "HostEncoder",
                                         .product(name: "ArgumentParser", package: "swift-argument-parser")],
                          path: "Sources/vae-gen"),

        // Counts malloc calls in the test process (the runtime's no-allocation proof).
        .target(name: "CMallocCounter", path: "Tests/CMallocCounter"),

        // include/vae_decoder.h as a module, so that tests call the C interface through the header.
        .systemLibrary(name: "CVAEDecoder", path: "include"),
        .testTarget(name: "CAPITests", dependencies: ["CVAEDecoder", "VAEDecoder", "Checkpoint", "CMallocCounter"],
                    path: "Tests/CAPITests"),

        .testTarget(name: "CheckpointTests", dependencies: ["Checkpoint", "VAEDecoder", "VAETrainer"], path: "Tests/CheckpointTests"),
        .testTarget(name: "TrainerTests", dependencies: ["VAETrainer", "Checkpoint", "TrainerKernels", "CPUFeatures", "HostEncoder"], path: "Tests/TrainerTests",
                    resources: [.copy("Fixtures")]),
        .testTarget(name: "ImageIOTests", dependencies: ["ImageIO"], path: "Tests/ImageIOTests"),
        .testTarget(name: "DecoderTests", dependencies: ["VAEDecoder", "VAEHostKernels", "CPUFeatures", "Checkpoint", "VAETrainer", "CMallocCounter"],
                    path: "Tests/DecoderTests", exclude: ["Goldens"]),
    ],
    swiftLanguageModes: [.v5]
)

// libFuzzer harnesses (Fuzz/, built and run by scripts/fuzz.sh with -sanitize=fuzzer,address):
// declared only when VAE_FUZZ=1, so that ordinary builds, `swift test` and packages that depend
// on this one never see them.
if Context.environment["VAE_FUZZ"] == "1" {
    package.targets += [
        .target(name: "FuzzSupport", dependencies: ["Checkpoint", "VAEDecoder"], path: "Fuzz/Support"),
        .executableTarget(name: "fuzz-decoder-image", dependencies: ["FuzzSupport", "VAEDecoder"], path: "Fuzz/decoder-image"),
        .executableTarget(name: "fuzz-capi", dependencies: ["FuzzSupport", "CVAEDecoder", "VAEDecoder"], path: "Fuzz/capi"),
        .executableTarget(name: "fuzz-checkpoint", dependencies: ["FuzzSupport", "Checkpoint"], path: "Fuzz/checkpoint"),
        .executableTarget(name: "fuzz-idx", dependencies: ["FuzzSupport", "VAETrainer"], path: "Fuzz/idx"),
    ]
}
