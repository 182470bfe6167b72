"""PyTorch reference of the model of the original report (LSTM encoder, 6-layer ConvTranspose
decoder): the project's own yardstick for quality (validation loss per epoch) and speed (epoch
time), run on the same machine as vae-train. The checkpoint's tensor names and layouts are this
model's state_dict (docs/checkpoint-format.md). Dev-only: tests never import it (they read fixtures it helped write).
Needs torch (PyPI) in a virtual environment outside the repository. Usage:
  python scripts/torch_ref.py --data data/mnist --epochs N --out DIR [--threads T]
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

class VAE(nn.Module):
    def __init__(self):
        super().__init__()
        self.lstm = nn.LSTM(28, 128, batch_first=True)
        self.fc_mu = nn.Linear(128, 64)
        self.fc_logvar = nn.Linear(128, 64)
        self.convs = nn.ModuleList([
            nn.ConvTranspose2d(16, 13, 9), nn.ConvTranspose2d(13, 10, 7),
            nn.ConvTranspose2d(10, 7, 5), nn.ConvTranspose2d(7, 4, 5),
            nn.ConvTranspose2d(4, 2, 3), nn.ConvTranspose2d(2, 1, 3)])
    def encode(self, x):
        _, (h, _) = self.lstm(x.view(-1, 28, 28))
        h = h[-1]
        return self.fc_mu(h), self.fc_logvar(h)
    def decode(self, z):
        y = z.view(-1, 16, 2, 2)
        for i, c in enumerate(self.convs):
            y = c(y)
            y = F.leaky_relu(y, 0.01) if i < len(self.convs) - 1 else torch.sigmoid(y)
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
    a = ap.parse_args()
    torch.set_num_threads(a.threads); torch.manual_seed(a.seed)
    os.makedirs(a.out, exist_ok=True)
    xtr = torch.tensor(idx(f'{a.data}/train-images-idx3-ubyte.gz'), dtype=torch.float32).view(-1, 784) / 255
    xte = torch.tensor(idx(f'{a.data}/t10k-images-idx3-ubyte.gz'), dtype=torch.float32).view(-1, 784) / 255
    m = VAE(); opt = torch.optim.Adam(m.parameters(), lr=a.lr)
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
