"""Class priors inside a decoder image (docs/checkpoint-format.md section 2.2): the extension
record of minor-2 images and the checkpoint's PRIO payload after the tensors. Written from the
spec; `vae-gen export-decoder --priors fitted|diagonal` writes the same bytes."""
import struct

import numpy as np

from ._common import CheckpointError, align16, crc32

HEADER_BYTES = 64
MINOR_EXTENSIONS = 2
EXTENSION_BYTES = 16
RECORD_BYTES = {1: 48, 2: 64}                 # weight type -> layer record size
OFFSET_FIELDS = {1: (36, 40), 2: (36, 40, 44)}   # weight, bias (, requantisation) offsets in a record


def attach_priors(image, block):
    """`image` (minor 0 or 1) with the extension record after its layer records, every tensor
    offset moved by its 16 bytes, and `block` (a PRIO payload) appended; minor 2, length, CRC."""
    img = bytes(image)
    minor, = struct.unpack_from('<H', img, 6)
    wtype, = struct.unpack_from('<I', img, 16)
    L, = struct.unpack_from('<I', img, 36)
    if minor >= MINOR_EXTENSIONS:
        raise CheckpointError('decoder image minor version', '%d: the image already has an extension record' % minor)
    if wtype not in RECORD_BYTES:
        raise CheckpointError('decoder image weight type', '%d; 1 (float32) or 2 (int8)' % wtype)
    end = HEADER_BYTES + L * RECORD_BYTES[wtype]
    out = bytearray(img[:end] + bytes(EXTENSION_BYTES) + img[end:])
    for k in range(L):
        r = HEADER_BYTES + k * RECORD_BYTES[wtype]
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
