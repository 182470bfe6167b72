"""The decoder's maths (docs/checkpoint-format.md section 2.1) in numpy, for checks from outside:
float64 sums, so its pixels may differ from the runtime's fused float32 chain by a level where a
value lies on a rounding edge, never more in the files measured (python/README.md)."""
import numpy as np


def conv_transpose(x, w, b, stride=1, padding=0):
    """ConvTranspose2d of x [N, in, H, W] with w [in, out, kh, kw], b [out]: out = (in - 1) * s - 2p + k."""
    n, cin, h, wd = x.shape
    _, cout, kh, kw = w.shape
    full = np.zeros((n, cout, (h - 1) * stride + kh, (wd - 1) * stride + kw), np.result_type(x, w))
    for ky in range(kh):
        for kx in range(kw):
            full[:, :, ky:ky + (h - 1) * stride + 1:stride, kx:kx + (wd - 1) * stride + 1:stride] += np.einsum(
                'nihw,io->nohw', x, w[:, :, ky, kx])
    oh, ow = full.shape[2] - 2 * padding, full.shape[3] - 2 * padding
    return full[:, :, padding:padding + oh, padding:padding + ow] + b.reshape(1, -1, 1, 1)


def activate(y, name, param):
    if name == 'relu':
        return np.maximum(y, 0)
    if name == 'leaky_relu':
        return np.where(y < 0, y * param, y)
    if name == 'sigmoid':
        return 1 / (1 + np.exp(-y))
    return y


def decode(decoder, z, dtype=np.float64):
    """Probabilities [N, out_c, out_h, out_w] of a DecoderImage for latents z [N, latent]."""
    z = np.asarray(z, dtype)
    y = z.reshape((len(z),) + decoder.view)
    for l, w, b in zip(decoder.layers, decoder.weights, decoder.biases):
        y = activate(conv_transpose(y, w.astype(dtype), b.astype(dtype), l['stride'], l['padding']), l['activation'],
                     dtype(l['activation_param']))
    return y


def pixels(p):
    """The runtime's 8-bit rule, in its float32: UInt8(p * 255 + 0.5) after clamping p to [0, 1]."""
    p = np.clip(np.asarray(p, np.float32), np.float32(0), np.float32(1))
    return np.floor(p * np.float32(255) + np.float32(0.5)).astype(np.uint8)
