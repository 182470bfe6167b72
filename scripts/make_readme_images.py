#!/usr/bin/env python3
"""Writes docs/images/float32-vs-int8.png: the same 16 seeded latents (seed 42, images 0..15)
through the float32 decoder (left) and the int8 decoder (right) of the shipped checkpoint, and a
third panel with their difference (|float32 - int8| x 8, so that a 1-level difference shows).
Runs the release vae-gen (build it first); standard library only.

  python3 scripts/make_readme_images.py [--checkpoint C] [--out docs/images/float32-vs-int8.png]
"""
import argparse, os, struct, subprocess, sys, tempfile, zlib

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def digits(precision, ckpt, tmp):
    out = os.path.join(tmp, precision)
    subprocess.run([os.path.join(ROOT, ".build/release/vae-gen"), "--seed", "42", "-n", "16", "--precision", precision,
                    "--checkpoint", ckpt, "--each", "pgm", "--out", out], check=True, stdout=subprocess.DEVNULL)
    tiles = []
    for i in range(16):
        d = open(os.path.join(out, "digit-42-%06d.pgm" % i), "rb").read()
        tiles.append(d[-784:])
    return tiles


def panel(tiles, f=lambda v: v):
    side, gap, n = 28, 2, 4
    w = n * side + (n + 1) * gap
    img = [[40] * w for _ in range(w)]
    for t, px in enumerate(tiles):
        r, c = divmod(t, n)
        for y in range(side):
            for x in range(side):
                img[gap + r * (side + gap) + y][gap + c * (side + gap) + x] = f(px[y * side + x])
    return img


def png(rows, path, scale=3):
    h, w = len(rows) * scale, len(rows[0]) * scale
    raw = b"".join(b"\0" + bytes(v for v in row for _ in range(scale)) for row in rows for _ in range(scale))
    def chunk(t, d): return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d))
    data = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 0, 0, 0, 0))
    data += chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b"")
    tmp = path + ".tmp"
    open(tmp, "wb").write(data)
    os.replace(tmp, path)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--checkpoint", default=os.path.join(ROOT, "checkpoints/vae-mnist.vaeckpt"))
    ap.add_argument("--out", default=os.path.join(ROOT, "docs/images/float32-vs-int8.png"))
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        f, q = digits("float32", a.checkpoint, tmp), digits("int8", a.checkpoint, tmp)
    diff = [bytes(min(255, 8 * abs(x - y)) for x, y in zip(ft, qt)) for ft, qt in zip(f, q)]
    pf, pq, pd = panel(f), panel(q), panel(diff)
    sep = 6
    rows = [a_ + [255] * sep + b_ + [255] * sep + c_ for a_, b_, c_ in zip(pf, pq, pd)]
    png(rows, a.out)
    levels = [abs(x - y) for ft, qt in zip(f, q) for x, y in zip(ft, qt)]
    print("wrote %s: %d of %d pixels differ, by at most %d levels" % (a.out, sum(1 for v in levels if v), len(levels), max(levels)))


if __name__ == "__main__":
    main()
