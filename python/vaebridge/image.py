"""Decoder images VAED v1 (docs/checkpoint-format.md section 2): float32 read and write, int8 read
(docs/quantisation.md section 2). The bytes are what `vae-gen export-decoder` writes, what the
checkpoint's `DEC ` / `DEC8` sections hold and what the firmware keeps in flash."""
import math
import struct

import numpy as np

from ._common import (ACTIVATIONS, ACTIVATION_CODES, CheckpointError, align16, check_chain, crc32, layer,
                      parse_source, runtime_limits)

MAGIC = b'VAED'
HEADER_BYTES = 64
RECORD_BYTES = 48
RECORD_BYTES_INT8 = 64
WEIGHT_FLOAT32, WEIGHT_INT8 = 1, 2


def _header(img, where, weight_type, record_bytes):
    """Magic, versions, length, CRC, weight type, layer count: what every image is checked for
    before its fields are used. Returns (minor, latent, view, layer count, output)."""
    if len(img) < HEADER_BYTES:
        raise CheckpointError(where + 'length', '%d bytes; the header alone is %d' % (len(img), HEADER_BYTES))
    if img[:4] != MAGIC:
        raise CheckpointError(where + 'magic', 'not a VAED image (%s; expected %s)' % (img[:4].hex(' '), MAGIC.hex(' ')))
    major, minor, total, crc, wtype = struct.unpack_from('<HHIII', img, 4)
    if major != 1:
        raise CheckpointError(where + 'major version', '%d; this reader knows 1' % major)
    if total != len(img):
        raise CheckpointError(where + 'total length', '%d; the image holds %d bytes' % (total, len(img)))
    if crc32(img[16:]) != crc:
        raise CheckpointError(where + 'CRC-32', 'stored 0x%08x, computed 0x%08x over bytes [16, %d)' % (crc, crc32(img[16:]), total))
    if wtype != weight_type:
        raise CheckpointError(where + 'weight type', '%d; %s image has %d (read_decoder_image reads both)'
                              % (wtype, 'a float32' if weight_type == WEIGHT_FLOAT32 else 'an int8', weight_type))
    latent, vc, vh, vw, L, oc, oh, ow = struct.unpack_from('<8I', img, 20)
    if not 1 <= L <= 16 or HEADER_BYTES + record_bytes * L > len(img):
        raise CheckpointError(where + 'layer count', '%d; must be 1 ... 16 with its records inside the %d-byte image' % (L, len(img)))
    return minor, latent, (vc, vh, vw), L, (oc, oh, ow)


class _Tensors:
    """Offsets of the tensors one image holds: aligned, inside, after the records, disjoint."""

    def __init__(self, img, records_end, where):
        self.img, self.start, self.where, self.spans = img, records_end, where, []

    def array(self, field, off, dtype, shape):
        size = int(np.prod(shape)) * np.dtype(dtype).itemsize
        if off % 16 or off < self.start or off + size > len(self.img):
            raise CheckpointError(self.where + field, '%d (%d bytes): not a multiple of 16 inside [%d, %d)'
                                  % (off, size, self.start, len(self.img)))
        self.spans.append((off, off + size, field))
        return np.frombuffer(self.img, dtype, int(np.prod(shape)), off).reshape(shape).astype(np.dtype(dtype).newbyteorder('='))

    def disjoint(self):
        s = sorted(self.spans)
        for (a0, a1, fa), (b0, b1, fb) in zip(s, s[1:]):
            if b0 < a1:
                raise CheckpointError(self.where + fb, 'overlaps %s' % fa)


class DecoderImage:
    """A float32 decoder: view (c, h, w) of the latent, layers (dicts as `layer()` makes), and per
    layer `weights[k]` f32 [in, out, kh, kw] (PyTorch's ConvTranspose2d layout), `biases[k]` f32 [out]."""

    minor = 0

    def __init__(self, latent, view, layers, weights, biases):
        self.latent, self.view, self.layers = int(latent), tuple(int(v) for v in view), [dict(l) for l in layers]
        self.weights = [np.ascontiguousarray(w, dtype=np.float32) for w in weights]
        self.biases = [np.ascontiguousarray(b, dtype=np.float32) for b in biases]
        self.check()

    def check(self, where='decoder image '):
        if self.view[0] * self.view[1] * self.view[2] != self.latent:
            raise CheckpointError(where + 'view', '%d x %d x %d is not the latent dimension %d' % (self.view + (self.latent,)))
        self.output = check_chain(self.view, self.layers, where)
        if len(self.weights) != len(self.layers) or len(self.biases) != len(self.layers):
            raise CheckpointError(where + 'tensors', '%d weights and %d biases for %d layers'
                                  % (len(self.weights), len(self.biases), len(self.layers)))
        for k, l in enumerate(self.layers):
            shape = (l['in_channels'], l['out_channels'], l['kernel_h'], l['kernel_w'])
            if self.weights[k].shape != shape:
                raise CheckpointError('convs.%d.weight' % k, 'shape %s; the layer needs %s' % (list(self.weights[k].shape), list(shape)))
            if self.biases[k].shape != (l['out_channels'],):
                raise CheckpointError('convs.%d.bias' % k, 'shape %s; the layer needs [%d]' % (list(self.biases[k].shape), l['out_channels']))
        return self

    def runtime_problem(self):
        """Why `vae-gen` and the firmware would refuse this decoder, or None."""
        return runtime_limits(self.view, self.layers)

    def tensors(self):
        """The decoder's state_dict entries, named as in the checkpoint."""
        d = {}
        for k in range(len(self.layers)):
            d['convs.%d.weight' % k], d['convs.%d.bias' % k] = self.weights[k], self.biases[k]
        return d

    def offsets(self):
        """(weight, bias) byte offsets per layer, as the Swift DecoderImageBuilder lays them out."""
        off, r = HEADER_BYTES + RECORD_BYTES * len(self.layers), []
        for l in self.layers:
            w = off = align16(off)
            off += 4 * l['in_channels'] * l['out_channels'] * l['kernel_h'] * l['kernel_w']
            b = off = align16(off)
            off += 4 * l['out_channels']
            r.append((w, b))
        return r

    def to_bytes(self):
        offs = self.offsets()
        last = offs[-1][1] + 4 * self.layers[-1]['out_channels']
        img = bytearray(align16(last))
        struct.pack_into('<4sHHII', img, 0, MAGIC, 1, self.minor, len(img), 0)
        struct.pack_into('<9I', img, 16, WEIGHT_FLOAT32, self.latent, *self.view, len(self.layers), *self.output)
        for k, (l, (wo, bo)) in enumerate(zip(self.layers, offs)):
            struct.pack_into('<8IfIII', img, HEADER_BYTES + RECORD_BYTES * k, 1, l['in_channels'], l['out_channels'],
                             l['kernel_h'], l['kernel_w'], l['stride'], l['padding'], ACTIVATION_CODES[l['activation']],
                             l['activation_param'], wo, bo, 0)
            img[wo:wo + self.weights[k].nbytes] = self.weights[k].astype('<f4').tobytes()
            img[bo:bo + self.biases[k].nbytes] = self.biases[k].astype('<f4').tobytes()
        struct.pack_into('<I', img, 12, crc32(bytes(img[16:])))
        return bytes(img)

    @classmethod
    def from_bytes(cls, img, where='decoder image '):
        img = bytes(img)
        minor, latent, view, L, out = _header(img, where, WEIGHT_FLOAT32, RECORD_BYTES)
        layers, ts, weights, biases = [], _Tensors(img, HEADER_BYTES + RECORD_BYTES * L, where), [], []
        for k in range(L):
            f = 'layer %d ' % k
            kind, cin, cout, kh, kw, stride, pad, act, param, wo, bo = struct.unpack_from('<8IfII', img, HEADER_BYTES + RECORD_BYTES * k)
            if kind != 1:
                raise CheckpointError(where + f + 'kind', '%d; only 1 (ConvTranspose2d) is defined' % kind)
            if act not in ACTIVATIONS:
                raise CheckpointError(where + f + 'activation', '%d; defined are 0 ... 3' % act)
            if not math.isfinite(param):
                raise CheckpointError(where + f + 'activation parameter', '%r; must be finite' % param)
            layers.append(layer(cin, cout, kh, kw, stride, pad, ACTIVATIONS[act], param))
            check_chain(view, layers, where)
            weights.append(ts.array(f + 'weight offset', wo, '<f4', (cin, cout, kh, kw)))
            biases.append(ts.array(f + 'bias offset', bo, '<f4', (cout,)))
        ts.disjoint()
        d = cls(latent, view, layers, weights, biases)
        if d.output != out:
            raise CheckpointError(where + 'output', '%d x %d x %d; the layers give %d x %d x %d' % (out + d.output))
        d.minor = minor
        return d


class Int8DecoderImage:
    """An int8 decoder image (weight type 2), parsed and checked as docs/quantisation.md section 2
    says a loader does. Read only: `vae-train quantise` makes these. `raw` is the image's bytes."""

    def __init__(self, raw):
        self.raw = raw

    @classmethod
    def from_bytes(cls, img, where='int8 decoder image '):
        img = bytes(img)
        minor, latent, view, L, out = _header(img, where, WEIGHT_INT8, RECORD_BYTES_INT8)
        if minor < 1:
            raise CheckpointError(where + 'minor version', '%d; int8 images are minor 1 or later' % minor)
        if len(img) % 16:
            raise CheckpointError(where + 'total length', '%d; a multiple of 16' % len(img))
        d = cls(img)
        d.minor, d.latent, d.view = minor, latent, view
        lwidth, d.latent_inverse_scale, d.latent_qmax = struct.unpack_from('<Ifi', img, 52)
        if lwidth != 2 or not (d.latent_inverse_scale > 0 and math.isfinite(d.latent_inverse_scale)) or not 1 <= d.latent_qmax <= 32767:
            raise CheckpointError(where + 'latent', 'width %d, inverse scale %g, qmax %d; need 2, finite > 0, 1 ... 32767'
                                  % (lwidth, d.latent_inverse_scale, d.latent_qmax))
        if view[0] * view[1] * view[2] != d.latent:
            raise CheckpointError(where + 'view', '%d x %d x %d is not the latent dimension %d' % (view + (d.latent,)))
        ts = _Tensors(img, HEADER_BYTES + RECORD_BYTES_INT8 * L, where)
        d.layers, in_mag = [], d.latent_qmax
        for k in range(L):
            f, r, last = 'layer %d ' % k, HEADER_BYTES + RECORD_BYTES_INT8 * k, k == L - 1
            kind, cin, cout, kh, kw, stride, pad, act, slope, wo, bo, qo, width, zp, qmin, qmax = struct.unpack_from(
                '<8If4I3i', img, r)
            if kind != 1 or act not in ACTIVATIONS:
                raise CheckpointError(where + f + 'kind/activation', 'kind %d, activation %d; need 1 and 0 ... 3' % (kind, act))
            if (ACTIVATIONS[act] == 'sigmoid') != last:
                raise CheckpointError(where + f + 'activation', '%s; the last layer is sigmoid and no other' % ACTIVATIONS[act])
            l = layer(cin, cout, kh, kw, stride, pad, ACTIVATIONS[act], slope)
            d.layers.append(l)
            check_chain(d.view, d.layers, where)
            l['weight'] = ts.array(f + 'weight offset', wo, 'i1', (cin, cout, kh, kw))
            l['bias'] = ts.array(f + 'bias offset', bo, '<i4', (cout,))
            l['requant'] = ts.array(f + 'requant offset', qo, '<i4', (cout, 255 if last else 4))
            l.update(output_width=width, output_zero_point=zp, output_qmin=qmin, output_qmax=qmax)
            if last:
                if (width, zp, qmin, qmax) != (0, 0, 0, 0):
                    raise CheckpointError(where + f + 'output width', 'width %d, zp %d, range [%d, %d]; the last layer has 0 for all'
                                          % (width, zp, qmin, qmax))
                if (np.diff(l['requant'].astype(np.int64), axis=1) < 0).any():
                    raise CheckpointError(where + f + 'thresholds', 'decrease within a channel')
            else:
                ok = (width == 1 and -128 <= qmin < qmax <= 127 and qmin <= zp <= qmax) or (
                    width == 2 and zp == 0 and -32767 <= qmin < qmax <= 32767)
                if not ok:
                    raise CheckpointError(where + f + 'output width', 'width %d, zp %d, range [%d, %d] is outside the table of '
                                          'docs/quantisation.md section 1' % (width, zp, qmin, qmax))
                q = l['requant'].astype(np.int64)
                if not ((q[:, 0] >= 1).all() and (q[:, 2] >= 0).all() and ((q[:, 1] >= 1) & (q[:, 1] <= 62)).all()
                        and ((q[:, 3] >= 1) & (q[:, 3] <= 62)).all()):
                    raise CheckpointError(where + f + 'requant', 'a multiplier or shift is out of range')
            bound = np.abs(l['bias'].astype(np.int64)) + in_mag * np.abs(l['weight'].astype(np.int64)).sum(axis=(0, 2, 3))
            if (bound > 2 ** 31 - 1).any():
                raise CheckpointError(where + f + 'accumulator bound', 'channel %d can reach %d, over 2^31 - 1'
                                      % (int(np.argmax(bound)), int(bound.max())))
            if not last:
                in_mag = max(qmax - zp, zp - qmin)
        ts.disjoint()
        d.output = check_chain(d.view, d.layers, where)
        if d.output != out:
            raise CheckpointError(where + 'output', '%d x %d x %d; the layers give %d x %d x %d' % (out + d.output))
        return d

    def to_bytes(self):
        return self.raw


def read_decoder_image(source):
    """A VAED image from a path or bytes: a DecoderImage (float32) or an Int8DecoderImage."""
    def parse(b):
        wtype = struct.unpack_from('<I', b, 16)[0] if len(b) >= 20 else None
        return (Int8DecoderImage if wtype == WEIGHT_INT8 else DecoderImage).from_bytes(b)
    return parse_source(source, parse)


def write_decoder_image(image, path):
    """Atomically (docs/checkpoint-format.md 1.6), after reading the bytes back with every check."""
    from .checkpoint import atomic_write
    b = image.to_bytes()
    type(image).from_bytes(b)
    atomic_write(path, b)
