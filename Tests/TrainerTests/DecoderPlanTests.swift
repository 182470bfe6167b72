import Checkpoint
import XCTest
import VAETrainer

/// The --decoder-layers rule (docs/training.md, "Decoder variants") and --activation parsing.
final class DecoderPlanTests: XCTestCase {
    typealias L = ModelConfig.DeconvLayer

    /// The rule gives back the report's 6-layer model exactly (slope bits included), so the
    /// default run is the model it always was.
    func testSixLayersIsTheStandardModel() {
        let six = ModelConfig.decoder(layers: 6)
        XCTAssertEqual(six, .standard)
        XCTAssertEqual(six.layers.map(\.slope.bitPattern), ModelConfig.standard.layers.map(\.slope.bitPattern))
        XCTAssertEqual(ParamLayout(six).total, ParamLayout(.standard).total)
    }

    /// The plans docs/training.md lists, layer by layer.
    func testDocumentedPlans() {
        func plan(_ n: Int) -> [String] { ModelConfig.decoder(layers: n).layers.map { "\($0.inChannels)->\($0.outChannels) k\($0.kernel)" } }
        XCTAssertEqual(plan(4), ["16->10 k11", "10->4 k9", "4->2 k7", "2->1 k3"])
        XCTAssertEqual(plan(5), ["16->12 k9", "12->8 k7", "8->4 k7", "4->2 k5", "2->1 k3"])
        XCTAssertEqual(plan(6), ["16->13 k9", "13->10 k7", "10->7 k5", "7->4 k5", "4->2 k3", "2->1 k3"])
        XCTAssertEqual(plan(8), ["16->14 k7", "14->12 k5", "12->10 k5", "10->8 k5", "8->6 k3", "6->4 k3", "4->2 k3", "2->1 k3"])
        for n in ModelConfig.decoderLayerCounts {
            let c = ModelConfig.decoder(layers: n, activation: .relu)
            XCTAssertNil(c.validate(), "\(n) layers")
            XCTAssertEqual(c.side(atLayer: n), 28)
            XCTAssertEqual(c.layers.dropLast().map(\.activation), Array(repeating: .relu, count: n - 1))
            XCTAssertEqual(c.layers.last!.activation, .sigmoid)
        }
    }

    func testActivationParsing() {
        XCTAssertEqual(ModelConfig.HiddenActivation.parse("relu").0, .relu)
        XCTAssertEqual(ModelConfig.HiddenActivation.parse("leaky-relu").0, .leakyReLU(slope: 0.01))
        XCTAssertEqual(ModelConfig.HiddenActivation.parse("leaky-relu:0.2").0, .leakyReLU(slope: 0.2))
        for bad in ["foo", "leaky-relu:-1", "leaky-relu:0", "leaky-relu:1", "leaky-relu:x", "leaky-relu:nan", "relu:0.1", ""] {
            let (a, reason) = ModelConfig.HiddenActivation.parse(bad)
            XCTAssertNil(a, bad); XCTAssertNotNil(reason, bad)
        }
    }
}
