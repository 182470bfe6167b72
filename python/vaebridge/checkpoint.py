"""Checkpoints (docs/checkpoint-format.md, v1): read and write, with zlib, struct and numpy only.

A second, independent implementation of the format beside Sources/Checkpoint: it checks what the
document says a reader checks and names the field that is wrong, and writes what the Swift writer
writes (the same bytes, section for section, for the same contents).

    ck = read('checkpoints/vae-mnist.vaeckpt')
    ck.tensors['fc_mu.weight']          # float32 (64, 128)
    ck.training['epoch'], ck.history[-1]
    write(ck, '/tmp/copy.vaeckpt')
"""
import os
import struct
import zlib

import numpy as np

from ._common import (ACTIVATIONS, ACTIVATION_CODES, CheckpointError, Cursor, align16, check_chain, crc32, layer,
                      parse_source, tag_name, tag_value)
from .image import DecoderImage, Int8DecoderImage
from . import priors

MAGIC = b'VAECKPT\0'
MAJOR = 1
MINOR = 2   # 1: the optional 'DEC8' section (an int8 decoder image, docs/quantisation.md); 2: the optional 'PRIO' section (class priors)
# 3: the report's variants (split sampler, batch norm with its 'NORM' section): read here, not written.
MAX_HEADER = 1 << 20
MAX_RAW = 256 << 20
MAX_SECTIONS = 32
DTYPES = {1: ('<f4', 4, 'f32'), 2: ('<f8', 8, 'f64'), 3: ('i1', 1, 'i8'), 4: ('<i4', 4, 'i32')}
DTYPE_CODES = {np.dtype('float32'): 1, np.dtype('float64'): 2, np.dtype('int8'): 3, np.dtype('int32'): 4}
ENC, DEC, OPT, HIST, DEC8, PRIO, NORM = (tag_value(t) for t in ('ENC ', 'DEC ', 'OPT ', 'HIST', 'DEC8', 'PRIO', 'NORM'))
KNOWN_TAGS = {ENC, DEC, OPT, HIST, DEC8, PRIO, NORM}
ENCODER_NAMES = ('lstm.weight_ih_l0', 'lstm.weight_hh_l0', 'lstm.bias_ih_l0', 'lstm.bias_hh_l0',
                 'fc_mu.weight', 'fc_mu.bias', 'fc_logvar.weight', 'fc_logvar.bias')
ARCH_FIELDS = ('image_height', 'image_width', 'encoder_kind', 'lstm_input', 'lstm_hidden', 'sequence_length',
               'lstm_layers', 'head_kind', 'latent', 'view_channels', 'view_height', 'view_width', 'layer_count',
               'normalisation', 'reserved1')
TRAINING_FIELDS = ('epoch', 'steps', 'batch', 'shards', 'lr', 'beta1', 'beta2', 'eps', 'seed', 'rng', 'images_per_epoch')


class Checkpoint:
    """The contents of a checkpoint. `read` fills every field; `write` writes from them:

    arch            dict of the architecture block (ARCH_FIELDS, 'layers': list of layer dicts)
    tensors         name -> numpy array: the model's (model_names(arch)), and 'adam.m.*' / 'adam.v.*'
                    when there is training state
    training        dict (TRAINING_FIELDS) of the OPT block, or None: a file for inference only
    history         float64 (R, 8), or None (written as 0 rows)
    int8_decoder_image  bytes of a DEC8 image, or None
    class_priors    dict(kind='diagonal'|'full', counts, means (K, D), scales (K, S)), or None
    unknown_sections    [UnknownSection]: non-critical sections this reader does not know, kept
                    byte for byte so that a rewrite does not drop them; their tensor entries in
    unknown_tensors     name -> (tag, dtype code, dims, offset, byte length), verbatim
    extra_tensors   name -> (section name, array): tensors the model does not use that live in
                    'ENC ', 'OPT ' or 'HIST' (a later minor version's); written after the known ones
    """

    HISTORY_COLUMNS = ('epoch', 'seconds', 'train_rec', 'train_kl', 'train_total', 'val_rec', 'val_kl', 'val_total')

    def __init__(self):
        self.version = (MAJOR, MINOR)
        self.arch = None
        self.sections = {}          # tag name -> raw (inflated) bytes, known tags only (as read)
        self.tensors = {}
        self.training = None
        self.history = None
        self.decoder_image = None   # bytes of the DEC section (as read)
        self.int8_decoder_image = None
        self.class_priors = None
        self.unknown_sections = []
        self.unknown_tensors = {}
        self.extra_tensors = {}

    def decoder(self):
        """The float32 decoder as a DecoderImage (from the architecture and the tensors)."""
        a = self.arch
        return DecoderImage(a['latent'], (a['view_channels'], a['view_height'], a['view_width']), a['layers'],
                            [self.tensors['convs.%d.weight' % k] for k in range(len(a['layers']))],
                            [self.tensors['convs.%d.bias' % k] for k in range(len(a['layers']))])

    def int8_decoder(self):
        return None if self.int8_decoder_image is None else Int8DecoderImage.from_bytes(self.int8_decoder_image)


class UnknownSection:
    """A section with a tag this reader does not know. Read from a file it holds the stored bytes
    and the table's lengths and CRCs, never inflated (a reader skips what it does not know, as the
    Swift reader does, so a file both accept is written back as it came); made anew it holds
    `raw`, which the writer compresses."""

    def __init__(self, tag, flags=0, raw=None, stored=None, raw_length=None, stored_crc=None, raw_crc=None):
        self.tag = tag_value(tag) if isinstance(tag, str) else tag
        self.flags, self.raw, self.stored = flags, raw, stored
        self.raw_length, self.stored_crc, self.raw_crc = raw_length, stored_crc, raw_crc

    @property
    def name(self):
        return tag_name(self.tag)

    def payload(self):
        """The inflated bytes, with the table's checks."""
        if self.raw is not None:
            return bytes(self.raw)
        return _inflate(self.stored, self.tag, (0, len(self.stored), self.raw_length, self.stored_crc, self.raw_crc))

    def blob(self):
        """(stored bytes, raw length, stored CRC, raw CRC) as the section table records them."""
        if self.stored is not None:
            return bytes(self.stored), self.raw_length, self.stored_crc, self.raw_crc
        z = zlib.compress(bytes(self.raw), 6)
        return z, len(self.raw), crc32(z), crc32(bytes(self.raw))


def architecture(decoder, image_size=None, lstm_hidden=128):
    """The architecture block of the LSTM encoder with this decoder (image rows as LSTM steps)."""
    side = image_size or decoder.output[1]
    return dict(image_height=side, image_width=side, encoder_kind=1, lstm_input=side, lstm_hidden=lstm_hidden,
                sequence_length=side, lstm_layers=1, head_kind=1, latent=decoder.latent, view_channels=decoder.view[0],
                view_height=decoder.view[1], view_width=decoder.view[2], layer_count=len(decoder.layers),
                normalisation=0, reserved1=0, layers=[dict(l) for l in decoder.layers])


def expected_shapes(a):
    """The tensors the model needs (section tag, shape), named as torch_ref.py's state_dict."""
    g, h, x, z = 4 * a['lstm_hidden'], a['lstm_hidden'], a['lstm_input'], a['latent']
    s = {'lstm.weight_ih_l0': (ENC, (g, x)), 'lstm.weight_hh_l0': (ENC, (g, h)),
         'lstm.bias_ih_l0': (ENC, (g,)), 'lstm.bias_hh_l0': (ENC, (g,))}
    if a.get('head_kind', 1) == 1:   # the split sampler (2) has no heads
        s.update({'fc_mu.weight': (ENC, (z, h)), 'fc_mu.bias': (ENC, (z,)),
                  'fc_logvar.weight': (ENC, (z, h)), 'fc_logvar.bias': (ENC, (z,))})
    for k, l in enumerate(a['layers']):
        w, b = (l['in_channels'], l['out_channels'], l['kernel_h'], l['kernel_w']), (l['out_channels'],)
        s['convs.%d.weight' % k], s['convs.%d.bias' % k] = (DEC, w), (DEC, b)   # batch norm: folded in
        if a.get('normalisation', 0) == 1:   # the trainer's tensors (1.8)
            s['unfolded.convs.%d.weight' % k], s['unfolded.convs.%d.bias' % k] = (NORM, w), (NORM, b)
            if k < len(a['layers']) - 1:
                for t in ('weight', 'bias', 'running_mean', 'running_var'):
                    s['bns.%d.%s' % (k, t)] = (NORM, b)
    return s


def model_names(a):
    """The model list of section 1.3, in order (dicts keep expected_shapes' insertion order)."""
    return list(expected_shapes(a))


# ---------------------------------------------------------------------------------------------
# Reading

def read(source):
    """Reads a checkpoint from a path or from bytes; raises CheckpointError naming the file and the field."""
    return parse_source(source, _parse)


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
    stored, computed = struct.unpack_from('<I', b, H - 4)[0], crc32(b[:H - 4])
    if stored != computed:
        raise CheckpointError('header CRC-32', 'stored 0x%08x, computed 0x%08x over bytes [0, %d)' % (stored, computed, H - 4))
    c = Cursor(b, 16, H - 4)
    ck.arch = _architecture(c)
    table = _section_table(c, b, H)
    entries = _tensor_table(c)
    if c.pos != c.end:
        raise CheckpointError('tensor table', 'ends at byte %d; %d bytes follow it before the header CRC' % (c.pos, c.end - c.pos))
    raws = {t: _inflate(b, t, e) for t, e in table.items() if t in KNOWN_TAGS}
    for t, e in table.items():
        if t in KNOWN_TAGS:
            ck.sections[tag_name(t)] = raws[t]
        else:
            ck.unknown_sections.append(UnknownSection(t, e[5], stored=b[e[0]:e[0] + e[1]], raw_length=e[2], stored_crc=e[3],
                                                      raw_crc=e[4]))
    for name, (sec, dtype, dims, off, length) in entries.items():
        if sec not in table:
            raise CheckpointError('tensor %s section tag' % name, "section '%s' is not in the file" % tag_name(sec))
        if off + length > table[sec][2]:
            raise CheckpointError('tensor %s offset/length' % name, 'bytes [%d, %d) lie outside its section (%d bytes)'
                                  % (off, off + length, table[sec][2]))
    _check_model_tensors(ck.arch, entries, 'OPT ' in ck.sections)
    names = set(model_names(ck.arch))
    for name, (sec, dtype, dims, off, length) in entries.items():
        if sec not in KNOWN_TAGS:
            ck.unknown_tensors[name] = (sec, dtype, dims, off, length)
            continue
        a = np.frombuffer(raws[sec], DTYPES[dtype][0], length // DTYPES[dtype][1], off).reshape(dims)
        a = a.astype(a.dtype.newbyteorder('='))
        if name in names or (name.startswith(('adam.m.', 'adam.v.')) and name[7:] in names):
            ck.tensors[name] = a
        elif sec in (ENC, OPT, HIST):
            ck.extra_tensors[name] = (tag_name(sec), a)
        # others (inside DEC, DEC8 or PRIO) lie in bytes those payloads define; a rewrite makes them anew
    for name in names:
        if not np.isfinite(ck.tensors[name]).all():
            raise CheckpointError('tensor %s' % name, 'a weight is NaN or infinite')
    ck.decoder_image = ck.sections['DEC ']
    _check_decoder_image(ck, entries)
    if 'DEC8' in ck.sections:
        ck.int8_decoder_image = ck.sections['DEC8']
        _check_int8_image(ck)
    if 'PRIO' in ck.sections:
        ck.class_priors = priors.decode_block(ck.sections['PRIO'], ck.arch['latent'])
    if 'OPT ' in ck.sections:
        ck.training = _training(ck.sections['OPT '])
        for name, e in entries.items():
            if name.startswith(('adam.m.', 'adam.v.')) and name[7:] in names and e[3] < ck.training['block_length']:
                raise CheckpointError('tensor %s offset' % name, '%d lies inside the %d-byte training block'
                                      % (e[3], ck.training['block_length']))
    if 'HIST' in ck.sections:
        ck.history = _history(ck.sections['HIST'])
    return ck


def _architecture(c):
    start = c.pos
    length = c.take('I', 'architecture block length')
    if length < 64:
        raise CheckpointError('architecture block length', '%d; must be at least 64' % length)
    a = {n: c.take('I', 'architecture ' + n) for n in ARCH_FIELDS}
    L = a['layer_count']
    if not 1 <= L <= 16:
        raise CheckpointError('architecture layer_count', '%d; must be 1 ... 16' % L)
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
        layers.append(layer(cin, cout, kh, kw, stride, pad, ACTIVATIONS[act], param))
    if length < 64 + 36 * L:
        raise CheckpointError('architecture block length', '%d; shorter than its layers (%d need %d)' % (length, L, 64 + 36 * L))
    c.pos = start + length   # a longer block (a later minor version) carries fields this reader skips
    a['layers'] = layers
    if a['view_channels'] * a['view_height'] * a['view_width'] != a['latent']:
        raise CheckpointError('architecture view', '%d x %d x %d is not the latent dimension %d'
                              % (a['view_channels'], a['view_height'], a['view_width'], a['latent']))
    out = check_chain((a['view_channels'], a['view_height'], a['view_width']), layers, 'architecture ')
    if out != (1, a['image_height'], a['image_width']):
        raise CheckpointError('architecture layers', 'the decoder ends at %d x %d x %d, not 1 x %d x %d'
                              % (out + (a['image_height'], a['image_width'])))
    return a


def _section_table(c, b, H):
    """In the document's check order: bounds and cap per entry, unknown critical tags, overlaps,
    duplicate tags, missing ENC/DEC (so that a broken file gets the error the Swift reader gives)."""
    n = c.take('I', 'section count')
    if not 1 <= n <= MAX_SECTIONS:
        raise CheckpointError('section count', '%d; must be 1 ... %d' % (n, MAX_SECTIONS))
    rows = []
    for i in range(n):
        tag, flags, off, stored, raw, scrc, rcrc = c.take('IIQQQII', 'section table entry %d' % i)
        name = "section '%s'" % tag_name(tag)
        if off < H:
            raise CheckpointError(name + ' offset', '%d lies inside the header (H = %d)' % (off, H))
        if off + stored > len(b):
            raise CheckpointError(name + ' stored length', 'bytes [%d, %d) run past the end of the file (%d bytes; truncated?)'
                                  % (off, off + stored, len(b)))
        if raw > MAX_RAW:
            raise CheckpointError(name + ' raw length', '%d; at most %d' % (raw, MAX_RAW))
        rows.append((tag, (off, stored, raw, scrc, rcrc, flags)))
    for tag, e in rows:
        if tag not in KNOWN_TAGS and e[5] & 1:
            raise CheckpointError("section '%s' flags" % tag_name(tag), 'critical, and this reader does not know the tag')
    spans = sorted((e[0], e[0] + e[1], t) for t, e in rows if e[1] > 0)
    for (a0, a1, ta), (b0, b1, tb) in zip(spans, spans[1:]):
        if b0 < a1:
            raise CheckpointError("section '%s' offset" % tag_name(tb), "overlaps section '%s'" % tag_name(ta))
    table = {}
    for tag, e in rows:
        if tag in table:
            raise CheckpointError("section '%s' tag" % tag_name(tag), 'a section tag appears twice in the section table')
        table[tag] = e
    for t in (ENC, DEC):
        if t not in table:
            raise CheckpointError("section '%s'" % tag_name(t), 'missing; every checkpoint has it')
    return table


def _inflate(b, tag, entry):
    off, stored, raw, scrc, rcrc = entry[:5]
    name = "section '%s'" % tag_name(tag)
    data = b[off:off + stored]
    if crc32(data) != scrc:
        raise CheckpointError(name + ' stored CRC-32', 'stored 0x%08x, computed 0x%08x' % (scrc, crc32(data)))
    d = zlib.decompressobj()
    try:
        out = d.decompress(data, raw + 1)
    except zlib.error as e:
        raise CheckpointError(name + ' zlib stream', 'corrupt (%s)' % e)
    if len(out) != raw or not d.eof:
        raise CheckpointError(name + ' raw length', 'the table says %d bytes; the stream inflates to %s'
                              % (raw, len(out) if d.eof else 'more' if len(out) > raw else '%d (unfinished)' % len(out)))
    if crc32(out) != rcrc:
        raise CheckpointError(name + ' raw CRC-32', 'stored 0x%08x, computed 0x%08x' % (rcrc, crc32(out)))
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


def _check_model_tensors(a, entries, has_opt):
    """Present, f32, in their section, of the implied shape; the ones a reader uses aligned and disjoint."""
    used = []
    for name, (sec, shape) in expected_shapes(a).items():
        # Batch norm (1.8): the unfolded convolutions' moments are adam.*.convs.K.*, and the
        # running statistics are not trained, so neither has moments of its own.
        moments = has_opt and not name.startswith('unfolded.') and not name.endswith(('running_mean', 'running_var'))
        for n, want in [(name, sec)] + ([('adam.m.' + name, OPT), ('adam.v.' + name, OPT)] if moments else []):
            if n not in entries:
                raise CheckpointError('tensor %s' % n, 'missing from the tensor table')
            e = entries[n]
            if e[0] != want:
                raise CheckpointError('tensor %s section tag' % n, "'%s'; expected '%s'" % (tag_name(e[0]), tag_name(want)))
            if e[1] != 1:
                raise CheckpointError('tensor %s dtype' % n, '%d; model tensors are 1 (f32)' % e[1])
            if e[2] != shape:
                raise CheckpointError('tensor %s dimensions' % n, '%s; the architecture block implies %s' % (list(e[2]), list(shape)))
            if e[3] % 16:
                raise CheckpointError('tensor %s offset' % n, '%d; not a multiple of 16' % e[3])
            used.append((e[0], e[3], e[3] + e[4], n))
    used.sort()
    for (sa, a0, a1, na), (sb, b0, b1, nb) in zip(used, used[1:]):
        if sa == sb and b0 < a1:
            raise CheckpointError('tensor %s offset' % nb, "overlaps tensor %s in section '%s'" % (na, tag_name(sa)))


def _check_decoder_image(ck, entries):
    f = "decoder image (section 'DEC ') "
    d = DecoderImage.from_bytes(ck.decoder_image, f)
    a = ck.arch
    if d.latent != a['latent'] or d.view != (a['view_channels'], a['view_height'], a['view_width']):
        raise CheckpointError(f + 'latent/view', "%d, %s; the architecture block has %d, %s"
                              % (d.latent, d.view, a['latent'], (a['view_channels'], a['view_height'], a['view_width'])))
    if len(d.layers) != len(a['layers']):
        raise CheckpointError(f + 'layer count', '%d; the architecture block has %d' % (len(d.layers), len(a['layers'])))
    for k, (l, m) in enumerate(zip(d.layers, a['layers'])):
        if l != m:
            raise CheckpointError(f + 'layer %d' % k, '%s; the architecture block has %s' % (l, m))
    for k, (wo, bo) in enumerate(struct.unpack_from('<II', ck.decoder_image, 64 + 48 * k + 36) for k in range(len(d.layers))):
        for name, off in (('convs.%d.weight' % k, wo), ('convs.%d.bias' % k, bo)):
            if entries[name][3] != off:
                raise CheckpointError('tensor %s offset' % name, '%d; the decoder image puts it at %d' % (entries[name][3], off))


def _check_int8_image(ck):
    """The int8 image's header, records and integers (docs/quantisation.md section 2), and that its
    layers are the architecture block's (kind, channels, kernel, stride, padding, activation, slope)."""
    f = "int8 decoder image (section 'DEC8') "
    d = Int8DecoderImage.from_bytes(ck.int8_decoder_image, f)
    a = ck.arch
    if (d.latent,) + d.view != (a['latent'], a['view_channels'], a['view_height'], a['view_width']):
        raise CheckpointError(f + 'latent/view', '%d, %d x %d x %d; the architecture block has %d, %d x %d x %d'
                              % ((d.latent,) + d.view + (a['latent'], a['view_channels'], a['view_height'], a['view_width'])))
    if len(d.layers) != len(a['layers']):
        raise CheckpointError(f + 'layer count', '%d; the architecture block has %d' % (len(d.layers), len(a['layers'])))
    for k, (l, m) in enumerate(zip(d.layers, a['layers'])):
        if any(l[key] != m[key] for key in m):
            raise CheckpointError(f + 'layer %d record' % k, 'does not match the architecture block')


def _training(raw):
    f = "training state (section 'OPT ') "
    if len(raw) < 128:
        raise CheckpointError(f + 'block length', 'the section is %d bytes; the block alone is 128' % len(raw))
    (length, epoch, steps, batch, shards, lr, b1, b2, eps, seed, r0, r1, r2, r3,
     images) = struct.unpack_from('<IIQIIddddQQQQQQ', raw, 0)
    if not 128 <= length <= len(raw):
        raise CheckpointError(f + 'block length', '%d; must be at least 128 and at most the %d-byte payload' % (length, len(raw)))
    if images > 1 << 30:
        raise CheckpointError(f + 'images per epoch', '%d; at most 2^30' % images)
    return dict(epoch=epoch, steps=steps, batch=batch, shards=shards, lr=lr, beta1=b1, beta2=b2, eps=eps, seed=seed,
                rng=(r0, r1, r2, r3), images_per_epoch=images, block_length=length)


def _history(raw):
    f = "history (section 'HIST') "
    if len(raw) < 8:
        raise CheckpointError(f + 'row count', 'the section is %d bytes; the counts alone are 8' % len(raw))
    rows, cols = struct.unpack_from('<II', raw, 0)
    if rows > 100000:
        raise CheckpointError(f + 'row count', '%d; at most 100000' % rows)
    if not 8 <= cols <= 64:
        raise CheckpointError(f + 'column count', '%d; must be 8 ... 64 (a reader keeps the first 8)' % cols)
    if len(raw) < 8 + rows * cols * 8:
        raise CheckpointError(f + 'row count', '%d rows of %d need %d bytes; the section is %d'
                              % (rows, cols, 8 + rows * cols * 8, len(raw)))
    return np.frombuffer(raw, '<f8', rows * cols, 8).reshape(rows, cols)[:, :8].astype(float)


# ---------------------------------------------------------------------------------------------
# Writing

def _f32(name, v):
    a = np.asarray(v)
    if a.dtype != np.float32:
        if not np.issubdtype(a.dtype, np.floating):
            raise CheckpointError('tensor %s dtype' % name, '%s; model tensors are float32' % a.dtype)
        a = a.astype(np.float32)
    return np.ascontiguousarray(a)


def encode(ck):
    """The file's bytes: the Swift CheckpointWriter's layout (section 1.3's tensor table, payloads
    back to back from H in table order), then read back with every check, so that nothing this
    writes is refused by a reader."""
    a = ck.arch
    if a.get('head_kind', 1) != 1 or a.get('normalisation', 0) != 0:
        raise CheckpointError('architecture', 'a split-sampler or batch-norm checkpoint (minor 3): vaebridge reads '
                              'these but does not write them yet; vae-train does')
    check_chain((a['view_channels'], a['view_height'], a['view_width']), a['layers'], 'architecture ')
    shapes = expected_shapes(a)
    table = []   # (name, tag, dtype code, dims, offset, byte length)

    def tensor(name, want_shape=None):
        if name not in ck.tensors:
            raise CheckpointError('tensor %s' % name, 'missing from the contents to write')
        v = _f32(name, ck.tensors[name])
        if want_shape is not None and v.shape != want_shape:
            raise CheckpointError('tensor %s dimensions' % name, '%s; the architecture block implies %s' % (list(v.shape), list(want_shape)))
        if not np.isfinite(v).all():
            raise CheckpointError('tensor %s' % name, 'a weight is NaN or infinite')
        return v

    def pack(buf, tag, items):
        for name, v in items:
            buf.extend(bytes(align16(len(buf)) - len(buf)))
            dtype = DTYPE_CODES.get(v.dtype)
            if dtype is None or not 1 <= v.ndim <= 4:
                raise CheckpointError('tensor %s' % name, '%s of rank %d; the format has f32, f64, i8, i32 of rank 1 ... 4' % (v.dtype, v.ndim))
            table.append((name, tag, dtype, v.shape, len(buf), v.nbytes))
            buf.extend(v.astype(v.dtype.newbyteorder('<')).tobytes())

    def extras(tag):
        out = []
        for name, (sec, v) in ck.extra_tensors.items():
            if sec not in ('ENC ', 'OPT ', 'HIST'):
                raise CheckpointError('tensor %s section tag' % name, "'%s'; extra tensors can live in 'ENC ', 'OPT ' or 'HIST' "
                                      '(the other payloads are exactly what they define)' % sec)
            if tag_value(sec) == tag:
                out.append((name, np.ascontiguousarray(v)))
        return out

    enc = bytearray()
    pack(enc, ENC, [(n, tensor(n, shapes[n][1])) for n in ENCODER_NAMES] + extras(ENC))
    dec = DecoderImage(a['latent'], (a['view_channels'], a['view_height'], a['view_width']), a['layers'],
                       [tensor('convs.%d.weight' % k, shapes['convs.%d.weight' % k][1]) for k in range(len(a['layers']))],
                       [tensor('convs.%d.bias' % k, shapes['convs.%d.bias' % k][1]) for k in range(len(a['layers']))])
    enc_entries = list(table)
    del table[:]
    for k, (wo, bo) in enumerate(dec.offsets()):
        for suffix, off in (('weight', wo), ('bias', bo)):
            n = 'convs.%d.%s' % (k, suffix)
            table.append((n, DEC, 1, shapes[n][1], off, int(np.prod(shapes[n][1])) * 4))
    table[:0] = enc_entries
    sections = [(ENC, 1, bytes(enc)), (DEC, 1, dec.to_bytes())]
    if ck.training is not None:
        t = ck.training
        missing = [k for k in TRAINING_FIELDS if k not in t]
        if missing:
            raise CheckpointError("training state (section 'OPT ') %s" % missing[0], 'missing from the contents to write')
        opt = bytearray(struct.pack('<IIQIIddddQ4QQ', 128, t['epoch'], t['steps'], t['batch'], t['shards'], t['lr'], t['beta1'],
                                    t['beta2'], t['eps'], t['seed'], *t['rng'], t['images_per_epoch']))
        opt.extend(bytes(128 - len(opt)))
        pack(opt, OPT, [(p + n, tensor(p + n, shapes[n][1])) for p in ('adam.m.', 'adam.v.') for n in shapes] + extras(OPT))
        sections.append((OPT, 0, bytes(opt)))
    h = np.zeros((0, 8)) if ck.history is None else np.asarray(ck.history, dtype='<f8')
    if h.ndim != 2 or h.shape[1] < 8:
        raise CheckpointError("history (section 'HIST') column count", 'shape %s; rows of at least 8 values' % (h.shape,))
    hist = bytearray(struct.pack('<II', len(h), 8) + np.ascontiguousarray(h[:, :8], dtype='<f8').tobytes())
    pack(hist, HIST, extras(HIST))
    sections.append((HIST, 0, bytes(hist)))
    if ck.int8_decoder_image is not None:
        sections.append((DEC8, 0, bytes(ck.int8_decoder_image)))
    if ck.class_priors is not None:
        sections.append((PRIO, 0, priors.encode_block(ck.class_priors, a['latent'])))
    # level 6: Sources/Checkpoint Zlib.compress, so that the same payload gives the same bytes
    blobs = [(tag, flags) + UnknownSection(tag, flags, raw=raw).blob() for tag, flags, raw in sections]
    for u in ck.unknown_sections:
        if u.tag in KNOWN_TAGS or u.flags & 1:
            raise CheckpointError("section '%s' flags" % u.name, 'only unknown non-critical sections are carried over')
        blobs.append((u.tag, u.flags) + u.blob())
    for name, (sec, dtype, dims, off, length) in ck.unknown_tensors.items():
        table.append((name, sec, dtype, dims, off, length))

    def header(offsets):
        h = bytearray(MAGIC + struct.pack('<HHI', MAJOR, MINOR, 0))
        h += struct.pack('<16I', 64 + 36 * len(a['layers']), *[len(a['layers']) if n == 'layer_count' else
                                                                   0 if n.startswith('reserved') else a[n] for n in ARCH_FIELDS])
        for l in a['layers']:
            h += struct.pack('<8If', 1, l['in_channels'], l['out_channels'], l['kernel_h'], l['kernel_w'], l['stride'],
                             l['padding'], ACTIVATION_CODES[l['activation']], l['activation_param'])
        h += struct.pack('<I', len(blobs))
        for (tag, flags, z, raw_length, scrc, rcrc), off in zip(blobs, offsets):
            h += struct.pack('<IIQQQII', tag, flags, off, len(z), raw_length, scrc, rcrc)
        h += struct.pack('<I', len(table))
        for name, tag, dtype, dims, off, length in table:
            nb = name.encode('utf-8')
            if not 1 <= len(nb) <= 128:
                raise CheckpointError('tensor %s name length' % name, '%d bytes; must be 1 ... 128' % len(nb))
            h += struct.pack('<IBBH', tag, dtype, len(dims), len(nb)) + nb + struct.pack('<%dI' % len(dims), *dims)
            h += struct.pack('<QQ', off, length)
        struct.pack_into('<I', h, 12, len(h) + 4)
        return bytes(h + struct.pack('<I', crc32(bytes(h))))

    H = len(header([0] * len(blobs)))
    offsets = [H + sum(len(bl[2]) for bl in blobs[:i]) for i in range(len(blobs))]
    out = header(offsets) + b''.join(bl[2] for bl in blobs)
    _parse(out)
    return out


def atomic_write(path, data):
    """Section 1.6: `.NAME.tmp-PID` beside it, fsync, rename over NAME, fsync the folder."""
    path = str(path)
    d, base = os.path.split(os.path.abspath(path))
    tmp = os.path.join(d, '.%s.tmp-%d' % (base, os.getpid()))
    try:
        with open(tmp, 'wb') as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    fd = os.open(d, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write(ck, path):
    atomic_write(path, encode(ck))
