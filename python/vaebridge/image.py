"""Decoder images VAED v1 (docs/checkpoint-format.md section 2), float32 and int8 (docs/quantisation.md
section 2), read and written, with the class priors of minor-2 images (section 2.2). The bytes are
what `vae-gen export-decoder` writes, what the checkpoint's `DEC ` / `DEC8` sections hold and what
the firmware keeps in flash."""
import math
import struct

import numpy as np

from ._common import (ACTIVATIONS, ACTIVATION_CODES, HEADER_BYTES, RECORD_BYTES_FOR, WEIGHT_FLOAT32, WEIGHT_INT8,
                      CheckpointError, align16, check_chain, crc32, layer, parse_source, runtime_limits)
from . import priors

MAGIC = b'VAED'
RECORD_BYTES = RECORD_BYTES_FOR[WEIGHT_FLOAT32]
RECORD_BYTES_INT8 = RECORD_BYTES_FOR[WEIGHT_INT8]


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


def _tensors_start(img, minor, records_end, where):
    """Where the tensors may start: after the layer records, and the extension record of minor 2."""
    if minor < priors.MINOR_EXTENSIONS:
        return records_end
    if records_end + priors.EXTENSION_BYTES > len(img):
        raise CheckpointError(where + 'extension record', 'runs past the end of the %d-byte image' % len(img))
    return records_end + priors.EXTENSION_BYTES


def _with_priors(img, class_priors, latent):
    """A minor 0 / 1 image as written, or the minor-2 image that carries the priors."""
    return img if class_priors is None else priors.attach_priors(img, priors.encode_block(class_priors, latent, 'class priors '))


class _Image:
    """What both weight types share: the minor version their contents call for, the view."""
    BASE_MINOR = 0

    @property
    def minor(self):
        return priors.MINOR_EXTENSIONS if self.class_priors is not None else self.BASE_MINOR

    def _view_and_chain(self, where):
        if self.view[0] * self.view[1] * self.view[2] != self.latent:
            raise CheckpointError(where + 'view', '%d x %d x %d is not the latent dimension %d' % (self.view + (self.latent,)))
        self.output = check_chain(self.view, self.layers, where)

    def _signed(self, img):
        """The image without priors, laid out: its CRC, and the priors attached when there are some."""
        struct.pack_into('<I', img, 12, crc32(bytes(img[16:])))
        return _with_priors(bytes(img), self.class_priors, self.latent)


class DecoderImage(_Image):
    """A float32 decoder: view (c, h, w) of the latent, layers (dicts as `layer()` makes), and per
    layer `weights[k]` f32 [in, out, kh, kw] (PyTorch's ConvTranspose2d layout), `biases[k]` f32 [out].
    `class_priors` (a dict as Checkpoint.class_priors holds, or None) makes a minor-2 image that
    carries them (docs/checkpoint-format.md section 2.2)."""

    def __init__(self, latent, view, layers, weights, biases, class_priors=None, where='decoder image '):
        self.latent, self.view, self.layers = int(latent), tuple(int(v) for v in view), [dict(l) for l in layers]
        self.weights = [np.ascontiguousarray(w, dtype=np.float32) for w in weights]
        self.biases = [np.ascontiguousarray(b, dtype=np.float32) for b in biases]
        self.class_priors = class_priors
        self.check(where)

    def check(self, where='decoder image '):
        self._view_and_chain(where)
        if len(self.weights) != len(self.layers) or len(self.biases) != len(self.layers):
            raise CheckpointError(where + 'tensors', '%d weights and %d biases for %d layers'
                                  % (len(self.weights), len(self.biases), len(self.layers)))
        for k, l in enumerate(self.layers):
            shape = (l['in_channels'], l['out_channels'], l['kernel_h'], l['kernel_w'])
            if self.weights[k].shape != shape:
                raise CheckpointError('convs.%d.weight' % k, 'shape %s; the layer needs %s' % (list(self.weights[k].shape), list(shape)))
            if self.biases[k].shape != (l['out_channels'],):
                raise CheckpointError('convs.%d.bias' % k, 'shape %s; the layer needs [%d]' % (list(self.biases[k].shape), l['out_channels']))
            # NaN or infinite weights decode to blank digits: the runtime refuses them (code 17), so do we.
            for name, t in (('weight', self.weights[k]), ('bias', self.biases[k])):
                if not np.isfinite(t).all():
                    raise CheckpointError(where + 'layer %d %s' % (k, name), 'value %d of %d is not finite'
                                          % (int(np.argmin(np.isfinite(t).ravel())), t.size))
        if self.class_priors is not None:
            priors.encode_block(self.class_priors, self.latent, where + 'class priors ')
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
        """(weight, bias) byte offsets per layer of the image without priors, as the Swift
        DecoderImageBuilder lays them out (attaching priors moves each by 16)."""
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
        struct.pack_into('<4sHHII', img, 0, MAGIC, 1, 0, len(img), 0)
        struct.pack_into('<9I', img, 16, WEIGHT_FLOAT32, self.latent, *self.view, len(self.layers), *self.output)
        for k, (l, (wo, bo)) in enumerate(zip(self.layers, offs)):
            struct.pack_into('<8IfIII', img, HEADER_BYTES + RECORD_BYTES * k, 1, l['in_channels'], l['out_channels'],
                             l['kernel_h'], l['kernel_w'], l['stride'], l['padding'], ACTIVATION_CODES[l['activation']],
                             l['activation_param'], wo, bo, 0)
            img[wo:wo + self.weights[k].nbytes] = self.weights[k].astype('<f4').tobytes()
            img[bo:bo + self.biases[k].nbytes] = self.biases[k].astype('<f4').tobytes()
        return self._signed(img)

    @classmethod
    def from_bytes(cls, img, where='decoder image '):
        img = bytes(img)
        minor, latent, view, L, out = _header(img, where, WEIGHT_FLOAT32, RECORD_BYTES)
        records_end = HEADER_BYTES + RECORD_BYTES * L
        ts, weights, biases, layers = _Tensors(img, records_end, where), [], [], []
        ts.start = _tensors_start(img, minor, records_end, where)
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
        class_priors = priors.read_extension(img, records_end, latent, ts.spans, where) \
            if minor >= priors.MINOR_EXTENSIONS else None
        d = cls(latent, view, layers, weights, biases, class_priors, where)
        if d.output != out:
            raise CheckpointError(where + 'output', '%d x %d x %d; the layers give %d x %d x %d' % (out + d.output))
        return d


class Int8DecoderImage(_Image):
    """An int8 decoder (weight type 2; docs/quantisation.md section 2): the latent's quantisation
    (`latent_inverse_scale` 1/s_z, `latent_qmax`) and layers, dicts as `layer()` makes plus
    `weight` i8 [in, out, kh, kw], `bias` i32 [out], `requant` i32 [out, 4] (hidden) or [out, 255]
    (the last layer's pixel thresholds), `output_width`, `output_zero_point`, `output_qmin`,
    `output_qmax`. Checked as a loader checks, whether parsed or built (`vae-train quantise` makes
    the numbers; this writes the same bytes)."""

    def __init__(self, latent, view, latent_inverse_scale, latent_qmax, layers, class_priors=None, where='int8 decoder image '):
        self.latent, self.view = int(latent), tuple(int(v) for v in view)
        self.latent_inverse_scale = float(np.float32(latent_inverse_scale))
        self.latent_qmax = int(latent_qmax)
        self.layers = []
        for l in layers:
            l = dict(l)
            l['weight'] = np.ascontiguousarray(l['weight'], dtype=np.int8)
            l['bias'] = np.ascontiguousarray(l['bias'], dtype=np.int32)
            l['requant'] = np.ascontiguousarray(l['requant'], dtype=np.int32)
            for key in ('output_width', 'output_zero_point', 'output_qmin', 'output_qmax'):
                l[key] = int(l[key])
            self.layers.append(l)
        self.class_priors = class_priors
        self.check(where)

    BASE_MINOR = 1

    def check(self, where='int8 decoder image '):
        if not (self.latent_inverse_scale > 0 and math.isfinite(self.latent_inverse_scale)) or not 1 <= self.latent_qmax <= 32767:
            raise CheckpointError(where + 'latent', 'inverse scale %g, qmax %d; need finite > 0, 1 ... 32767'
                                  % (self.latent_inverse_scale, self.latent_qmax))
        self._view_and_chain(where)
        in_mag, L = self.latent_qmax, len(self.layers)
        for k, l in enumerate(self.layers):
            f, last = where + 'layer %d ' % k, k == L - 1
            shapes = dict(weight=(l['in_channels'], l['out_channels'], l['kernel_h'], l['kernel_w']), bias=(l['out_channels'],),
                          requant=(l['out_channels'], 255 if last else 4))
            for name, shape in shapes.items():
                if l[name].shape != shape:
                    raise CheckpointError(f + name, 'shape %s; the layer needs %s' % (list(l[name].shape), list(shape)))
            if (l['activation'] == 'sigmoid') != last:
                raise CheckpointError(f + 'activation', '%s; the last layer is sigmoid and no other' % l['activation'])
            width, zp, qmin, qmax = l['output_width'], l['output_zero_point'], l['output_qmin'], l['output_qmax']
            if last:
                if (width, zp, qmin, qmax) != (0, 0, 0, 0):
                    raise CheckpointError(f + 'output width', 'width %d, zp %d, range [%d, %d]; the last layer has 0 for all'
                                          % (width, zp, qmin, qmax))
                if (np.diff(l['requant'].astype(np.int64), axis=1) < 0).any():
                    raise CheckpointError(f + 'thresholds', 'decrease within a channel')
            else:
                ok = (width == 1 and -128 <= qmin < qmax <= 127 and qmin <= zp <= qmax) or (
                    width == 2 and zp == 0 and -32767 <= qmin < qmax <= 32767)
                if not ok:
                    raise CheckpointError(f + 'output width', 'width %d, zp %d, range [%d, %d] is outside the table of '
                                          'docs/quantisation.md section 1' % (width, zp, qmin, qmax))
                q = l['requant'].astype(np.int64)
                if not ((q[:, 0] >= 1).all() and (q[:, 2] >= 0).all() and ((q[:, 1] >= 1) & (q[:, 1] <= 62)).all()
                        and ((q[:, 3] >= 1) & (q[:, 3] <= 62)).all()):
                    raise CheckpointError(f + 'requant', 'a multiplier or shift is out of range')
            bound = np.abs(l['bias'].astype(np.int64)) + in_mag * np.abs(l['weight'].astype(np.int64)).sum(axis=(0, 2, 3))
            if (bound > 2 ** 31 - 1).any():
                raise CheckpointError(f + 'accumulator bound', 'channel %d can reach %d, over 2^31 - 1'
                                      % (int(np.argmax(bound)), int(bound.max())))
            if not last:
                in_mag = max(qmax - zp, zp - qmin)
        if self.class_priors is not None:
            priors.encode_block(self.class_priors, self.latent, where + 'class priors ')
        return self

    def offsets(self):
        """(weight, bias, requant) byte offsets per layer of the image without priors, and its
        length, as the Swift Int8ImageBuilder lays them out."""
        off, r = HEADER_BYTES + RECORD_BYTES_INT8 * len(self.layers), []
        for l in self.layers:
            w = align16(off)
            b = align16(w + l['weight'].size)
            q = align16(b + 4 * l['bias'].size)
            off = q + 4 * l['requant'].size
            r.append((w, b, q))
        return r, align16(off)

    def to_bytes(self):
        offs, total = self.offsets()
        img = bytearray(total)
        struct.pack_into('<4sHHII', img, 0, MAGIC, 1, 1, total, 0)
        struct.pack_into('<9I', img, 16, WEIGHT_INT8, self.latent, *self.view, len(self.layers), *self.output)
        struct.pack_into('<Ifi', img, 52, 2, self.latent_inverse_scale, self.latent_qmax)
        for k, (l, (wo, bo, qo)) in enumerate(zip(self.layers, offs)):
            struct.pack_into('<8If4I3i', img, HEADER_BYTES + RECORD_BYTES_INT8 * k, 1, l['in_channels'], l['out_channels'],
                             l['kernel_h'], l['kernel_w'], l['stride'], l['padding'], ACTIVATION_CODES[l['activation']],
                             l['activation_param'], wo, bo, qo, l['output_width'], l['output_zero_point'], l['output_qmin'],
                             l['output_qmax'])
            for off, t, dt in ((wo, l['weight'], 'i1'), (bo, l['bias'], '<i4'), (qo, l['requant'], '<i4')):
                img[off:off + t.size * np.dtype(dt).itemsize] = t.astype(dt).tobytes()
        return self._signed(img)

    @classmethod
    def from_bytes(cls, img, where='int8 decoder image '):
        img = bytes(img)
        minor, latent, view, L, out = _header(img, where, WEIGHT_INT8, RECORD_BYTES_INT8)
        if minor < 1:
            raise CheckpointError(where + 'minor version', '%d; int8 images are minor 1 or later' % minor)
        if len(img) % 16:
            raise CheckpointError(where + 'total length', '%d; a multiple of 16' % len(img))
        lwidth, inverse_scale, latent_qmax = struct.unpack_from('<Ifi', img, 52)
        if lwidth != 2:
            raise CheckpointError(where + 'latent', 'width %d; the latent is int16 (2)' % lwidth)
        records_end = HEADER_BYTES + RECORD_BYTES_INT8 * L
        ts = _Tensors(img, records_end, where)
        ts.start = _tensors_start(img, minor, records_end, where)
        layers = []
        for k in range(L):
            f, last = 'layer %d ' % k, k == L - 1
            kind, cin, cout, kh, kw, stride, pad, act, slope, wo, bo, qo, width, zp, qmin, qmax = struct.unpack_from(
                '<8If4I3i', img, HEADER_BYTES + RECORD_BYTES_INT8 * k)
            if kind != 1 or act not in ACTIVATIONS:
                raise CheckpointError(where + f + 'kind/activation', 'kind %d, activation %d; need 1 and 0 ... 3' % (kind, act))
            l = layer(cin, cout, kh, kw, stride, pad, ACTIVATIONS[act], slope)
            layers.append(l)
            check_chain(view, layers, where)   # before the shapes below are trusted
            l['weight'] = ts.array(f + 'weight offset', wo, 'i1', (cin, cout, kh, kw))
            l['bias'] = ts.array(f + 'bias offset', bo, '<i4', (cout,))
            l['requant'] = ts.array(f + 'requant offset', qo, '<i4', (cout, 255 if last else 4))
            l.update(output_width=width, output_zero_point=zp, output_qmin=qmin, output_qmax=qmax)
        ts.disjoint()
        class_priors = priors.read_extension(img, records_end, latent, ts.spans, where) \
            if minor >= priors.MINOR_EXTENSIONS else None
        d = cls(latent, view, inverse_scale, latent_qmax, layers, class_priors, where)
        if d.output != out:
            raise CheckpointError(where + 'output', '%d x %d x %d; the layers give %d x %d x %d' % (out + d.output))
        return d


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
