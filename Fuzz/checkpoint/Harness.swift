// libFuzzer: the whole checkpoint reader (header, section table, tensor table, inflating every
// section, the decoder images inside, the training block and the history). Built with
// -D VAE_FUZZING, the reader does not compare CRCs, so that mutations reach everything behind
// them. Anything but a thrown CheckpointError is a finding.
import Checkpoint
import FuzzSupport

@_cdecl("LLVMFuzzerInitialize")
public func initialize(_ argc: UnsafeMutablePointer<Int32>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>) -> Int32 {
    FuzzSupport.writeSeedsIfAsked {
        [("tiny-trained.vaeckpt", FuzzSupport.tinyCheckpoint(training: true)),
         ("tiny-weights-only.vaeckpt", FuzzSupport.tinyCheckpoint(training: false)),
         ("tiny-bn-split.vaeckpt", FuzzSupport.tinyVariantCheckpoint())]
    }
    return 0
}

@_cdecl("LLVMFuzzerTestOneInput")
public func testOneInput(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    _ = try? CheckpointReader.read(bytes: bytes, path: "fuzz")
    _ = try? CheckpointReader.rawSections(bytes: bytes, path: "fuzz")
    return 0
}
