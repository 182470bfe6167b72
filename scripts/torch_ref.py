"""PyTorch reference of the model of the original report (LSTM encoder, 6-layer ConvTranspose
decoder): the project's own yardstick for quality (validation loss per epoch) and speed (epoch
time), run on the same machine as vae-train. The checkpoint's tensor names and layouts are this
model's state_dict (docs/checkpoint-format.md). Dev-only: tests never import it (they read fixtures it helped write).
Needs torch (PyPI) in a virtual environment outside the repository. Usage:
  python scripts/torch_ref.py --data data/mnist --epochs N --out DIR [--threads T]
      [--decoder-layers 4|5|6|8] [--activation relu|leaky-relu[:SLOPE]] [--batch-norm] [--sampler fc|split]
The variant options build vae-train's models of the same options (docs/training.md): the plan
rule is ModelConfig.decoder(layers:) in Sources/VAETrainer/DecoderPlan.swift, copied below; a
batch-norm model's state_dict has `bns.K.*` (vae-train's NORM section, with `convs.K.*` =
`unfolded.convs.K.*`); a split model has no fc_* tensors.
"""
import argparse, gzip, json, os, time
import numpy as np
import torch, torch.nn as nn, torch.nn.functional as F

def idx(path):
    with gzip.open(path, 'rb') as f:
        b = f.read()
    nd = b[3]
    dims = [int.from_bytes(b[4+4*i:8+4*i], 'big') for i in range(nd)]
    return np.frombuffer(b, dtype=np.uint8, offset=4+4*nd).reshape(dims)

def decoder_plan(n):
    """(channels, kernels) of vae-train's n-layer decoder (docs/training.md, "Decoder variants")."""
    ch = [16 - 12 * (j + 1) // (n - 2) for j in range(n - 2)] + [2, 1]
    w = [2 * (n - j) + 1 for j in range(n)]
    h = [13 * x // sum(w) for x in w]
    rem = [13 * x % sum(w) for x in w]
    for j in sorted(range(n), key=lambda j: (-rem[j], j))[:13 - sum(h)]:
        h[j] += 1
    return ch, [2 * x + 1 for x in h]

class VAE(nn.Module):
    def __init__(self, layers=6, slope=0.01, batch_norm=False, split=False):
        super().__init__()
        self.slope, self.split = slope, split
        self.lstm = nn.LSTM(28, 128, batch_first=True)
        if not split:
            self.fc_mu = nn.Linear(128, 64)
            self.fc_logvar = nn.Linear(128, 64)
        ch, ks = decoder_plan(layers)
        ins = [16] + ch[:-1]
        self.convs = nn.ModuleList([nn.ConvTranspose2d(i, o, k) for i, o, k in zip(ins, ch, ks)])
        if batch_norm:
            self.bns = nn.ModuleList([nn.BatchNorm2d(o) for o in ch[:-1]])
    def encode(self, x):
        _, (h, _) = self.lstm(x.view(-1, 28, 28))
        h = h[-1]
        if self.split:
            return h[:, :64], h[:, 64:]
        return self.fc_mu(h), self.fc_logvar(h)
    def decode(self, z):
        y = z.view(-1, 16, 2, 2)
        for i, c in enumerate(self.convs):
            y = c(y)
            if i == len(self.convs) - 1:
                y = torch.sigmoid(y)
                break
            if hasattr(self, 'bns'):
                y = self.bns[i](y)
            y = F.leaky_relu(y, self.slope) if self.slope > 0 else F.relu(y)
        return y.view(-1, 784)
    def forward(self, x):
        mu, lv = self.encode(x)
        z = mu + torch.randn_like(mu) * torch.exp(0.5 * lv)
        return self.decode(z), mu, lv

def losses(out, x, mu, lv):
    rec = F.binary_cross_entropy(out, x, reduction='sum')
    kld = -0.5 * torch.sum(1 + lv - mu ** 2 - lv.exp())
    return rec, kld

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--data', required=True); ap.add_argument('--epochs', type=int, default=10)
    ap.add_argument('--out', required=True); ap.add_argument('--threads', type=int, default=2)
    ap.add_argument('--batch', type=int, default=128); ap.add_argument('--lr', type=float, default=1e-3)
    ap.add_argument('--seed', type=int, default=0)
    ap.add_argument('--decoder-layers', type=int, default=6, choices=(4, 5, 6, 8))
    ap.add_argument('--activation', default='leaky-relu:0.01')
    ap.add_argument('--batch-norm', action='store_true'); ap.add_argument('--sampler', default='fc', choices=('fc', 'split'))
    a = ap.parse_args()
    slope = 0.0 if a.activation == 'relu' else float(a.activation.split(':')[1]) if ':' in a.activation else 0.01
    torch.set_num_threads(a.threads); torch.manual_seed(a.seed)
    os.makedirs(a.out, exist_ok=True)
    xtr = torch.tensor(idx(f'{a.data}/train-images-idx3-ubyte.gz'), dtype=torch.float32).view(-1, 784) / 255
    xte = torch.tensor(idx(f'{a.data}/t10k-images-idx3-ubyte.gz'), dtype=torch.float32).view(-1, 784) / 255
    m = VAE(a.decoder_layers, slope, a.batch_norm, a.sampler == 'split'); opt = torch.optim.Adam(m.parameters(), lr=a.lr)
    log = open(f'{a.out}/log.jsonl', 'a')
    for ep in range(1, a.epochs + 1):
        m.train(); perm = torch.randperm(len(xtr)); t0 = time.time(); tr = [0., 0.]
        for i in range(0, len(xtr), a.batch):
            x = xtr[perm[i:i + a.batch]]
            out, mu, lv = m(x); rec, kld = losses(out, x, mu, lv)
            opt.zero_grad(); (rec + kld).backward(); opt.step()
            tr[0] += rec.item(); tr[1] += kld.item()
        dt = time.time() - t0
        m.eval(); va = [0., 0.]
        with torch.no_grad():
            for i in range(0, len(xte), 1000):
                x = xte[i:i + 1000]; out, mu, lv = m(x); rec, kld = losses(out, x, mu, lv)
                va[0] += rec.item(); va[1] += kld.item()
        r = dict(epoch=ep, epoch_s=round(dt, 2), train_rec=tr[0]/len(xtr), train_kld=tr[1]/len(xtr),
                 train_total=sum(tr)/len(xtr), val_rec=va[0]/len(xte), val_kld=va[1]/len(xte), val_total=sum(va)/len(xte))
        print(json.dumps(r), flush=True); log.write(json.dumps(r) + '\n'); log.flush()
        torch.save(m.state_dict(), f'{a.out}/model.pt')

if __name__ == '__main__':
    main()
