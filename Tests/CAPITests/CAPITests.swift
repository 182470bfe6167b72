// The C interface (include/vae_decoder.h), called through the header: this file imports the C
// module only, so every call below is a C call to the @c exports of Sources/VAEDecoder/CAPI.swift.
import CMallocCounter
import CVAEDecoder
import Checkpoint
import Foundation
import XCTest

enum Repo {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static func path(_ relative: String) -> String { root.appendingPathComponent(relative).path }
    static let checkpoint = path("checkpoints/vae-mnist.vaeckpt")
}

/// Caller-owned memory, as a C program would hold it.
final class Buffers {
    let image: UnsafeMutableRawBufferPointer
    let arena: UnsafeMutableRawBufferPointer
    let state = UnsafeMutablePointer<vae_decoder_state>.allocate(capacity: 1)

    init(image bytes: [UInt8], arenaBytes: Int? = nil) {
        image = .allocate(byteCount: bytes.count + 16, alignment: 16)
        image.copyBytes(from: bytes)
        var need = 0
        _ = vae_decoder_arena_size(image.baseAddress, bytes.count, &need)
        arena = .allocate(byteCount: max(arenaBytes ?? need, 16) + 16, alignment: 16)
    }
    deinit { image.deallocate(); arena.deallocate(); state.deallocate() }
}

final class CAPITests: XCTestCase {
    static let image: [UInt8] = try! CheckpointReader.readDecoderImage(Repo.checkpoint).image

    /// vae_decoder_init over `bytes`; the status.
    func initStatus(_ b: Buffers, count: Int, imageOffset: Int = 0, arenaOffset: Int = 0, arenaBytes: Int? = nil) -> Int {
        var need = 0
        _ = vae_decoder_arena_size(b.image.baseAddress, Self.image.count, &need)
        return Int(vae_decoder_init(b.state, MemoryLayout<vae_decoder_state>.size, b.image.baseAddress! + imageOffset, count,
                                    b.arena.baseAddress! + arenaOffset, arenaBytes ?? need))
    }

    func testStateSizeConstantsBoundTheRealValues() {
        XCTAssertGreaterThan(vae_decoder_state_size(), 0)
        XCTAssertLessThanOrEqual(vae_decoder_state_size(), Int(VAE_DECODER_STATE_SIZE))
        XCTAssertLessThanOrEqual(vae_decoder_state_align(), Int(VAE_DECODER_STATE_ALIGN))
        XCTAssertEqual(MemoryLayout<vae_decoder_state>.size, Int(VAE_DECODER_STATE_SIZE))
        XCTAssertEqual(MemoryLayout<vae_decoder_state>.alignment, Int(VAE_DECODER_STATE_ALIGN))
        XCTAssertGreaterThanOrEqual(vae_decoder_max_arena_size(), 2 * 2800 * 4)
    }

    func testGeneratesTheGoldenImagesOfSeed42() throws {
        let b = Buffers(image: Self.image)
        XCTAssertEqual(initStatus(b, count: Self.image.count), Int(VAE_OK))
        XCTAssertEqual(vae_decoder_latent_dim(b.state), 64)
        XCTAssertEqual(vae_decoder_pixel_count(b.state), 784)
        let golden = try [UInt8](Data(contentsOf: URL(fileURLWithPath: Repo.path("Tests/DecoderTests/Goldens/runtime-u8-seed42.bin"))))
        XCTAssertEqual(golden.count, 16 * 784)
        var px = [UInt8](repeating: 0, count: 16 * 784)
        px.withUnsafeMutableBufferPointer { p in
            for i in 0..<16 {
                XCTAssertEqual(vae_generate(b.state, 42, UInt64(i), p.baseAddress! + i * 784), Int32(VAE_OK))
            }
        }
        XCTAssertEqual(px, golden, "vae_generate differs from the runtime's golden bytes")
    }

    func testOneHundredImagesMatchTheSwiftRuntimeAndVaeGen() throws {
        let b = Buffers(image: Self.image)
        XCTAssertEqual(initStatus(b, count: Self.image.count), Int(VAE_OK))
        var px = [UInt8](repeating: 0, count: 100 * 784)
        px.withUnsafeMutableBufferPointer { p in
            for i in 0..<100 { XCTAssertEqual(vae_generate(b.state, 42, UInt64(i), p.baseAddress! + i * 784), Int32(VAE_OK)) }
        }
        var digest = [UInt8](repeating: 0, count: 32)
        XCTAssertEqual(vae_sha256(px, px.count, &digest), Int32(VAE_OK))
        let hex = digest.map { String(format: "%02x", $0) }.joined()
        XCTAssertEqual(hex, SwiftRuntime.sha256OfImages(image: Self.image, seed: 42, count: 100))
        XCTAssertEqual(hex, try VaeGen.sha256(seed: 42, n: 100), "C interface and vae-gen disagree")
    }

    /// examples/c/generate.c, compiled with clang and linked against the host static library,
    /// prints the SHA-256 that vae-gen prints for seed 42, images 0..99.
    func testCExampleProgramMatchesVaeGen() throws {
        let expected = try VaeGen.sha256(seed: 42, n: 100)
        XCTAssertEqual(expected, SwiftRuntime.sha256OfImages(image: Self.image, seed: 42, count: 100))
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("capi-\(getpid())").path
        defer { try? FileManager.default.removeItem(atPath: out) }
        let (status, text) = try Shell.run(Repo.path("examples/c/run.sh"), ["--expect", expected], env: ["OUT": out])
        XCTAssertEqual(status, 0, text)
        XCTAssertTrue(text.contains("sha256 \(expected)"), text)
    }

    func testDecodeFloatAndLatentAgreeWithGenerate() {
        let b = Buffers(image: Self.image)
        XCTAssertEqual(initStatus(b, count: Self.image.count), Int(VAE_OK))
        var latent = [Float](repeating: 0, count: 64)
        XCTAssertEqual(vae_latent(42, 7, 64, &latent), Int32(VAE_OK))
        XCTAssertEqual(latent, SwiftRuntime.latent(seed: 42, index: 7, dim: 64))
        var f = [Float](repeating: -1, count: 784), p = [UInt8](repeating: 0, count: 784), g = p
        XCTAssertEqual(vae_decoder_decode_float(b.state, latent, &f), Int32(VAE_OK))
        XCTAssertEqual(vae_decoder_decode(b.state, latent, &p), Int32(VAE_OK))
        XCTAssertEqual(vae_generate(b.state, 42, 7, &g), Int32(VAE_OK))
        XCTAssertEqual(p, g)
        XCTAssertEqual(f.map { UInt8(min(max($0, 0), 1) * 255 + 0.5) }, p)
        XCTAssertTrue(f.allSatisfy { $0 >= 0 && $0 <= 1 })
    }

    /// Bad images and bad arguments give their documented codes and never trap.
    func testBadImagesAndArgumentsGiveTheDocumentedCodes() {
        let n = Self.image.count
        func status(_ edit: (inout [UInt8]) -> Void, count: Int? = nil, fixCRC: Bool = true) -> Int {
            var bytes = Self.image
            edit(&bytes)
            if fixCRC { CRC.fix(&bytes) }
            let b = Buffers(image: bytes, arenaBytes: 64 * 1024)
            return Int(vae_decoder_init(b.state, MemoryLayout<vae_decoder_state>.size, b.image.baseAddress, count ?? bytes.count,
                                        b.arena.baseAddress, 64 * 1024))
        }
        func put(_ b: inout [UInt8], _ off: Int, _ v: UInt32) {
            for i in 0..<4 { b[off + i] = UInt8(truncatingIfNeeded: v >> (8 * UInt32(i))) }
        }
        XCTAssertEqual(status({ _ in }), Int(VAE_OK))
        XCTAssertEqual(status({ $0[0] = UInt8(ascii: "X") }), Int(VAE_ERR_BAD_MAGIC))
        XCTAssertEqual(status({ $0[4] = 2 }), Int(VAE_ERR_UNSUPPORTED_VERSION))
        XCTAssertEqual(status({ _ in }, count: n - 1), Int(VAE_ERR_TRUNCATED))
        XCTAssertEqual(status({ _ in }, count: 63), Int(VAE_ERR_TRUNCATED))
        XCTAssertEqual(status({ _ in }, count: 0), Int(VAE_ERR_TRUNCATED))
        XCTAssertEqual(status({ $0[n - 1] ^= 1 }, fixCRC: false), Int(VAE_ERR_CHECKSUM_MISMATCH))
        XCTAssertEqual(status({ put(&$0, 16, 3) }), Int(VAE_ERR_UNSUPPORTED_WEIGHT_TYPE))
        XCTAssertEqual(status({ put(&$0, 16, 2) }), Int(VAE_ERR_UNSUPPORTED_VERSION))   // int8 needs minor version 1
        XCTAssertEqual(status({ put(&$0, 36, 9) }), Int(VAE_ERR_TOO_MANY_LAYERS))
        XCTAssertEqual(status({ put(&$0, 36, 0xFFFF_FFFF) }), Int(VAE_ERR_TOO_MANY_LAYERS))
        XCTAssertEqual(status({ put(&$0, 20, 4096); put(&$0, 24, 1024) }), Int(VAE_ERR_EXCEEDS_CAPACITY))   // latent beyond capacity
        XCTAssertEqual(status({ put(&$0, 64 + 8, 65) }), Int(VAE_ERR_EXCEEDS_CAPACITY))       // 65 output channels
        XCTAssertEqual(status({ put(&$0, 64 + 12, 17); put(&$0, 64 + 16, 17) }), Int(VAE_ERR_EXCEEDS_CAPACITY))   // kernel 17
        XCTAssertEqual(status({ put(&$0, 64 + 4, 15) }), Int(VAE_ERR_INCONSISTENT_ARCHITECTURE))
        XCTAssertEqual(status({ put(&$0, 64 + 20, 2) }), Int(VAE_ERR_UNSUPPORTED_LAYER))      // stride 2
        XCTAssertEqual(status({ put(&$0, 64 + 36, 360) }), Int(VAE_ERR_MISALIGNED))           // weight offset not a multiple of 16
        XCTAssertEqual(status({ put(&$0, 64 + 36, 0xFFFF_FFF0) }), Int(VAE_ERR_BAD_TENSOR_OFFSET))
        // NaN and infinite weights and biases (a forged CRC or a writer bug): refused, never decoded.
        func weightOffset(_ layer: Int, bias: Bool = false) -> Int {
            let f = 64 + 48 * layer + (bias ? 40 : 36)
            return Int(Self.image[f]) | Int(Self.image[f + 1]) << 8 | Int(Self.image[f + 2]) << 16 | Int(Self.image[f + 3]) << 24
        }
        XCTAssertEqual(status({ put(&$0, weightOffset(0), 0x7FC0_0000) }), Int(VAE_ERR_NON_FINITE_WEIGHT))          // NaN
        XCTAssertEqual(status({ put(&$0, weightOffset(5) + 4, 0xFF80_0000) }), Int(VAE_ERR_NON_FINITE_WEIGHT))      // -inf
        XCTAssertEqual(status({ put(&$0, weightOffset(3, bias: true), 0x7F80_0000) }), Int(VAE_ERR_NON_FINITE_WEIGHT))   // +inf bias
        XCTAssertEqual(status({ put(&$0, weightOffset(2), 0x7F7F_FFFF) }), Int(VAE_OK))   // the largest finite float is a weight

        // Misaligned and null pointers, small buffers.
        let b = Buffers(image: Self.image)
        XCTAssertEqual(initStatus(b, count: n - 2, imageOffset: 2), Int(VAE_ERR_MISALIGNED))
        XCTAssertEqual(initStatus(b, count: n, arenaOffset: 2), Int(VAE_ERR_MISALIGNED))
        XCTAssertEqual(initStatus(b, count: n, arenaBytes: 64), Int(VAE_ERR_ARENA_TOO_SMALL))
        XCTAssertEqual(Int(vae_decoder_init(b.state, MemoryLayout<vae_decoder_state>.size, nil, n, b.arena.baseAddress, 1 << 16)),
                       Int(VAE_ERR_BAD_ARGUMENT))
        XCTAssertEqual(Int(vae_decoder_init(b.state, MemoryLayout<vae_decoder_state>.size, b.image.baseAddress, n, nil, 1 << 16)),
                       Int(VAE_ERR_BAD_ARGUMENT))
        XCTAssertEqual(Int(vae_decoder_init(nil, 1024, b.image.baseAddress, n, b.arena.baseAddress, 1 << 16)), Int(VAE_ERR_BAD_ARGUMENT))
        XCTAssertEqual(Int(vae_decoder_init(b.state, 8, b.image.baseAddress, n, b.arena.baseAddress, 1 << 16)), Int(VAE_ERR_BAD_ARGUMENT))
        let raw = UnsafeMutableRawPointer(b.state) + 4
        XCTAssertEqual(Int(vae_decoder_init(raw.assumingMemoryBound(to: vae_decoder_state.self), 2000, b.image.baseAddress, n,
                                            b.arena.baseAddress, 1 << 16)), Int(VAE_ERR_MISALIGNED))
        var size = 0
        XCTAssertEqual(Int(vae_decoder_arena_size(b.image.baseAddress! + 1, n, &size)), Int(VAE_ERR_MISALIGNED))
        XCTAssertEqual(Int(vae_decoder_arena_size(b.image.baseAddress, n, nil)), Int(VAE_ERR_BAD_ARGUMENT))

        // A failed init leaves a state that every call refuses; a good one then works.
        var px = [UInt8](repeating: 0, count: 784)
        XCTAssertNotEqual(initStatus(b, count: 10), Int(VAE_OK))
        XCTAssertEqual(Int(vae_generate(b.state, 42, 0, &px)), Int(VAE_ERR_BAD_ARGUMENT))
        XCTAssertEqual(vae_decoder_latent_dim(b.state), 0)
        XCTAssertEqual(vae_decoder_pixel_count(b.state), 0)
        XCTAssertEqual(initStatus(b, count: n), Int(VAE_OK))
        XCTAssertEqual(Int(vae_generate(b.state, 42, 0, &px)), Int(VAE_OK))
        XCTAssertEqual(Int(vae_generate(b.state, 42, 0, nil)), Int(VAE_ERR_BAD_ARGUMENT))
        var latent = [Float](repeating: 0, count: 65)
        XCTAssertEqual(Int(vae_decoder_decode(b.state, nil, &px)), Int(VAE_ERR_BAD_ARGUMENT))
        latent.withUnsafeMutableBytes { p in
            let odd = (p.baseAddress! + 2).assumingMemoryBound(to: Float.self)
            XCTAssertEqual(Int(vae_decoder_decode(b.state, odd, &px)), Int(VAE_ERR_MISALIGNED))
            XCTAssertEqual(Int(vae_latent(1, 2, 64, odd)), Int(VAE_ERR_MISALIGNED))
        }
        XCTAssertEqual(Int(vae_latent(1, 2, 0, &latent)), Int(VAE_ERR_BAD_ARGUMENT))
        XCTAssertEqual(Int(vae_latent(1, 2, 64, nil)), Int(VAE_ERR_BAD_ARGUMENT))
        XCTAssertEqual(Int(vae_sha256(nil, 0, &px)), Int(VAE_OK))
        XCTAssertEqual(Int(vae_sha256(nil, 1, &px)), Int(VAE_ERR_BAD_ARGUMENT))
    }

    /// Every call, from init to decode, with the heap watched: not one allocation.
    func testNoCallAllocates() {
        let b = Buffers(image: Self.image)
        var px = [UInt8](repeating: 0, count: 784), latent = [Float](repeating: 0, count: 64)
        var out = [Float](repeating: 0, count: 784), digest = [UInt8](repeating: 0, count: 32)
        var need = 0, bad: Int32 = 0, count: UInt64 = 0
        px.withUnsafeMutableBufferPointer { p in
            latent.withUnsafeMutableBufferPointer { l in
                out.withUnsafeMutableBufferPointer { o in
                    digest.withUnsafeMutableBufferPointer { d in
                        vae_malloc_counter_start()
                        var rc = vae_decoder_arena_size(b.image.baseAddress, Self.image.count, &need)
                        rc |= vae_decoder_init(b.state, MemoryLayout<vae_decoder_state>.size, b.image.baseAddress,
                                               Self.image.count, b.arena.baseAddress, need)
                        for i in 0..<3 { rc |= vae_generate(b.state, 42, UInt64(i), p.baseAddress) }
                        rc |= vae_latent(42, 5, 64, l.baseAddress)
                        rc |= vae_decoder_decode(b.state, l.baseAddress, p.baseAddress)
                        rc |= vae_decoder_decode_float(b.state, l.baseAddress, o.baseAddress)
                        rc |= vae_sha256(p.baseAddress, 784, d.baseAddress)
                        _ = vae_status_string(4)
                        bad = vae_decoder_init(b.state, MemoryLayout<vae_decoder_state>.size, b.image.baseAddress, 100,
                                               b.arena.baseAddress, need)
                        count = vae_malloc_counter_stop()
                        XCTAssertEqual(rc, Int32(VAE_OK))
                    }
                }
            }
        }
        XCTAssertEqual(bad, Int32(VAE_ERR_TRUNCATED))
        XCTAssertEqual(count, 0, "the C interface allocated")
    }

    func testStatusStrings() {
        XCTAssertEqual(String(cString: vae_status_string(0)), "ok")
        for code in 1...19 {
            let s = String(cString: vae_status_string(Int32(code)))
            XCTAssertFalse(s.isEmpty || s == "unknown status code", "code \(code)")
        }
        XCTAssertTrue(String(cString: vae_status_string(Int32(VAE_ERR_NON_FINITE_WEIGHT))).contains("NaN"))
        XCTAssertEqual(String(cString: vae_status_string(20)), "unknown status code")
        XCTAssertEqual(String(cString: vae_status_string(-1)), "unknown status code")
        XCTAssertTrue(String(cString: vae_status_string(Int32(VAE_ERR_BAD_MAGIC))).contains("VAED"))
    }

    func testSHA256KnownAnswer() {
        var d = [UInt8](repeating: 0, count: 32)
        _ = vae_sha256(Array("abc".utf8), 3, &d)
        XCTAssertEqual(d.map { String(format: "%02x", $0) }.joined(),
                       "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    }
}

enum CRC {
    /// Rewrites a decoder image's CRC-32 field (bytes 12..<16) over bytes [16, total).
    static func fix(_ b: inout [UInt8]) {
        let total = min(b.count, Int(b[8]) | Int(b[9]) << 8 | Int(b[10]) << 16 | Int(b[11]) << 24)
        guard total > 16 else { return }
        var c: UInt32 = 0xFFFF_FFFF
        for byte in b[16..<total] {
            c ^= UInt32(byte)
            for _ in 0..<8 { c = c & 1 == 1 ? (c >> 1) ^ 0xEDB8_8320 : c >> 1 }
        }
        c = ~c
        for i in 0..<4 { b[12 + i] = UInt8(truncatingIfNeeded: c >> (8 * UInt32(i))) }
    }
}

enum Shell {
    static func run(_ exe: String, _ args: [String], env: [String: String] = [:]) throws -> (Int32, String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: exe)
        p.arguments = args
        var e = ProcessInfo.processInfo.environment
        for (k, v) in env { e[k] = v }
        if let path = e["PATH"], !path.contains("/opt/swift/usr/bin") { e["PATH"] = path + ":/opt/swift/usr/bin" }
        p.environment = e
        p.currentDirectoryURL = Repo.root
        let pipe = Pipe()
        p.standardOutput = pipe
        p.standardError = pipe
        try p.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (p.terminationStatus, String(decoding: data, as: UTF8.self))
    }
}

enum VaeGen {
    /// The vae-gen binary beside the test bundle: `swift build --build-tests` (and
    /// scripts/test-all.sh) builds it with the tests. A missing one is an error, not a skip:
    /// a comparison that is skipped when the binary is absent would pass in exactly the build
    /// that forgot it.
    static func executable() throws -> String {
        let dir = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        let exe = dir.appendingPathComponent("vae-gen").path
        guard FileManager.default.isExecutableFile(atPath: exe) else {
            throw Missing(description: "\(exe): no vae-gen beside the test bundle; build it with the tests (swift build --build-tests)")
        }
        return exe
    }
    struct Missing: Error, CustomStringConvertible { let description: String }

    /// What `vae-gen --seed S -n N [extra]` prints after "sha256 " (the shipped checkpoint
    /// unless `extra` names another model).
    static func sha256(seed: UInt64, n: Int, _ extra: [String] = ["--checkpoint", Repo.checkpoint]) throws -> String {
        let exe = try executable()
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("vaegen-\(getpid())").path
        defer { try? FileManager.default.removeItem(atPath: out) }
        let args = ["--seed", "\(seed)", "-n", "\(n)", "--out", out] + extra
        let (status, text) = try Shell.run(exe, args)
        guard status == 0, let line = text.split(separator: "\n").first(where: { $0.hasPrefix("sha256 ") }) else {
            throw Missing(description: "vae-gen \(args.joined(separator: " ")) exited \(status) without a digest: \(text)")
        }
        return String(line.dropFirst(7))
    }
}

/// The C interface on the shipped int8 decoder: it says which precision it holds and its digits
/// are the trainer's int8 goldens (Int8Reference), byte for byte.
final class CAPIInt8Tests: XCTestCase {
    func testInt8ImageThroughTheHeader() throws {
        let image = try CheckpointReader.readDecoderImage(Repo.checkpoint, precision: .int8).image
        let b = Buffers(image: image)
        var need = 0
        XCTAssertEqual(vae_decoder_arena_size(b.image.baseAddress, image.count, &need), Int32(VAE_OK))
        XCTAssertEqual(vae_decoder_init(b.state, MemoryLayout<vae_decoder_state>.size, b.image.baseAddress, image.count,
                                        b.arena.baseAddress, need), Int32(VAE_OK))
        XCTAssertEqual(vae_decoder_precision(b.state), Int32(VAE_PRECISION_INT8))
        let golden = try Data(contentsOf: URL(fileURLWithPath: Repo.path("Tests/DecoderTests/Goldens/trainer-int8-seed42.bin"))).map { $0 }
        var px = [UInt8](repeating: 0, count: 784)
        for i in 0..<16 {
            XCTAssertEqual(vae_generate(b.state, 42, UInt64(i), &px), Int32(VAE_OK))
            XCTAssertEqual(px, Array(golden[(i * 784)..<((i + 1) * 784)]), "image \(i)")
        }
    }
}

/// Class priors through the header (docs/checkpoint-format.md section 2.2): an image exported
/// with them draws the documented test vector of docs/latent-generator.md section 6 (read from
/// the document), and says so when it has no priors or no such class.
final class CAPIClassTests: XCTestCase {
    func state(_ image: [UInt8]) -> Buffers {
        let b = Buffers(image: image)
        var need = 0
        XCTAssertEqual(vae_decoder_arena_size(b.image.baseAddress, image.count, &need), Int32(VAE_OK))
        XCTAssertEqual(vae_decoder_init(b.state, MemoryLayout<vae_decoder_state>.size, b.image.baseAddress, image.count,
                                        b.arena.baseAddress, need), Int32(VAE_OK))
        return b
    }

    func testDigitSevenIsTheDocumentedTestVector() throws {
        let doc = try String(contentsOfFile: Repo.path("docs/latent-generator.md"), encoding: .utf8)
        let marker = "`vae-gen --digit 7 --seed 42 -n 100` prints\n`sha256 "
        let start = try XCTUnwrap(doc.range(of: marker)).upperBound
        let want = String(doc[start...].prefix(64))
        let priors = try CheckpointReader.readClassPriors(Repo.checkpoint)
        let b = state(ImagePriors.attach(priors, to: try CheckpointReader.readDecoderImage(Repo.checkpoint).image))
        XCTAssertEqual(vae_decoder_class_count(b.state), 10)
        var all = [UInt8](repeating: 0, count: 100 * 784)
        all.withUnsafeMutableBufferPointer { p in
            for i in 0..<100 { XCTAssertEqual(vae_generate_class(b.state, 42, UInt64(i), 7, p.baseAddress! + i * 784), Int32(VAE_OK)) }
        }
        var digest = [UInt8](repeating: 0, count: 32)
        XCTAssertEqual(vae_sha256(all, all.count, &digest), Int32(VAE_OK))
        XCTAssertEqual(digest.map { String(format: "%02x", $0) }.joined(), want)
        // The latent call gives what generate decodes.
        var z = [Float](repeating: 0, count: 64), px = [UInt8](repeating: 0, count: 784)
        XCTAssertEqual(vae_class_latent(b.state, 42, 5, 7, &z), Int32(VAE_OK))
        XCTAssertEqual(vae_decoder_decode(b.state, z, &px), Int32(VAE_OK))
        XCTAssertEqual(px, Array(all[(5 * 784)..<(6 * 784)]))
        XCTAssertEqual(vae_generate_class(b.state, 42, 0, 10, &px), Int32(VAE_ERR_NO_SUCH_CLASS))
        XCTAssertEqual(vae_class_latent(b.state, 42, 0, UInt32.max, &z), Int32(VAE_ERR_NO_SUCH_CLASS))
        XCTAssertEqual(vae_generate_class(b.state, 42, 0, 0, nil), Int32(VAE_ERR_BAD_ARGUMENT))
        XCTAssertEqual(vae_generate_class(nil, 42, 0, 0, &px), Int32(VAE_ERR_BAD_ARGUMENT))
    }

    func testAnImageWithoutPriorsSaysSo() throws {
        let b = state(try CheckpointReader.readDecoderImage(Repo.checkpoint, precision: .int8).image)
        XCTAssertEqual(vae_decoder_class_count(b.state), 0)
        var px = [UInt8](repeating: 0, count: 784)
        XCTAssertEqual(vae_generate_class(b.state, 42, 0, 0, &px), Int32(VAE_ERR_NO_SUCH_CLASS))
        XCTAssertTrue(String(cString: vae_status_string(Int32(VAE_ERR_NO_SUCH_CLASS))).contains("--priors"))
        XCTAssertTrue(String(cString: vae_status_string(Int32(VAE_ERR_BAD_CLASS_PRIORS))).contains("class priors"))
        XCTAssertEqual(vae_decoder_class_count(nil), 0)
    }
}
