import CMallocCounter
import VAEDecoder
import XCTest

/// "No heap allocation after load", counted: every malloc-family call in the process is counted
/// while 1,000 decodes run.
final class NoAllocationTests: XCTestCase {
    func testThousandDecodesAllocateNothing() throws {
        let h = try Harness()
        let lat = UnsafeMutablePointer<Float>.allocate(capacity: h.model.latent)
        let px = UnsafeMutablePointer<UInt8>.allocate(capacity: h.model.pixelCount)
        let out = UnsafeMutablePointer<Float>.allocate(capacity: h.model.pixelCount)
        defer { lat.deallocate(); px.deallocate(); out.deallocate() }
        let decoder = h.decoder
        // The counter itself works: an allocation while counting is seen.
        vae_malloc_counter_start()
        let probe = UnsafeMutablePointer<UInt8>.allocate(capacity: 100)
        XCTAssertGreaterThan(vae_malloc_counter_stop(), 0)
        probe.deallocate()

        vae_malloc_counter_start()
        for i in 0..<1000 {
            decoder.generate(seed: 42, index: UInt64(i), latentScratch: lat, pixels: px)
            decoder.decode(latent: lat, into: out)
        }
        let n = vae_malloc_counter_stop()
        XCTAssertEqual(n, 0, "heap allocations during 1,000 decodes")
    }
}
