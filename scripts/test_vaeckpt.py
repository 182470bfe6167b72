"""Tests scripts/vaeckpt.py (a shim over python/vaebridge) on the shipped checkpoint, and that it refuses damaged copies naming
the field at fault. numpy only, no torch. Closes with "vaeckpt: N passed, F failed" (test-all.sh
counts that line); exits non-zero on any failure.

    python3 scripts/test_vaeckpt.py
"""
import os
import struct
import sys
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import vaeckpt  # noqa: E402

ROOT = os.path.dirname(HERE)
SHIPPED = os.path.join(ROOT, 'checkpoints', 'vae-mnist.vaeckpt')
passed = failed = 0


def check(what, cond, detail=''):
    global passed, failed
    if cond:
        passed += 1
    else:
        failed += 1
        print('FAIL: %s%s' % (what, ': ' + detail if detail else ''))


def refuses(what, data, field_text):
    """The damaged bytes must raise CheckpointError whose field mentions field_text."""
    try:
        vaeckpt.read(data)
    except vaeckpt.CheckpointError as e:
        check(what, field_text in e.field, 'error names %r, expected %r (%s)' % (e.field, field_text, e))
        return
    except Exception as e:  # any other exception is a reader bug, not a refusal
        check(what, False, 'raised %s: %s' % (type(e).__name__, e))
        return
    check(what, False, 'read without complaint')


def with_header_crc(b):
    """b with its header CRC recomputed, so that a test reaches the check behind it."""
    H = struct.unpack_from('<I', b, 12)[0]
    return b[:H - 4] + struct.pack('<I', zlib.crc32(b[:H - 4]) & 0xFFFFFFFF) + b[H:]


raw = open(SHIPPED, 'rb').read()
ck = vaeckpt.read(SHIPPED)

# What README and docs/checkpoint-format.md say the shipped file is.
check('version', ck.version == (1, 2), str(ck.version))
check('sections', list(ck.sections) == ['ENC ', 'DEC ', 'OPT ', 'HIST', 'DEC8', 'PRIO'], str(list(ck.sections)))
p = ck.class_priors
# vae-train fit-priors on the shipped checkpoint: full covariance, 10 digits, the training labels' counts.
check('class priors', p is not None and p['kind'] == 'full'
      and p['counts'] == [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
      and p['means'].shape == (10, 64) and p['scales'].shape == (10, 64 * 65 // 2), str(p and p['counts']))
check('int8 decoder image', ck.int8_decoder_image is not None and ck.int8_decoder_image[:4] == b'VAED'
      and struct.unpack_from('<HI', ck.int8_decoder_image, 6) == (1, len(ck.int8_decoder_image)))
a = ck.arch
check('architecture', (a['image_height'], a['image_width'], a['lstm_hidden'], a['latent'], len(a['layers']))
      == (28, 28, 128, 64, 6), str(a))
check('decoder chain', [(l['in_channels'], l['out_channels'], l['kernel_h']) for l in a['layers']]
      == [(16, 13, 9), (13, 10, 7), (10, 7, 5), (7, 4, 5), (4, 2, 3), (2, 1, 3)])
check('activations', [l['activation'] for l in a['layers']] == ['leaky_relu'] * 5 + ['sigmoid'])
shapes = {k: v.shape for k, v in ck.tensors.items() if not k.startswith('adam.')}
check('model tensors', shapes == {k: s for k, (_, s) in vaeckpt.expected_shapes(a).items()}, str(shapes))
check('adam moments', all('adam.m.' + k in ck.tensors and 'adam.v.' + k in ck.tensors
                          and ck.tensors['adam.m.' + k].shape == s for k, s in shapes.items()))
check('dtype', all(v.dtype.name == 'float32' for v in ck.tensors.values()))
check('weights finite', all(bool(vaeckpt.np.isfinite(v).all()) for v in ck.tensors.values()))
check('decoder image size', len(ck.decoder_image) == 103600, str(len(ck.decoder_image)))
t = ck.training
check('training state', (t['epoch'], t['batch'], t['lr'], t['seed'], t['images_per_epoch']) == (128, 128, 1e-3, 0, 60000),
      str(t))
h = ck.history
check('history rows', h is not None and h.shape == (128, 8) and list(h[:, 0]) == list(range(1, 129)),
      str(None if h is None else h.shape))
last = dict(zip(vaeckpt.Checkpoint.HISTORY_COLUMNS, h[-1]))
check('epoch 128 validation (README: 77.82 + 27.01 = 104.84)',
      (round(last['val_rec'], 2), round(last['val_kl'], 2), round(last['val_total'], 2)) == (77.82, 27.01, 104.84), str(last))
# The weights themselves: the DEC tensors are the decoder image's bytes (the format says they are
# the same bytes, at the offsets the image gives).
w0 = ck.tensors['convs.0.weight']
off = struct.unpack_from('<I', ck.decoder_image, 64 + 36)[0]
check('convs.0.weight at the image offset',
      bytes(ck.decoder_image[off:off + w0.nbytes]) == w0.astype('<f4').tobytes())

# Damaged copies: each refused, and the error names the field.
H = struct.unpack_from('<I', raw, 12)[0]
refuses('magic', b'VAECKPX\0' + raw[8:], 'magic')
refuses('too short', raw[:10], 'file length')
refuses('major version', raw[:8] + struct.pack('<H', 2) + raw[10:], 'major version')
refuses('header length', raw[:12] + struct.pack('<I', 8) + raw[16:], 'header length')
refuses('header CRC', raw[:20] + bytes([raw[20] ^ 1]) + raw[21:], 'header CRC-32')
refuses('truncated', raw[:len(raw) - 1000], 'stored length')
refuses('truncated inside the header', raw[:H // 2], 'header length')
# Offsets inside the header: the architecture block at 16, then the section count and table.
arch0 = 16
table0 = arch0 + struct.unpack_from('<I', raw, arch0)[0] + 4   # first section table entry
tag, flags, off, stored, rawlen, scrc, rcrc = struct.unpack_from('<IIQQQII', raw, table0)
check('first section is ENC', tag == vaeckpt.ENC, vaeckpt.tag_name(tag))
# Flip one byte of the ENC section's zlib stream.
refuses('section payload', raw[:off + 10] + bytes([raw[off + 10] ^ 0x40]) + raw[off + 11:], "section 'ENC ' stored CRC-32")
refuses('section raw length', with_header_crc(raw[:table0 + 24] + struct.pack('<Q', rawlen + 4) + raw[table0 + 32:]),
        "section 'ENC ' raw length")
refuses('section raw CRC', with_header_crc(raw[:table0 + 36] + struct.pack('<I', rcrc ^ 1) + raw[table0 + 40:]),
        "section 'ENC ' raw CRC-32")
refuses('unknown critical section', with_header_crc(raw[:table0] + b'XTRA' + struct.pack('<I', 1) + raw[table0 + 8:]),
        "section 'XTRA' flags")
refuses('architecture latent', with_header_crc(raw[:arch0 + 36] + struct.pack('<I', 65) + raw[arch0 + 40:]), 'architecture view')
refuses('decoder layer channels', with_header_crc(raw[:arch0 + 64 + 4] + struct.pack('<I', 15) + raw[arch0 + 64 + 8:]),
        'architecture layer 0 in_channels')
# The first tensor entry's byte length: 4 (count) after the section table.
S = struct.unpack_from('<I', raw, table0 - 4)[0]
tt = table0 + 40 * S + 4
nlen = struct.unpack_from('<H', raw, tt + 6)[0]
rank = raw[tt + 5]
name = raw[tt + 8:tt + 8 + nlen].decode()
lenpos = tt + 8 + nlen + 4 * rank + 8
length = struct.unpack_from('<Q', raw, lenpos)[0]
refuses('tensor byte length', with_header_crc(raw[:lenpos] + struct.pack('<Q', length - 4) + raw[lenpos + 8:]),
        'tensor %s byte length' % name)
dimpos = tt + 8 + nlen
refuses('tensor dimensions', with_header_crc(raw[:dimpos] + struct.pack('<I', 0) + raw[dimpos + 4:]),
        'tensor %s dimension 0' % name)
refuses('tensor name', with_header_crc(raw[:tt + 8] + b'x' * nlen + raw[tt + 8 + nlen:]), 'tensor')



def with_section(tag, edit, image_crc=False):
    """The shipped file with section `tag`'s payload edited by `edit` (bytearray -> None or a new
    bytearray), for DEC8 its image CRC recomputed, and the section recompressed and appended at the end of the file with its table
    entry updated (DEC8 is not the last payload since PRIO; the old bytes stay, never read)."""
    S = struct.unpack_from('<I', raw, table0 - 4)[0]
    for i in range(S):
        e = table0 + 40 * i
        t, fl, o, st, rl, _, _ = struct.unpack_from('<IIQQQII', raw, e)
        if t == tag:
            break
    img = bytearray(zlib.decompress(raw[o:o + st]))
    img = edit(img) or img
    if image_crc:
        img[12:16] = struct.pack('<I', zlib.crc32(bytes(img[16:])) & 0xFFFFFFFF)
    z = zlib.compress(bytes(img), 6)
    entry = struct.pack('<IIQQQII', t, fl, len(raw), len(z), len(img), zlib.crc32(z) & 0xFFFFFFFF, zlib.crc32(bytes(img)) & 0xFFFFFFFF)
    return with_header_crc(raw[:e] + entry + raw[e + 40:] + z)


def with_int8_image(edit):
    return with_section(vaeckpt.DEC8, edit, image_crc=True)


def set_u32(off, v):
    def edit(img):
        img[off:off + 4] = struct.pack('<I', v)
    return edit


refuses('int8 weight type', with_int8_image(set_u32(16, 1)), "section 'DEC8') weight type")
refuses('int8 latent qmax', with_int8_image(set_u32(60, 0)), "section 'DEC8') latent")
refuses('int8 layer record', with_int8_image(set_u32(64 + 4, 15)), "section 'DEC8') layer 0 in_channels")
refuses('int8 tensor alignment', with_int8_image(set_u32(64 + 36, 64 + 6 * 64 + 4)), "section 'DEC8') layer 0 weight offset")
check('int8 edit helper keeps a valid file', vaeckpt.read(with_int8_image(lambda img: None)).int8_decoder_image
      == ck.int8_decoder_image)

refuses('PRIO version', with_section(vaeckpt.PRIO, set_u32(4, 2)), 'section "PRIO": version')
refuses('PRIO latent dimension', with_section(vaeckpt.PRIO, set_u32(12, 63)), 'section "PRIO": latent dimension')
refuses('PRIO kind', with_section(vaeckpt.PRIO, set_u32(16, 3)), 'section "PRIO": covariance kind')
refuses('PRIO truncated', with_section(vaeckpt.PRIO, lambda b: b[:-4]), 'section "PRIO": payload length')
refuses('PRIO non-finite mean', with_section(vaeckpt.PRIO, lambda b: b[:36] + struct.pack('<f', float('nan')) + b[40:]),
        'section "PRIO": mean/scale')
refuses('PRIO negative diagonal', with_section(vaeckpt.PRIO, lambda b: b[:36 + 256] + struct.pack('<f', -1.0) + b[40 + 256:]),
        'section "PRIO": scale')
check('PRIO edit helper keeps a valid file', vaeckpt.read(with_section(vaeckpt.PRIO, lambda b: None)).class_priors['counts']
      == p['counts'])

check('torch not imported', 'torch' not in sys.modules)
print('vaeckpt: %d passed, %d failed' % (passed, failed))
sys.exit(1 if failed else 0)
