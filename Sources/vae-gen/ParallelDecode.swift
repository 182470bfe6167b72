import Dispatch
#if canImport(Glibc)
import Glibc
#endif
import VAEDecoder

/// Images first ..< first + n of `seed` into `pixels`, on `threads` threads, each with its own
/// decoder and arena over the one loaded image. A float32 image goes 16 at a time through the
/// batch decoder (the same bits as one at a time: tests hold it). Every image is a pure function
/// of (seed, index), so the bytes do not depend on the thread count.
enum ParallelDecode {
    static var cores: Int { max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))) }

    static func run(_ rt: LoadedDecoder, seed: UInt64, first: UInt64, n: Int, threads: Int,
                    into pixels: UnsafeMutablePointer<UInt8>) {
        let m = rt.model
        let px = m.pixelCount
        let lanes = BatchDecoder.lanes
        let batched = m.precision == .float32 && rt.decoder.path.rawValue >= 0 && n >= lanes
        let chunk = batched ? lanes : 8
        let chunks = (n + chunk - 1) / chunk
        let workers = max(1, min(threads, chunks))
        DispatchQueue.concurrentPerform(iterations: workers) { w in
            let latents = UnsafeMutablePointer<Float>.allocate(capacity: chunk * m.latent)
            defer { latents.deallocate() }
            let arenaBytes = batched ? BatchDecoder.arenaBytes(for: m) : Decoder.arenaBytes(for: m, path: rt.decoder.path)
            let arena = UnsafeMutableRawBufferPointer.allocate(byteCount: arenaBytes, alignment: 64)
            defer { arena.deallocate() }
            // Both initialisers only repeat checks the loaded decoder passed.
            let batch = batched ? try! BatchDecoder(model: m, arena: arena, path: rt.decoder.path) : nil
            let single = batched ? nil : try! Decoder(model: m, arena: arena, path: rt.decoder.path)
            var c = w
            while c < chunks {
                let start = c * chunk, count = min(chunk, n - start)
                for i in 0..<count {
                    LatentGenerator.fill(seed: seed, image: first + UInt64(start + i), latent: m.latent, into: latents + i * m.latent)
                }
                if let batch {
                    batch.decode(latents: latents, count: count, pixels: pixels + start * px)
                } else if let single {
                    for i in 0..<count { single.decode(latent: latents + i * m.latent, pixels: pixels + (start + i) * px) }
                }
                c += workers
            }
        }
    }
}
