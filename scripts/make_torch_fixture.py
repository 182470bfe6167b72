"""Dev-only: writes the PyTorch forward fixture that TrainerTests compare the Swift model with.

It reads a vae-train checkpoint with scripts/vaeckpt.py (an independent reader of
docs/checkpoint-format.md), loads the weights into the model of scripts/torch_ref.py, runs 16 fixture images with
fixed noise through it in float32, and writes inputs and outputs as JSON. Tests never run this:
they read the JSON it wrote. Needs torch (in a virtual environment outside the repository):

  python scripts/make_torch_fixture.py --checkpoint Tests/TrainerTests/Fixtures/forward.vaeckpt \
      --images Tests/TrainerTests/Fixtures/mnist-train-first512.idx3.gz \
      --out Tests/TrainerTests/Fixtures/torch-forward.json

The report's variants come from their header (decoder layers, activation, batch norm, sampler):
Fixtures/forward-variant.vaeckpt is `vae-train --decoder-layers 4 --activation relu --batch-norm
--sampler split --epochs 1` on the fixture images, and torch-forward-variant.json its fixture.
"""
import argparse, gzip, json, os, struct, sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import vaeckpt  # noqa: E402
from torch_ref import VAE, losses  # noqa: E402


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
    ck = vaeckpt.read(a.checkpoint)
    t, arch = ck.tensors, ck.arch
    # The model the header describes (the report's variants too: torch_ref builds them).
    hidden = arch['layers'][0]
    slope = hidden['activation_param'] if hidden['activation'] == 'leaky_relu' else 0.0
    bn, split = arch.get('normalisation', 0) == 1, arch['head_kind'] == 2
    m = VAE(len(arch['layers']), slope, bn, split)
    state = {k: torch.from_numpy(v) for k, v in t.items() if not k.startswith(('adam.', 'unfolded.'))}
    if bn:   # PyTorch trains the unfolded convolutions; DEC holds them folded (format 1.8)
        for k, v in t.items():
            if k.startswith('unfolded.'):
                state[k[len('unfolded.'):]] = torch.from_numpy(v)
        for j in range(len(arch['layers']) - 1):
            state['bns.%d.num_batches_tracked' % j] = torch.tensor(0)
    m.load_state_dict(state)
    m.train()   # batch norm: the batch's statistics, as the trainer's gradient uses
    x = torch.tensor(read_idx(a.images, a.n), dtype=torch.float32) / 255
    rng = np.random.default_rng(20261125)
    eps = torch.tensor(rng.standard_normal((a.n, arch['latent'])), dtype=torch.float32)
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
