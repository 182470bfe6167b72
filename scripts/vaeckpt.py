"""Reads vae-train checkpoints (docs/checkpoint-format.md, v1) with zlib, struct and numpy only.

A second, independent reader of the format, for Python tools (scripts/make_torch_fixture.py)
and for checking the Swift writer from outside: it checks what the document says a reader
checks and names the field that is wrong. It needs no torch.

    import vaeckpt
    ck = vaeckpt.read('checkpoints/vae-mnist.vaeckpt')
    ck.tensors['fc_mu.weight']   # numpy array, float32, shape (64, 128)
    ck.training['epoch'], ck.history[-1]

Run as a script it prints a summary: python3 scripts/vaeckpt.py FILE
"""
import struct
import sys
import zlib

import numpy as np

MAGIC = b'VAECKPT\0'
MAJOR = 1
MINOR = 2   # 1: the optional 'DEC8' section (an int8 decoder image, docs/quantisation.md); 2: the optional 'PRIO' section (class priors)
MAX_HEADER = 1 << 20
MAX_RAW = 256 << 20
DTYPES = {1: ('<f4', 4, 'f32'), 2: ('<f8', 8, 'f64'), 3: ('i1', 1, 'i8'), 4: ('<i4', 4, 'i32')}
ACTIVATIONS = {0: 'none', 1: 'relu', 2: 'leaky_relu', 3: 'sigmoid'}
ACTIVATION_CODES = {v: k for k, v in ACTIVATIONS.items()}


def tag_value(name):
    return struct.unpack('<I', name.encode('ascii'))[0]


def tag_name(value):
    return struct.pack('<I', value).decode('ascii', 'replace')


ENC, DEC, OPT, HIST, DEC8, PRIO, NORM = (tag_value(t) for t in ('ENC ', 'DEC ', 'OPT ', 'HIST', 'DEC8', 'PRIO', 'NORM'))
KNOWN_TAGS = {ENC, DEC, OPT, HIST, DEC8, PRIO, NORM}


class CheckpointError(ValueError):
    """A checkpoint that breaks the format. `field` names what is wrong, as the document names it."""

    def __init__(self, field, problem, path=None):
        self.field, self.problem, self.path = field, problem, path
        super().__init__('%s%s: %s' % ('%s: ' % path if path else '', field, problem))


class Checkpoint:
    def __init__(self):
        self.version = None      # (major, minor)
        self.arch = None         # dict of the architecture block
        self.sections = {}       # tag name -> raw (inflated) bytes, known tags only
        self.tensors = {}        # name -> numpy array (a copy, native byte order)
        self.training = None     # dict of the OPT block, or None
        self.history = None      # numpy array (R, 8) float64, or None
        self.decoder_image = None  # bytes of the DEC section (a VAED image)
        self.int8_decoder_image = None  # bytes of the DEC8 section (an int8 VAED image), or None
        self.class_priors = None  # dict of the PRIO section (kind, counts, means, scales), or None

    HISTORY_COLUMNS = ('epoch', 'seconds', 'train_rec', 'train_kl', 'train_total', 'val_rec', 'val_kl', 'val_total')


class _Cursor:
    """Reads little-endian fields from the header, refusing to read past its end."""

    def __init__(self, b, pos, end):
        self.b, self.pos, self.end = b, pos, end

    def take(self, fmt, field):
        n = struct.calcsize('<' + fmt)
        if self.pos + n > self.end:
            raise CheckpointError(field, 'runs past the end of the header (byte %d of %d)' % (self.pos + n, self.end))
        v = struct.unpack_from('<' + fmt, self.b, self.pos)
        self.pos += n
        return v if len(v) > 1 else v[0]


def _crc(b):
    return zlib.crc32(b) & 0xFFFFFFFF


def read(source):
    """Reads a checkpoint from a path or from bytes; raises CheckpointError naming the bad field."""
    path = None
    if isinstance(source, (bytes, bytearray, memoryview)):
        b = bytes(source)
    else:
        path = str(source)
        with open(path, 'rb') as f:
            b = f.read()
    try:
        return _parse(b)
    except CheckpointError as e:
        if path is None:
            raise
        raise CheckpointError(e.field, e.problem, path) from None


def _parse(b):
    ck = Checkpoint()
    if len(b) < 16:
        raise CheckpointError('file length', '%d bytes; too short for the 16-byte start of a checkpoint' % len(b))
    if b[:8] != MAGIC:
        raise CheckpointError('magic', 'bad magic %s; expected %s ("VAECKPT\\0")' % (b[:8].hex(' '), MAGIC.hex(' ')))
    major, minor, H = struct.unpack_from('<HHI', b, 8)
    if major != MAJOR:
        raise CheckpointError('major version', '%d; this reader knows major version %d only' % (major, MAJOR))
    ck.version = (major, minor)
    if not 32 <= H <= MAX_HEADER:
        raise CheckpointError('header length H', '%d; must be between 32 and %d' % (H, MAX_HEADER))
    if H > len(b):
        raise CheckpointError('header length H', '%d, but the file is only %d bytes (truncated?)' % (H, len(b)))
    stored, computed = struct.unpack_from('<I', b, H - 4)[0], _crc(b[:H - 4])
    if stored != computed:
        raise CheckpointError('header CRC-32', 'stored 0x%08x, computed 0x%08x over bytes [0, %d)' % (stored, computed, H - 4))
    c = _Cursor(b, 16, H - 4)
    ck.arch = _architecture(c)
    table = _section_table(c, b, H)
    tensor_entries = _tensor_table(c)
    for t, e in table.items():
        data = _inflate(b, t, e)
        if t in KNOWN_TAGS:
            ck.sections[tag_name(t)] = data
    for name, (sec, dtype, dims, off, length) in tensor_entries.items():
        raw = ck.sections.get(tag_name(sec))
        if raw is None:
            raise CheckpointError('tensor %s section tag' % name, "section '%s' is not in the file" % tag_name(sec))
        if off + length > len(raw):
            raise CheckpointError('tensor %s offset/length' % name, 'bytes [%d, %d) lie outside its section (%d bytes)'
                                  % (off, off + length, len(raw)))
        ck.tensors[name] = np.frombuffer(raw, dtype=DTYPES[dtype][0], count=length // DTYPES[dtype][1],
                                         offset=off).reshape(dims).astype(np.dtype(DTYPES[dtype][0]).newbyteorder('='))
    _check_model_tensors(ck, tensor_entries)
    ck.decoder_image = ck.sections['DEC ']
    _check_decoder_image(ck, tensor_entries)
    if 'DEC8' in ck.sections:
        ck.int8_decoder_image = ck.sections['DEC8']
        _check_int8_image(ck)
    if 'PRIO' in ck.sections:
        ck.class_priors = _class_priors(ck.sections['PRIO'], ck.arch['latent'])
    if 'OPT ' in ck.sections:
        ck.training = _training(ck.sections['OPT '])
    if 'HIST' in ck.sections:
        ck.history = _history(ck.sections['HIST'])
    return ck


def _architecture(c):
    start = c.pos
    length = c.take('I', 'architecture block length')
    if length < 64:
        raise CheckpointError('architecture block length', '%d; must be at least 64' % length)
    names = ('image_height', 'image_width', 'encoder_kind', 'lstm_input', 'lstm_hidden', 'sequence_length',
             'lstm_layers', 'head_kind', 'latent', 'view_channels', 'view_height', 'view_width', 'layer_count',
             'normalisation', 'reserved1')
    a = {n: c.take('I', 'architecture ' + n) for n in names}
    L = a['layer_count']
    if not 1 <= L <= 16:
        raise CheckpointError('architecture layer_count', '%d; must be 1 ... 16' % L)
    if length < 64 + 36 * L:
        raise CheckpointError('architecture block length', '%d; %d layers need at least %d' % (length, L, 64 + 36 * L))
    if a['encoder_kind'] != 1:
        raise CheckpointError('architecture encoder_kind', '%d; only 1 (LSTM over image rows) is defined' % a['encoder_kind'])
    if a['head_kind'] not in (1, 2):
        raise CheckpointError('architecture head_kind', '%d; defined are 1 (two Linear heads) and 2 (split hidden state)'
                              % a['head_kind'])
    if a['normalisation'] not in (0, 1):
        raise CheckpointError('architecture normalisation', '%d; defined are 0 (none) and 1 (batch norm)' % a['normalisation'])
    if a['head_kind'] == 2 and a['lstm_hidden'] != 2 * a['latent']:
        raise CheckpointError('architecture head_kind', '2 (split) needs hidden %d = 2 x latent %d'
                              % (a['lstm_hidden'], a['latent']))
    layers = []
    for i in range(L):
        f = 'architecture layer %d ' % i
        kind, cin, cout, kh, kw, stride, pad, act = (c.take('I', f + n) for n in
                                                     ('kind', 'in_channels', 'out_channels', 'kernel_h', 'kernel_w',
                                                      'stride', 'padding', 'activation'))
        param = c.take('f', f + 'activation parameter')
        if kind != 1:
            raise CheckpointError(f + 'kind', '%d; only 1 (ConvTranspose2d) is defined' % kind)
        if act not in ACTIVATIONS:
            raise CheckpointError(f + 'activation', '%d; defined are 0 ... 3' % act)
        layers.append(dict(in_channels=cin, out_channels=cout, kernel_h=kh, kernel_w=kw, stride=stride, padding=pad,
                           activation=ACTIVATIONS[act], activation_param=param))
    c.pos = start + length   # a longer block (a later minor version) carries fields this reader skips
    a['layers'] = layers
    if a['view_channels'] * a['view_height'] * a['view_width'] != a['latent']:
        raise CheckpointError('architecture view', '%d x %d x %d is not the latent dimension %d'
                              % (a['view_channels'], a['view_height'], a['view_width'], a['latent']))
    ch, h, w = a['view_channels'], a['view_height'], a['view_width']
    for i, l in enumerate(layers):
        if l['in_channels'] != ch:
            raise CheckpointError('architecture layer %d in_channels' % i, '%d; the layer before gives %d' % (l['in_channels'], ch))
        h = (h - 1) * l['stride'] - 2 * l['padding'] + l['kernel_h']
        w = (w - 1) * l['stride'] - 2 * l['padding'] + l['kernel_w']
        if h < 1 or w < 1:
            raise CheckpointError('architecture layer %d' % i, 'output would be %d x %d' % (h, w))
        ch = l['out_channels']
    if (ch, h, w) != (1, a['image_height'], a['image_width']):
        raise CheckpointError('architecture layers', 'the decoder ends at %d x %d x %d, not 1 x %d x %d'
                              % (ch, h, w, a['image_height'], a['image_width']))
    return a


def _section_table(c, b, H):
    n = c.take('I', 'section count')
    if not 1 <= n <= 32:
        raise CheckpointError('section count', '%d; must be 1 ... 32' % n)
    table = {}
    for i in range(n):
        tag, flags, off, stored, raw, scrc, rcrc = c.take('IIQQQII', 'section table entry %d' % i)
        name = "section '%s'" % tag_name(tag)
        if tag in table:
            raise CheckpointError(name + ' tag', 'appears twice in the section table')
        if tag not in KNOWN_TAGS and flags & 1:
            raise CheckpointError(name + ' flags', 'critical, and this reader does not know the tag')
        if off < H:
            raise CheckpointError(name + ' offset', '%d lies inside the header (H = %d)' % (off, H))
        if off + stored > len(b):
            raise CheckpointError(name + ' stored length', 'bytes [%d, %d) run past the end of the file (%d bytes; truncated?)'
                                  % (off, off + stored, len(b)))
        if raw > MAX_RAW:
            raise CheckpointError(name + ' raw length', '%d; at most %d' % (raw, MAX_RAW))
        table[tag] = (off, stored, raw, scrc, rcrc)
    spans = sorted((e[0], e[0] + e[1], t) for t, e in table.items())
    for (a0, a1, ta), (b0, b1, tb) in zip(spans, spans[1:]):
        if b0 < a1:
            raise CheckpointError("section '%s' offset" % tag_name(tb), "overlaps section '%s'" % tag_name(ta))
    for t in (ENC, DEC):
        if t not in table:
            raise CheckpointError("section '%s'" % tag_name(t), 'missing; every checkpoint has it')
    return table


def _inflate(b, tag, entry):
    off, stored, raw, scrc, rcrc = entry
    name = "section '%s'" % tag_name(tag)
    data = b[off:off + stored]
    if _crc(data) != scrc:
        raise CheckpointError(name + ' stored CRC-32', 'stored 0x%08x, computed 0x%08x' % (scrc, _crc(data)))
    d = zlib.decompressobj()
    try:
        out = d.decompress(data, raw + 1)
    except zlib.error as e:
        raise CheckpointError(name + ' zlib stream', 'corrupt (%s)' % e)
    if len(out) != raw or not d.eof:
        raise CheckpointError(name + ' raw length', 'the table says %d bytes; the stream inflates to %s'
                              % (raw, len(out) if d.eof else 'more' if len(out) > raw else '%d (unfinished)' % len(out)))
    if _crc(out) != rcrc:
        raise CheckpointError(name + ' raw CRC-32', 'stored 0x%08x, computed 0x%08x' % (rcrc, _crc(out)))
    return out


def _tensor_table(c):
    n = c.take('I', 'tensor count')
    if n > 4096:
        raise CheckpointError('tensor count', '%d; at most 4096' % n)
    entries = {}
    for i in range(n):
        f = 'tensor entry %d ' % i
        sec, dtype, rank, nlen = c.take('IBBH', f + 'section/dtype/rank/name length')
        if not 1 <= nlen <= 128:
            raise CheckpointError(f + 'name length', '%d; must be 1 ... 128' % nlen)
        if c.pos + nlen > c.end:
            raise CheckpointError(f + 'name', 'runs past the end of the header')
        try:
            name = c.b[c.pos:c.pos + nlen].decode('utf-8')
        except UnicodeDecodeError:
            raise CheckpointError(f + 'name', 'not UTF-8')
        c.pos += nlen
        f = 'tensor %s ' % name
        if dtype not in DTYPES:
            raise CheckpointError(f + 'dtype', '%d; defined are 1 (f32), 2 (f64), 3 (i8), 4 (i32)' % dtype)
        if not 1 <= rank <= 4:
            raise CheckpointError(f + 'rank', '%d; must be 1 ... 4' % rank)
        dims = [c.take('I', f + 'dimension %d' % k) for k in range(rank)]
        for k, d in enumerate(dims):
            if not 1 <= d <= 1 << 24:
                raise CheckpointError(f + 'dimension %d' % k, '%d; must be 1 ... 2^24' % d)
        off, length = c.take('QQ', f + 'offset/byte length')
        want = int(np.prod(dims)) * DTYPES[dtype][1]
        if length != want:
            raise CheckpointError(f + 'byte length', '%d; %s x %s needs %d' % (length, DTYPES[dtype][2], dims, want))
        if name in entries:
            raise CheckpointError(f + 'name', 'appears twice in the tensor table')
        entries[name] = (sec, dtype, tuple(dims), off, length)
    return entries


def expected_shapes(a):
    """The tensors the model needs (section tag, shape), named as torch_ref.py's state_dict."""
    g, h, x, z = 4 * a['lstm_hidden'], a['lstm_hidden'], a['lstm_input'], a['latent']
    s = {'lstm.weight_ih_l0': (ENC, (g, x)), 'lstm.weight_hh_l0': (ENC, (g, h)),
         'lstm.bias_ih_l0': (ENC, (g,)), 'lstm.bias_hh_l0': (ENC, (g,))}
    if a['head_kind'] == 1:   # the split sampler (2) has no heads
        s.update({'fc_mu.weight': (ENC, (z, h)), 'fc_mu.bias': (ENC, (z,)),
                  'fc_logvar.weight': (ENC, (z, h)), 'fc_logvar.bias': (ENC, (z,))})
    for k, l in enumerate(a['layers']):
        w, b = (l['in_channels'], l['out_channels'], l['kernel_h'], l['kernel_w']), (l['out_channels'],)
        s['convs.%d.weight' % k], s['convs.%d.bias' % k] = (DEC, w), (DEC, b)   # batch norm: folded in
        if a['normalisation'] == 1:   # the trainer's tensors (1.8)
            s['unfolded.convs.%d.weight' % k], s['unfolded.convs.%d.bias' % k] = (NORM, w), (NORM, b)
            if k < len(a['layers']) - 1:
                for t in ('weight', 'bias', 'running_mean', 'running_var'):
                    s['bns.%d.%s' % (k, t)] = (NORM, b)
    return s


def _check_model_tensors(ck, entries):
    for name, (sec, shape) in expected_shapes(ck.arch).items():
        if name not in entries:
            raise CheckpointError('tensor %s' % name, 'missing from the tensor table')
        e = entries[name]
        if e[0] != sec:
            raise CheckpointError('tensor %s section tag' % name, "'%s'; expected '%s'" % (tag_name(e[0]), tag_name(sec)))
        if e[1] != 1:
            raise CheckpointError('tensor %s dtype' % name, '%d; model tensors are 1 (f32)' % e[1])
        if e[2] != shape:
            raise CheckpointError('tensor %s dimensions' % name, '%s; the architecture block implies %s' % (list(e[2]), list(shape)))


def _check_decoder_image(ck, entries):
    img = ck.decoder_image
    f = "decoder image (section 'DEC ')"
    if len(img) < 64 or img[:4] != b'VAED':
        raise CheckpointError(f + ' magic', 'not a VAED image (%s)' % img[:4].hex(' '))
    major, _minor, total, crc = struct.unpack_from('<HHII', img, 4)
    if major != 1:
        raise CheckpointError(f + ' major version', '%d; this reader knows 1' % major)
    if total != len(img):
        raise CheckpointError(f + ' total length', '%d; the section holds %d bytes' % (total, len(img)))
    if _crc(img[16:]) != crc:
        raise CheckpointError(f + ' CRC-32', 'stored 0x%08x, computed 0x%08x over bytes [16, %d)' % (crc, _crc(img[16:]), total))
    L = struct.unpack_from('<I', img, 36)[0]
    if L != len(ck.arch['layers']) or 64 + 48 * L > total:
        raise CheckpointError(f + ' layer count', '%d; the architecture block has %d' % (L, len(ck.arch['layers'])))
    for k in range(L):
        woff, boff = struct.unpack_from('<II', img, 64 + 48 * k + 36)
        for name, off in (('convs.%d.weight' % k, woff), ('convs.%d.bias' % k, boff)):
            if entries[name][3] != off:
                raise CheckpointError('tensor %s offset' % name, '%d; the decoder image puts it at %d' % (entries[name][3], off))


def _check_int8_image(ck):
    """The int8 image's header and layer records (docs/quantisation.md section 2): enough to know it
    is an int8 decoder of this architecture whose tensors lie in the image. The integers' ranges
    and the accumulator bound are the Swift readers' business."""
    img = ck.int8_decoder_image
    f = "int8 decoder image (section 'DEC8')"
    if len(img) < 64 or img[:4] != b'VAED':
        raise CheckpointError(f + ' magic', 'not a VAED image (%s)' % img[:4].hex(' '))
    major, minor, total, crc, wtype = struct.unpack_from('<HHIII', img, 4)
    if major != 1:
        raise CheckpointError(f + ' major version', '%d; this reader knows 1' % major)
    if minor < 1:
        raise CheckpointError(f + ' minor version', '%d; int8 images are minor 1 or later' % minor)
    if wtype != 2:
        raise CheckpointError(f + ' weight type', '%d; an int8 image has 2' % wtype)
    if total != len(img) or total % 16:
        raise CheckpointError(f + ' total length', '%d; the section holds %d bytes (a multiple of 16)' % (total, len(img)))
    if _crc(img[16:]) != crc:
        raise CheckpointError(f + ' CRC-32', 'stored 0x%08x, computed 0x%08x over bytes [16, %d)' % (crc, _crc(img[16:]), total))
    a = ck.arch
    latent, vc, vh, vw, L = struct.unpack_from('<5I', img, 20)
    if (latent, vc, vh, vw) != (a['latent'], a['view_channels'], a['view_height'], a['view_width']):
        raise CheckpointError(f + ' latent/view', '%d, %d x %d x %d; the architecture block has %d, %d x %d x %d'
                              % (latent, vc, vh, vw, a['latent'], a['view_channels'], a['view_height'], a['view_width']))
    if L != len(a['layers']) or 64 + 64 * L > total:
        raise CheckpointError(f + ' layer count', '%d; the architecture block has %d' % (L, len(a['layers'])))
    lwidth, inv_scale, qmax = struct.unpack_from('<Ifi', img, 52)
    if lwidth != 2 or not (inv_scale > 0 and inv_scale != float('inf')) or not 1 <= qmax <= 32767:
        raise CheckpointError(f + ' latent', 'width %d, inverse scale %g, qmax %d; need 2, finite > 0, 1 ... 32767'
                              % (lwidth, inv_scale, qmax))
    for k, l in enumerate(a['layers']):
        r = 64 + 64 * k
        kind, cin, cout, kh, kw, stride, pad, act = struct.unpack_from('<8I', img, r)
        if (kind, cin, cout, kh, kw, stride, pad, act) != (1, l['in_channels'], l['out_channels'], l['kernel_h'], l['kernel_w'],
                                                          l['stride'], l['padding'], ACTIVATION_CODES[l['activation']]):
            raise CheckpointError(f + ' layer %d record' % k, 'does not match the architecture block')
        woff, boff, qoff, width = struct.unpack_from('<4I', img, r + 36)
        last = k == L - 1
        sizes = (cin * cout * kh * kw, 4 * cout, 4 * cout * (255 if last else 4))
        for name, off, size in zip(('weight', 'bias', 'requant'), (woff, boff, qoff), sizes):
            if off % 16 or off < 64 + 64 * L or off + size > total:
                raise CheckpointError(f + ' layer %d %s offset' % (k, name), '%d (%d bytes): not 16-aligned inside [%d, %d)'
                                      % (off, size, 64 + 64 * L, total))
        if (last and width != 0) or (not last and width not in (1, 2)):
            raise CheckpointError(f + ' layer %d output width' % k, '%d; 1 or 2 for hidden layers, 0 for the last' % width)


def _class_priors(raw, latent):
    """docs/checkpoint-format.md section 1.7, with every check it lists."""
    f = "section \"PRIO\": "
    if len(raw) < 32:
        raise CheckpointError(f + 'block length', 'the section is %d bytes; the block alone is 32' % len(raw))
    B, version, K, D, kind = struct.unpack_from('<5I', raw, 0)
    if not 32 <= B <= len(raw):
        raise CheckpointError(f + 'block length', '%d; must be at least 32 and inside the %d-byte section' % (B, len(raw)))
    if version != 1:
        raise CheckpointError(f + 'version', '%d; this reader knows version 1' % version)
    if not 1 <= K <= 256:
        raise CheckpointError(f + 'class count', '%d; must be 1 ... 256' % K)
    if D != latent:
        raise CheckpointError(f + 'latent dimension', '%d; the architecture block has %d' % (D, latent))
    if kind not in (1, 2):
        raise CheckpointError(f + 'covariance kind', '%d; 1 (diagonal) or 2 (full)' % kind)
    S = D if kind == 1 else D * (D + 1) // 2
    want = B + K * (4 + 4 * D + 4 * S)
    if len(raw) != want:
        raise CheckpointError(f + 'payload length', '%d bytes; %d classes of kind %d need exactly %d' % (len(raw), K, kind, want))
    counts, means, scales = [], np.empty((K, D), np.float32), np.empty((K, S), np.float32)
    pos = B
    for k in range(K):
        counts.append(struct.unpack_from('<I', raw, pos)[0])
        means[k] = np.frombuffer(raw, '<f4', D, pos + 4)
        scales[k] = np.frombuffer(raw, '<f4', S, pos + 4 + 4 * D)
        pos += 4 + 4 * D + 4 * S
    if not (np.isfinite(means).all() and np.isfinite(scales).all()):
        raise CheckpointError(f + 'mean/scale', 'a value is not finite')
    diag = scales if kind == 1 else scales[:, [j * (j + 1) // 2 + j for j in range(D)]]
    if not (diag > 0).all():
        raise CheckpointError(f + 'scale', 'a standard deviation or Cholesky diagonal is not positive')
    return dict(kind='diagonal' if kind == 1 else 'full', counts=counts, means=means, scales=scales)


def _training(raw):
    f = "training state (section 'OPT ')"
    if len(raw) < 128:
        raise CheckpointError(f + ' block length', 'the section is %d bytes; the block alone is 128' % len(raw))
    (length, epoch, steps, batch, shards, lr, b1, b2, eps, seed, r0, r1, r2, r3,
     images) = struct.unpack_from('<IIQIIddddQQQQQQ', raw, 0)
    if length < 128:
        raise CheckpointError(f + ' block length', '%d; must be at least 128' % length)
    return dict(epoch=epoch, steps=steps, batch=batch, shards=shards, lr=lr, beta1=b1, beta2=b2, eps=eps, seed=seed,
                rng=(r0, r1, r2, r3), images_per_epoch=images)


def _history(raw):
    f = "history (section 'HIST')"
    if len(raw) < 8:
        raise CheckpointError(f + ' row count', 'the section is %d bytes; the counts alone are 8' % len(raw))
    rows, cols = struct.unpack_from('<II', raw, 0)
    if rows > 100000:
        raise CheckpointError(f + ' row count', '%d; at most 100000' % rows)
    if cols != 8:
        raise CheckpointError(f + ' column count', '%d; version 1 has 8' % cols)
    if len(raw) < 8 + rows * cols * 8:
        raise CheckpointError(f + ' row count', '%d rows of %d need %d bytes; the section is %d'
                              % (rows, cols, 8 + rows * cols * 8, len(raw)))
    return np.frombuffer(raw, dtype='<f8', count=rows * cols, offset=8).reshape(rows, cols).astype(float)


def main(argv):
    if len(argv) != 2:
        print('usage: python3 scripts/vaeckpt.py FILE.vaeckpt', file=sys.stderr)
        return 2
    try:
        ck = read(argv[1])
    except (CheckpointError, OSError) as e:
        print('vaeckpt: error: %s' % e, file=sys.stderr)
        return 1
    print('%s: version %d.%d, latent %d, %d decoder layers, %d tensors, sections %s'
          % (argv[1], ck.version[0], ck.version[1], ck.arch['latent'], len(ck.arch['layers']), len(ck.tensors),
             ' '.join(repr(s) for s in ck.sections)))
    if ck.class_priors:
        p = ck.class_priors
        print('class priors: %d classes, %s covariance, fitted from %d images' % (len(p['counts']), p['kind'], sum(p['counts'])))
    if ck.training:
        print('training: epoch %(epoch)d, %(steps)d steps, batch %(batch)d, lr %(lr)g, seed %(seed)d, '
              '%(images_per_epoch)d images per epoch' % ck.training)
    if ck.history is not None and len(ck.history):
        r = dict(zip(Checkpoint.HISTORY_COLUMNS, ck.history[-1]))
        print('last epoch %(epoch).0f: validation %(val_total).2f (rec %(val_rec).2f + KL %(val_kl).2f)' % r)
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
