// libFuzzer: the MNIST IDX image reader (after gzip; zlib itself is not this project's code).
import FuzzSupport
import VAETrainer

@_cdecl("LLVMFuzzerInitialize")
public func initialize(_ argc: UnsafeMutablePointer<Int32>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>) -> Int32 {
    FuzzSupport.writeSeedsIfAsked {
        let header: [UInt8] = [0, 0, 8, 3, 0, 0, 0, 2, 0, 0, 0, 28, 0, 0, 0, 28]
        return [("two-images.idx3", header + [UInt8](repeating: 7, count: 2 * 784)),
                ("labels.idx1", [0, 0, 8, 1, 0, 0, 0, 2, 3, 4])]
    }
    return 0
}

@_cdecl("LLVMFuzzerTestOneInput")
public func testOneInput(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    _ = try? MNIST.parseImages(bytes, path: "fuzz")
    return 0
}
