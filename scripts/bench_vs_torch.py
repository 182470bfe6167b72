#!/usr/bin/env python3
"""Paired speed comparison: vae-train against the PyTorch reference (scripts/torch_ref.py), one
epoch each (`--epochs 1`, whole process: load, train, validate, write), alternated ROUNDS times
in one sitting so that both sides share the machine's noise. Prints every run, then the medians
of the training epoch (vae-train: history.csv `seconds`; PyTorch: `epoch_s`) and of the whole
process, and vae-train's time as a fraction of PyTorch's.

Dev-only (needs torch from PyPI in a venv outside the repository). Usage, from the repository root:
  python3 scripts/bench_vs_torch.py --python /path/to/venv/bin/python --rounds 5 \
      [--vae-train .build/release/vae-train] [--data ../shared/data/mnist] [--threads 2]
"""
import argparse, csv, json, os, statistics, subprocess, sys, tempfile, time


def run(cmd):
    t0 = time.perf_counter()
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    dt = time.perf_counter() - t0
    if p.returncode != 0:
        sys.exit('failed (%d): %s\n%s' % (p.returncode, ' '.join(cmd), p.stdout))
    return dt, p.stdout


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser()
    ap.add_argument('--python', required=True, help='the venv python that has torch')
    ap.add_argument('--vae-train', default='.build/release/vae-train')
    ap.add_argument('--data', default='../shared/data/mnist')
    ap.add_argument('--threads', type=int, default=2)
    ap.add_argument('--rounds', type=int, default=5)
    ap.add_argument('--seed', type=int, default=0)
    a = ap.parse_args()
    ours_epoch, ours_all, torch_epoch, torch_all = [], [], [], []
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(a.rounds):
            # Alternate which side goes first, so neither always follows the other.
            sides = ['torch', 'vae-train'] if r % 2 == 0 else ['vae-train', 'torch']
            for side in sides:
                out = os.path.join(tmp, '%s-%d' % (side, r))
                if side == 'torch':
                    dt, text = run([a.python, os.path.join(here, 'torch_ref.py'), '--data', a.data, '--epochs', '1',
                                    '--threads', str(a.threads), '--seed', str(a.seed), '--out', out])
                    rec = [json.loads(l) for l in text.splitlines() if l.startswith('{')][-1]
                    torch_epoch.append(rec['epoch_s']); torch_all.append(dt)
                    print('round %d  PyTorch    epoch %6.2f s  whole run %6.2f s  val_total %.2f'
                          % (r + 1, rec['epoch_s'], dt, rec['val_total']), flush=True)
                else:
                    dt, _ = run([a.vae_train, '--data', a.data, '--epochs', '1', '--threads', str(a.threads),
                                 '--seed', str(a.seed), '--out', out, '--quiet'])
                    with open(os.path.join(out, 'history.csv')) as f:
                        row = list(csv.DictReader(f))[-1]
                    ours_epoch.append(float(row['seconds'])); ours_all.append(dt)
                    print('round %d  vae-train  epoch %6.2f s  whole run %6.2f s  val_total %.2f'
                          % (r + 1, float(row['seconds']), dt, float(row['val_total'])), flush=True)
    me, ma = statistics.median(ours_epoch), statistics.median(ours_all)
    te, ta = statistics.median(torch_epoch), statistics.median(torch_all)
    print('median of %d: training epoch  vae-train %.2f s  PyTorch %.2f s  ratio %.2fx' % (a.rounds, me, te, me / te))
    print('median of %d: whole run       vae-train %.2f s  PyTorch %.2f s  ratio %.2fx' % (a.rounds, ma, ta, ma / ta))
    print('paired ratios (epoch): ' + ' '.join('%.2f' % (o / t) for o, t in zip(ours_epoch, torch_epoch)))
    print('paired ratios (whole): ' + ' '.join('%.2f' % (o / t) for o, t in zip(ours_all, torch_all)))


if __name__ == '__main__':
    main()
