"""Dev-only yardstick: the same float32 decoder (weights from a vae-train checkpoint) in ONNX
Runtime, one thread, batch 1 and batch 100, microseconds per image. Run it right after
`vae-gen bench` on the same machine so the two are compared as a ratio measured together:

  python scripts/bench_onnxruntime.py --checkpoint checkpoints/vae-mnist.vaeckpt

The ONNX file is python/vaebridge's export (no torch, no onnx package): the graph torch.onnx.export
made of torch_ref's decode() before, Reshape, 6 x (ConvTranspose, LeakyRelu / Sigmoid), Reshape.
Needs onnxruntime (PyPI) in a virtual environment outside the repository.
"""
import argparse, os, sys, tempfile, time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), 'python'))
import vaebridge  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--checkpoint', default='checkpoints/vae-mnist.vaeckpt')
    ap.add_argument('--repeats', type=int, default=7)
    ap.add_argument('--images', type=int, default=2000)
    a = ap.parse_args()
    import onnxruntime as ort
    path = os.path.join(tempfile.mkdtemp(), 'decoder.onnx')
    vaebridge.export_onnx(a.checkpoint, path)
    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    so.inter_op_num_threads = 1
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    s = ort.InferenceSession(path, so, providers=['CPUExecutionProvider'])
    rng = np.random.default_rng(1)
    z1 = rng.standard_normal((1, 64)).astype(np.float32)
    z100 = rng.standard_normal((100, 64)).astype(np.float32)

    def med(f):
        xs = sorted(f() for _ in range(a.repeats))
        return xs[len(xs) // 2]

    def b1():
        t0 = time.perf_counter()
        for _ in range(a.images):
            s.run(None, {'z': z1})
        return (time.perf_counter() - t0) / a.images * 1e6

    def b100():
        rounds = max(1, a.images // 100)
        t0 = time.perf_counter()
        for _ in range(rounds):
            s.run(None, {'z': z100})
        return (time.perf_counter() - t0) / (rounds * 100) * 1e6

    for _ in range(200):
        s.run(None, {'z': z1})
    print('onnxruntime %s, 1 thread' % ort.__version__)
    print('batch 1:   %7.2f us/image' % med(b1))
    print('batch 100: %7.2f us/image' % med(b100))


if __name__ == '__main__':
    main()
