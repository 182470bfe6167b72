"""Dev-only: writes the PyTorch forward fixture that TrainerTests compare the Swift model with.

It reads a vae-train checkpoint with its own, independent reader of docs/checkpoint-format.md,
loads the weights into the model of ../shared/reference/torch_ref.py, runs 16 fixture images with
fixed noise through it in float32, and writes inputs and outputs as JSON. Tests never run this:
they read the JSON it wrote. Needs torch (in a virtual environment outside the repository):

  python scripts/make_torch_fixture.py --checkpoint Tests/TrainerTests/Fixtures/forward.vaeckpt \
      --images Tests/TrainerTests/Fixtures/mnist-train-first512.idx3.gz \
      --out Tests/TrainerTests/Fixtures/torch-forward.json
"""
import argparse, gzip, json, os, struct, sys, zlib

import numpy as np
import torch

sys.path.insert(0, os.path.join(os.path.dirname(__file__), '..', '..', 'shared', 'reference'))
from torch_ref import VAE, losses  # noqa: E402


def read_checkpoint(path):
    b = open(path, 'rb').read()
    assert b[:8] == b'VAECKPT\0', 'bad magic'
    major, minor, H = struct.unpack_from('<HHI', b, 8)
    assert major == 1
    assert zlib.crc32(b[:H - 4]) == struct.unpack_from('<I', b, H - 4)[0], 'header CRC'
    pos = 16
    arch_len = struct.unpack_from('<I', b, pos)[0]
    pos += arch_len
    (ns,) = struct.unpack_from('<I', b, pos); pos += 4
    sections = {}
    for _ in range(ns):
        tag, flags, off, stored, raw, scrc, rcrc = struct.unpack_from('<IIQQQII', b, pos); pos += 40
        data = zlib.decompress(b[off:off + stored])
        assert len(data) == raw and zlib.crc32(data) == rcrc
        sections[tag] = data
    (nt,) = struct.unpack_from('<I', b, pos); pos += 4
    tensors = {}
    for _ in range(nt):
        sec, dtype, rank, nlen = struct.unpack_from('<IBBH', b, pos); pos += 8
        name = b[pos:pos + nlen].decode(); pos += nlen
        dims = struct.unpack_from('<%dI' % rank, b, pos); pos += 4 * rank
        off, length = struct.unpack_from('<QQ', b, pos); pos += 16
        if dtype == 1:
            tensors[name] = np.frombuffer(sections[sec][off:off + length], dtype='<f4').reshape(dims).copy()
    return tensors


def read_idx(path, n):
    raw = gzip.open(path, 'rb').read()
    count, rows, cols = struct.unpack_from('>III', raw, 4)
    return np.frombuffer(raw, dtype=np.uint8, offset=16)[:n * rows * cols].reshape(n, rows * cols)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--checkpoint', required=True)
    ap.add_argument('--images', required=True)
    ap.add_argument('--out', required=True)
    ap.add_argument('--n', type=int, default=16)
    a = ap.parse_args()
    t = read_checkpoint(a.checkpoint)
    m = VAE()
    sd = {k: torch.from_numpy(v) for k, v in t.items() if not k.startswith('adam.')}
    sd = {('convs.%s' % k[len('convs.'):] if k.startswith('convs.') else k): v for k, v in sd.items()}
    m.load_state_dict(sd)
    x = torch.tensor(read_idx(a.images, a.n), dtype=torch.float32) / 255
    rng = np.random.default_rng(20261125)
    eps = torch.tensor(rng.standard_normal((a.n, 64)), dtype=torch.float32)
    with torch.no_grad():
        mu, lv = m.encode(x)
        z = mu + eps * torch.exp(0.5 * lv)
        out = m.decode(z)
        rec_each = torch.nn.functional.binary_cross_entropy(out, x, reduction='none').sum(1)
        kl_each = -0.5 * torch.sum(1 + lv - mu ** 2 - lv.exp(), 1)
        rec, kld = losses(out, x, mu, lv)
    # Gradient of the summed loss w.r.t. every parameter, as training would take it.
    m.zero_grad()
    mu2, lv2 = m.encode(x)
    out2 = m.decode(mu2 + eps * torch.exp(0.5 * lv2))
    r2, k2 = losses(out2, x, mu2, lv2)
    (r2 + k2).backward()
    # A spread of up to 200 entries per tensor (the whole gradient would make a 3 MB fixture).
    grads = {}
    for k, v in m.named_parameters():
        g = v.grad.reshape(-1)
        idx = sorted(set(np.linspace(0, g.numel() - 1, min(200, g.numel())).astype(int).tolist()))
        grads[k] = {'index': idx, 'value': g[idx].tolist(), 'norm': g.norm().item()}
    json.dump({
        'grad': grads,
        'checkpoint': os.path.basename(a.checkpoint), 'images': a.n, 'torch': torch.__version__,
        'noise': eps.tolist(), 'mu': mu.tolist(), 'logvar': lv.tolist(), 'z': z.tolist(),
        'reconstruction': out.tolist(), 'rec_per_image': rec_each.tolist(), 'kl_per_image': kl_each.tolist(),
        'rec_sum': rec.item(), 'kl_sum': kld.item(),
    }, open(a.out, 'w'))
    print('wrote %s: rec %.4f kl %.4f over %d images' % (a.out, rec.item(), kld.item(), a.n))


if __name__ == '__main__':
    main()
