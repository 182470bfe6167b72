"""Class priors: the checkpoint's PRIO payload (docs/checkpoint-format.md section 1.7) and the same
bytes inside a decoder image (section 2.2: the extension record of minor-2 images, the block after
the tensors). Written from the spec; `vae-gen export-decoder --priors fitted|diagonal` writes the
same bytes. The checkpoint and both image readers parse the block here, so they check the same."""
import struct

import numpy as np

from ._common import HEADER_BYTES, RECORD_BYTES_FOR, CheckpointError, align16, crc32

MINOR_EXTENSIONS = 2
EXTENSION_BYTES = 16
OFFSET_FIELDS = {1: (36, 40), 2: (36, 40, 44)}   # weight, bias (, requantisation) offsets in a record


KINDS = {1: 'diagonal', 2: 'full'}
KIND_CODES = {v: k for k, v in KINDS.items()}


def scale_count(kind, latent):
    return latent if kind == 'diagonal' else latent * (latent + 1) // 2


def decode_block(raw, latent, where='section "PRIO": ', in_place=False):
    """A PRIO block as a dict(kind, counts, means (K, D), scales (K, S)), with every check of
    section 1.7; `in_place` adds section 2.2's: a block length that is a multiple of 4, since a
    runtime reads the floats where they lie."""
    if len(raw) < 32:
        raise CheckpointError(where + 'block length', 'the priors are %d bytes; the block alone is 32' % len(raw))
    B, version, K, D, kind = struct.unpack_from('<5I', raw, 0)
    if not 32 <= B <= len(raw) or (in_place and B % 4):
        raise CheckpointError(where + 'block length', '%d; must be at least 32%s and inside the %d bytes'
                              % (B, ', a multiple of 4' if in_place else '', len(raw)))
    if version != 1:
        raise CheckpointError(where + 'version', '%d; this reader knows version 1' % version)
    if not 1 <= K <= 256:
        raise CheckpointError(where + 'class count', '%d; must be 1 ... 256' % K)
    if D != latent:
        raise CheckpointError(where + 'latent dimension', '%d; the decoder\'s latent is %d' % (D, latent))
    if kind not in KINDS:
        raise CheckpointError(where + 'covariance kind', '%d; 1 (diagonal) or 2 (full)' % kind)
    S = scale_count(KINDS[kind], D)
    want = B + K * (4 + 4 * D + 4 * S)
    if len(raw) != want:
        raise CheckpointError(where + 'payload length', '%d bytes; %d classes of kind %d need exactly %d' % (len(raw), K, kind, want))
    rec = np.frombuffer(raw, np.uint8, K * (4 + 4 * D + 4 * S), B).reshape(K, -1)
    counts = [int(v) for v in rec[:, :4].copy().view('<u4')[:, 0]]
    means = rec[:, 4:4 + 4 * D].copy().view('<f4').astype(np.float32)
    scales = rec[:, 4 + 4 * D:].copy().view('<f4').astype(np.float32)
    if not (np.isfinite(means).all() and np.isfinite(scales).all()):
        raise CheckpointError(where + 'mean/scale', 'a value is not finite')
    diag = scales if kind == 1 else scales[:, [j * (j + 1) // 2 + j for j in range(D)]]
    if not (diag > 0).all():
        raise CheckpointError(where + 'scale', 'a standard deviation or Cholesky diagonal is not positive')
    return dict(kind=KINDS[kind], counts=counts, means=means, scales=scales)


def encode_block(p, latent, where='section "PRIO": '):
    """The PRIO block of priors `p` (the dict decode_block returns), checked as a reader would."""
    kind = KIND_CODES.get(p['kind'])
    if kind is None:
        raise CheckpointError(where + 'covariance kind', "%r; 'diagonal' or 'full'" % (p['kind'],))
    K, S = len(p['counts']), scale_count(p['kind'], latent)
    means, scales = np.asarray(p['means'], '<f4'), np.asarray(p['scales'], '<f4')
    if means.shape != (K, latent) or scales.shape != (K, S):
        raise CheckpointError(where + 'mean/scale', 'shapes %s and %s; %d classes of kind %s need (%d, %d) and (%d, %d)'
                              % (means.shape, scales.shape, K, p['kind'], K, latent, K, S))
    b = bytearray(struct.pack('<8I', 32, 1, K, latent, kind, 0, 0, 0))
    for k, n in enumerate(p['counts']):
        b += struct.pack('<I', n) + means[k].tobytes() + scales[k].tobytes()
    decode_block(bytes(b), latent, where, in_place=True)
    return bytes(b)


def read_extension(img, records_end, latent, spans, where):
    """The class priors a minor-2 image points at (section 2.2), or None. `records_end` is the end
    of the layer records (the extension record starts there, and image._tensors_start has checked
    that it fits); `spans` the tensors' (start, end, name), which the block may not overlap."""
    off, length = struct.unpack_from('<II', img, records_end)
    if off == 0 and length == 0:
        return None
    f = where + 'class priors offset'
    if off < records_end + EXTENSION_BYTES or off > len(img) or length > len(img) - off:
        raise CheckpointError(f, '%d (%d bytes) lies outside the tensor area [%d, %d)'
                              % (off, length, records_end + EXTENSION_BYTES, len(img)))
    if off % 16:
        raise CheckpointError(f, '%d; not a multiple of 16' % off)
    for a, b, name in spans:
        if off < b and a < off + length:
            raise CheckpointError(f, 'the block [%d, %d) overlaps %s' % (off, off + length, name))
    return decode_block(img[off:off + length], latent, where + 'class priors ', in_place=True)


def attach_priors(image, block):
    """`image` (minor 0 or 1) with the extension record after its layer records, every tensor
    offset moved by its 16 bytes, and `block` (a PRIO payload) appended; minor 2, length, CRC."""
    img = bytes(image)
    minor, = struct.unpack_from('<H', img, 6)
    wtype, = struct.unpack_from('<I', img, 16)
    L, = struct.unpack_from('<I', img, 36)
    if minor >= MINOR_EXTENSIONS:
        raise CheckpointError('decoder image minor version', '%d: the image already has an extension record' % minor)
    if wtype not in RECORD_BYTES_FOR:
        raise CheckpointError('decoder image weight type', '%d; 1 (float32) or 2 (int8)' % wtype)
    end = HEADER_BYTES + L * RECORD_BYTES_FOR[wtype]
    out = bytearray(img[:end] + bytes(EXTENSION_BYTES) + img[end:])
    for k in range(L):
        r = HEADER_BYTES + k * RECORD_BYTES_FOR[wtype]
        for f in OFFSET_FIELDS[wtype]:
            v, = struct.unpack_from('<I', out, r + f)
            struct.pack_into('<I', out, r + f, v + EXTENSION_BYTES)
    out += bytes(align16(len(out)) - len(out))
    struct.pack_into('<II', out, end, len(out), len(block))
    out += bytes(block)
    out += bytes(align16(len(out)) - len(out))
    struct.pack_into('<H', out, 6, MINOR_EXTENSIONS)
    struct.pack_into('<I', out, 8, len(out))
    struct.pack_into('<I', out, 12, crc32(bytes(out[16:])))
    return bytes(out)


def diagonal(p):
    """Full priors (a dict as Checkpoint.class_priors holds) as diagonal ones: sd[j] = sqrt of
    sum over k <= j of L[j][k]^2, summed in double precision in ascending k (np.add.accumulate
    is sequential, np.sum is not), rounded to float32 once."""
    if p['kind'] == 'diagonal':
        return p
    scales = np.asarray(p['scales'], np.float64)
    D = np.asarray(p['means']).shape[1]
    sd = np.empty((scales.shape[0], D), np.float32)
    for j in range(D):
        row = scales[:, j * (j + 1) // 2: j * (j + 1) // 2 + j + 1]
        sd[:, j] = np.sqrt(np.add.accumulate(row * row, axis=1)[:, -1]).astype(np.float32)
    return dict(kind='diagonal', counts=list(p['counts']), means=np.asarray(p['means'], np.float32), scales=sd)
