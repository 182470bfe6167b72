"""Dev test of the bridge (not in the suite: needs torch and onnxruntime, in a virtual environment
outside the repository; the package itself needs neither):

    python3 -m venv /work/venv-torch && /work/venv-torch/bin/pip install numpy torch onnxruntime
    swift build -c release --product vae-gen
    /work/venv-torch/bin/python python/dev/bridge_dev_test.py --data ../shared/data/mnist --vae-gen .build/release/vae-gen

1. Two models trained in PyTorch for --steps batches: scripts/torch_ref.py's VAE, and one with
   another decoder stack (4 layers: LeakyReLU(0.2), ReLU, none, sigmoid). Each state_dict is
   torch.save'd and converted by `python3 -m vaebridge convert` run by the system python3 (no
   torch there), and vae-gen decodes the same latents as PyTorch: the pixels must agree within
   1 level.
2. Each of those checkpoints and the shipped one exported with vaebridge.export_onnx, run in
   ONNX Runtime: its pixels against vae-gen's float32 pixels, within 1 level.
3. Two stacks the format describes but the runtime does not run (strides and padding; oblong
   kernels), converted from PyTorch modules and exported as ONNX: ONNX Runtime against PyTorch.
4. --make-fixture writes python/tests/fixtures/tiny_state_dict.{pt,npz}, which the suite's
   torch-free test of the .pt reader reads.
Exits non-zero if any comparison is off by more than one level.
"""
import argparse
import os
import subprocess
import sys
import tempfile
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, 'python'))
sys.path.insert(0, os.path.join(ROOT, 'scripts'))
import vaebridge as vb  # noqa: E402
from vaebridge import numpy_decoder as nd  # noqa: E402
from torch_ref import VAE, idx, losses  # noqa: E402

OTHER = [(16, 8, 9, 'leaky_relu:0.2'), (8, 4, 9, 'relu'), (4, 2, 7, 'none'), (2, 1, 5, 'sigmoid')]


class OtherVAE(VAE):
    """torch_ref's encoder, another decoder stack (2 + 8 + 8 + 6 + 4 = 28), the same names."""

    def __init__(self):
        super().__init__()
        self.convs = nn.ModuleList([nn.ConvTranspose2d(i, o, k) for i, o, k, _ in OTHER])

    def decode(self, z):
        y = z.view(-1, 16, 2, 2)
        for c, (_, _, _, act) in zip(self.convs, OTHER):
            y = c(y)
            y = {'leaky_relu:0.2': lambda t: F.leaky_relu(t, 0.2), 'relu': F.relu, 'none': lambda t: t,
                 'sigmoid': torch.sigmoid}[act](y)
        return y.view(-1, 784)


def train(m, x, steps, batch=128, seed=0):
    torch.manual_seed(seed)
    opt = torch.optim.Adam(m.parameters(), lr=1e-3)
    t0, last = time.time(), None
    for s in range(steps):
        xb = x[torch.randint(0, len(x), (batch,))]
        out, mu, lv = m(xb)
        rec, kld = losses(out, xb, mu, lv)
        opt.zero_grad()
        ((rec + kld) / batch).backward()
        opt.step()
        last = (rec.item() + kld.item()) / batch
    return last, time.time() - t0


def pixels_torch(p):
    return nd.pixels(p.detach().numpy())


def compare(a, b):
    d = np.abs(a.astype(int) - b.astype(int))
    return int(d.max()), int((d > 0).sum()), d.size


def run(cmd, **kw):
    r = subprocess.run(cmd, capture_output=True, text=True, **kw)
    if r.returncode:
        sys.exit('failed: %s\n%s%s' % (' '.join(cmd), r.stdout, r.stderr))
    return r.stdout


def write_png(path, gray):
    """8-bit grayscale PNG with zlib and struct only (the dev venv has no imaging library)."""
    import struct, zlib
    h, w = gray.shape
    rows = b''.join(b'\0' + gray[y].astype(np.uint8).tobytes() for y in range(h))

    def chunk(t, d):
        return struct.pack('>I', len(d)) + t + d + struct.pack('>I', zlib.crc32(t + d) & 0xFFFFFFFF)
    with open(path, 'wb') as f:
        f.write(b'\x89PNG\r\n\x1a\n' + chunk(b'IHDR', struct.pack('>IIBBBBB', w, h, 8, 0, 0, 0, 0))
                + chunk(b'IDAT', zlib.compress(rows, 9)) + chunk(b'IEND', b''))


def tile(px, cols=4, scale=2):
    """[N, 784] uint8 -> a cols-wide grid with a 2-pixel gap, upscaled."""
    n = len(px)
    rows = (n + cols - 1) // cols
    g = np.full((rows * 30, cols * 30), 40, np.uint8)
    for i in range(n):
        r, c = divmod(i, cols)
        g[r * 30 + 1:r * 30 + 29, c * 30 + 1:c * 30 + 29] = px[i].reshape(28, 28)
    return np.kron(g, np.ones((scale, scale), np.uint8))


def make_fixture():
    d = os.path.join(ROOT, 'python', 'tests', 'fixtures')
    os.makedirs(d, exist_ok=True)
    torch.manual_seed(3)
    sd = nn.ConvTranspose2d(3, 2, 3).state_dict()
    base = torch.arange(24, dtype=torch.float32).reshape(4, 6)
    sd['t.transposed'] = base.t()                # strides (1, 6): not contiguous
    sd['t.slice'] = base[1:3, 2:5]               # an offset into a shared storage
    sd['t.f64'] = torch.linspace(-1, 1, 5, dtype=torch.float64)
    sd['t.f16'] = torch.tensor([0.5, -2.0, 1e-3], dtype=torch.float16)
    sd['t.bf16'] = torch.tensor([0.5, -2.0, 3.140625], dtype=torch.bfloat16)
    sd['t.i64'] = torch.tensor([1, -2, 3])
    sd['t.scalar'] = torch.tensor(7.25)
    torch.save(sd, os.path.join(d, 'tiny_state_dict.pt'))
    np.savez(os.path.join(d, 'tiny_state_dict.npz'),
             **{k: (v.float() if v.dtype == torch.bfloat16 else v).numpy() for k, v in sd.items()})
    print('wrote %s/tiny_state_dict.{pt,npz} (torch %s)' % (d, torch.__version__))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--data', default=os.path.join(ROOT, '..', 'shared', 'data', 'mnist'))
    ap.add_argument('--vae-gen', default=os.path.join(ROOT, '.build', 'release', 'vae-gen'))
    ap.add_argument('--steps', type=int, default=300)
    ap.add_argument('--latents', type=int, default=1000)
    ap.add_argument('--threads', type=int, default=2)
    ap.add_argument('--python', default='python3', help='the torch-free python3 that runs the converter (default %(default)s)')
    ap.add_argument('--keep', help='write the .pt, .vaeckpt and .onnx files into this folder (default: a temporary one)')
    ap.add_argument('--picture', help='PNG: the first 16 latents of the torch_ref model in PyTorch (left), vae-gen (middle), '
                    '|difference| x 64 (right)')
    ap.add_argument('--parts', default='1,2,3', help='which of the parts above to run (default %(default)s)')
    ap.add_argument('--make-fixture', action='store_true')
    a = ap.parse_args()
    if a.make_fixture:
        make_fixture()
        return 0
    import onnxruntime as ort
    torch.set_num_threads(a.threads)
    tmp = a.keep or tempfile.mkdtemp()
    os.makedirs(tmp, exist_ok=True)
    x = torch.tensor(idx(os.path.join(a.data, 'train-images-idx3-ubyte.gz')), dtype=torch.float32).view(-1, 784) / 255
    z = np.random.default_rng(2026).standard_normal((a.latents, 64)).astype('<f4')
    zpath = os.path.join(tmp, 'z.npy')
    np.save(zpath, z)
    print('torch %s, onnxruntime %s, numpy %s; %d latents (numpy default_rng(2026) normal), %d threads'
          % (torch.__version__, ort.__version__, np.__version__, a.latents, a.threads))
    worst, checkpoints = 0, [('shipped checkpoints/vae-mnist.vaeckpt', os.path.join(ROOT, 'checkpoints', 'vae-mnist.vaeckpt'), None)]

    def vae_gen_pixels(path):
        out = os.path.join(tmp, 'px.npy')
        run([a.vae_gen, 'decode', '--checkpoint', path, '--latents', zpath, '--out-npy', out, '--out-png', os.path.join(tmp, 'g.png')])
        return np.load(out).reshape(len(z), 784)

    parts = {int(p) for p in a.parts.split(',')}
    if 1 in parts:
        print('\n1. PyTorch -> state_dict -> torch.save -> vaebridge convert (system python3, no torch) -> vae-gen')
    for name, model, extra in ((('torch_ref VAE', VAE(), []),
                                ('other stack', OtherVAE(), ['--activations', ','.join(l[3] for l in OTHER)])) if 1 in parts else ()):
        loss, secs = train(model, x, a.steps)
        model.eval()
        pt, ck = os.path.join(tmp, name.replace(' ', '_') + '.pt'), os.path.join(tmp, name.replace(' ', '_') + '.vaeckpt')
        torch.save(model.state_dict(), pt)
        code = ('import importlib.util, runpy, sys\n'
                'sys.argv = ["vaebridge"] + sys.argv[1:]\n'
                'try:\n    runpy.run_module("vaebridge", run_name="__main__")\nexcept SystemExit as e:\n    assert not e.code, e.code\n'
                'assert "torch" not in sys.modules\n'
                'print("(torch %s in this python3)" % ("installed, not imported" if importlib.util.find_spec("torch") else "not installed"))')
        conv = run([a.python, '-c', code, 'convert', pt, ck] + extra, env=dict(os.environ, PYTHONPATH=os.path.join(ROOT, 'python')))
        # The same conversion in-process from the live tensors: identical bytes.
        same = vb.encode(vb.convert.from_state_dict(model.state_dict(), activations=[l[3] for l in OTHER] if extra else None)) \
            == open(ck, 'rb').read()
        with torch.no_grad():
            tp = model.decode(torch.from_numpy(z))
        got = vae_gen_pixels(ck)
        m, n, tot = compare(got, pixels_torch(tp))
        worst = max(worst, m)
        print('  %-14s trained %d steps (%.0f s, last batch loss %.1f/image)' % (name, a.steps, secs, loss))
        print('  %-14s %s' % ('', ' '.join(conv.split())))
        print('  %-14s .pt converted without torch == from_state_dict in-process: %s' % ('', same))
        print('  %-14s vae-gen vs PyTorch pixels: max diff %d level(s), %d of %d pixels differ' % ('', m, n, tot))
        checkpoints.append((name, ck, tp.numpy()))
        if a.picture and name == 'torch_ref VAE':
            t, v = pixels_torch(tp)[:16], got[:16]
            diff = np.minimum(np.abs(t.astype(int) - v.astype(int)) * 64, 255).astype(np.uint8)
            sep = np.full((tile(t).shape[0], 16), 255, np.uint8)
            write_png(a.picture, np.hstack([tile(t), sep, tile(v), sep, tile(diff)]))
            print('  %-14s wrote %s' % ('', a.picture))

    if 2 in parts:
        print('\n2. checkpoint -> vaebridge.export_onnx -> ONNX Runtime (CPU, 1 thread) vs vae-gen float32')
    so = ort.SessionOptions()
    so.intra_op_num_threads = so.inter_op_num_threads = 1
    for name, ck, tp in checkpoints if 2 in parts else ():
        path = os.path.join(tmp, os.path.basename(ck).replace('.vaeckpt', '.onnx'))
        vb.onnx.export_onnx(ck, path)
        s = ort.InferenceSession(path, so, providers=['CPUExecutionProvider'])
        px = s.run(None, {'z': z})[0]
        got = vae_gen_pixels(ck)
        m, n, tot = compare(nd.pixels(px), got)
        worst = max(worst, m)
        line = '  %-36s ONNX Runtime vs vae-gen pixels: max diff %d, %d of %d differ' % (name, m, n, tot)
        if tp is not None:
            line += '; probabilities vs PyTorch: max |diff| %.2e' % float(np.abs(px - tp).max())
        print(line)
    if 3 in parts:
        print('\n3. stacks the format describes and the runtime does not run, in ONNX Runtime against PyTorch')
        torch.manual_seed(5)
    zt = torch.from_numpy(z[:100])
    for name, spec in () if 3 not in parts else (('stride 2, padding 1, kernel 4 x 4 (x3), then 13', [(16, 8, 4, 2, 1), (8, 4, 4, 2, 1), (4, 2, 4, 2, 1), (2, 1, 13, 1, 0)]),
                       ('oblong kernels 9 x 7, 11 x 13, 9 x 9', [(16, 8, (9, 7), 1, 0), (8, 4, (11, 13), 1, 0), (4, 1, (9, 9), 1, 0)])):
        convs = nn.ModuleList([nn.ConvTranspose2d(i, o, k, stride=s_, padding=p_) for i, o, k, s_, p_ in spec])
        view = (16, 2, 2)
        with torch.no_grad():
            y = zt.view(-1, *view)
            for k, c in enumerate(convs):
                y = c(y)
                y = torch.sigmoid(y) if k == len(convs) - 1 else F.leaky_relu(y, 0.01)
        sd = {'convs.%d.%s' % (k, n): getattr(c, n).detach() for k, c in enumerate(convs) for n in ('weight', 'bias')}
        d = vb.decoder_from_state_dict(sd, strides=[t[3] for t in spec], paddings=[t[4] for t in spec])
        path = os.path.join(tmp, 'stack.onnx')
        vb.onnx.export_onnx(d, path, flat=False)
        px = ort.InferenceSession(path, so, providers=['CPUExecutionProvider']).run(None, {'z': z[:100]})[0]
        err = float(np.abs(px - y.numpy()).max())
        m, n, tot = compare(nd.pixels(px), nd.pixels(y.numpy()))
        worst = max(worst, m)
        print('  %-48s output %s, max |p diff| %.2e, pixels: max diff %d, %d of %d differ; vae-gen: %s'
              % (name, list(px.shape[1:]), err, m, n, tot, d.runtime_problem()))
    print('\nworst difference: %d level(s) (%s)' % (worst, 'ok' if worst <= 1 else 'FAIL: more than 1'))
    return 0 if worst <= 1 else 1


if __name__ == '__main__':
    sys.exit(main())
