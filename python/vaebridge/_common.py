"""What the checkpoint and the decoder image share: the error, CRC-32, tags, the layer chain."""
import math
import struct
import zlib

ACTIVATIONS = {0: 'none', 1: 'relu', 2: 'leaky_relu', 3: 'sigmoid'}
ACTIVATION_CODES = {v: k for k, v in ACTIVATIONS.items()}
MAX_LAYERS = 16

# The decoder image's layout (docs/checkpoint-format.md section 2, docs/quantisation.md section 2),
# here so that image.py and priors.py (which image.py imports) share one copy.
HEADER_BYTES = 64
WEIGHT_FLOAT32, WEIGHT_INT8 = 1, 2
RECORD_BYTES_FOR = {WEIGHT_FLOAT32: 48, WEIGHT_INT8: 64}   # weight type -> layer record size


class CheckpointError(ValueError):
    """A file that breaks docs/checkpoint-format.md (or an input that would make one). `field`
    names what is wrong as the document names it, `path` the file when there is one."""

    def __init__(self, field, problem, path=None):
        self.field, self.problem, self.path = field, problem, path
        super().__init__('%s%s: %s' % ('%s: ' % path if path else '', field, problem))

    def at(self, path):
        """The same error, naming the file (raised where the bytes were parsed without it)."""
        return CheckpointError(self.field, self.problem, path) if path and not self.path else self


FormatError = CheckpointError


def load(source):
    """(bytes, path) of a path or of bytes (path None)."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        return bytes(source), None
    path = str(source)
    with open(path, 'rb') as f:
        return f.read(), path


def parse_source(source, parse):
    """parse(bytes) of a path or of bytes, its errors naming the file when there is one (the
    parsers see bytes only, so that a section inside a checkpoint is checked like a file)."""
    b, path = load(source)
    try:
        return parse(b)
    except CheckpointError as e:
        raise e.at(path) from None


def crc32(b):
    return zlib.crc32(b) & 0xFFFFFFFF


def tag_value(name):
    return struct.unpack('<I', name.encode('ascii'))[0]


def tag_name(value):
    return struct.pack('<I', value).decode('ascii', 'replace')


class Cursor:
    """Little-endian fields of a byte range, refusing to read past its end."""

    def __init__(self, b, pos, end, where='the header'):
        self.b, self.pos, self.end, self.where = b, pos, end, where

    def take(self, fmt, field):
        n = struct.calcsize('<' + fmt)
        if self.pos + n > self.end:
            raise CheckpointError(field, 'runs past the end of %s (byte %d of %d)' % (self.where, self.pos + n, self.end))
        v = struct.unpack_from('<' + fmt, self.b, self.pos)
        self.pos += n
        return v if len(v) > 1 else v[0]


def layer(in_channels, out_channels, kernel_h, kernel_w=None, stride=1, padding=0, activation='leaky_relu',
          activation_param=None):
    """One ConvTranspose2d record as the readers return it (a dict, so it prints and compares plainly)."""
    if activation not in ACTIVATION_CODES:
        raise CheckpointError('activation', '%r; defined are %s' % (activation, ', '.join(ACTIVATION_CODES)))
    if activation_param is None:
        activation_param = 0.01 if activation == 'leaky_relu' else 0.0
    return dict(in_channels=int(in_channels), out_channels=int(out_channels), kernel_h=int(kernel_h),
                kernel_w=int(kernel_h if kernel_w is None else kernel_w), stride=int(stride), padding=int(padding),
                activation=activation, activation_param=float(struct.unpack('<f', struct.pack('<f', activation_param))[0]))


def check_chain(view, layers, where):
    """The chain rule of section 1.1 from the view (c, h, w); returns the output (c, h, w)."""
    if not 1 <= len(layers) <= MAX_LAYERS:
        raise CheckpointError(where + 'layer count', '%d; must be 1 ... %d' % (len(layers), MAX_LAYERS))
    ch, h, w = view
    for i, l in enumerate(layers):
        f = where + 'layer %d ' % i
        if l['in_channels'] != ch:
            raise CheckpointError(f + 'in_channels', '%d; the layer before gives %d' % (l['in_channels'], ch))
        for k in ('out_channels', 'kernel_h', 'kernel_w', 'stride'):
            if l[k] < 1:
                raise CheckpointError(f + k, '%d; must be at least 1' % l[k])
        if not math.isfinite(l['activation_param']):
            raise CheckpointError(f + 'activation parameter', '%r; must be finite' % l['activation_param'])
        h = (h - 1) * l['stride'] - 2 * l['padding'] + l['kernel_h']
        w = (w - 1) * l['stride'] - 2 * l['padding'] + l['kernel_w']
        if h < 1 or w < 1:
            raise CheckpointError(f.rstrip(), 'output would be %d x %d' % (h, w))
        ch = l['out_channels']
    return ch, h, w


# The decoder runtime's capacity (Sources/VAEDecoder/DecoderModel.swift, enum Capacity).
RUNTIME_CAPACITY = dict(layers=8, channels=64, kernel=16, latent=1024, activation=8192, side=32)


def runtime_limits(view, layers):
    """Why the decoder runtime v1 (vae-gen, the C interface, the firmware) would refuse this stack,
    or None. The format describes strides, padding, oblong kernels and 16 layers; the runtime runs
    square stride-1 unpadded layers on a square view, ending in a sigmoid, within its capacity."""
    cap = RUNTIME_CAPACITY
    if view[1] != view[2]:
        return 'the view %d x %d is not square' % (view[1], view[2])
    if len(layers) > cap['layers']:
        return '%d layers; the runtime holds %d' % (len(layers), cap['layers'])
    if view[0] * view[1] * view[2] > cap['latent'] or view[0] > cap['channels'] or view[1] > cap['side']:
        return 'the view %d x %d x %d is over the runtime\'s capacity (latent %d, %d channels, side %d)' % (
            view + (cap['latent'], cap['channels'], cap['side']))
    side = view[1]
    for i, l in enumerate(layers):
        if l['stride'] != 1 or l['padding'] != 0 or l['kernel_h'] != l['kernel_w']:
            return 'layer %d has stride %d, padding %d, kernel %d x %d (the runtime runs stride 1, padding 0, square kernels)' % (
                i, l['stride'], l['padding'], l['kernel_h'], l['kernel_w'])
        side += l['kernel_h'] - 1
        if l['kernel_h'] > cap['kernel'] or l['out_channels'] > cap['channels'] or side > cap['side'] \
                or l['out_channels'] * side * side > cap['activation']:
            return 'layer %d (%d channels, kernel %d, output side %d) is over the runtime\'s capacity (%d channels, kernel %d, ' \
                'side %d, %d floats per activation)' % (i, l['out_channels'], l['kernel_h'], side, cap['channels'], cap['kernel'],
                                                        cap['side'], cap['activation'])
    if layers[-1]['activation'] != 'sigmoid':
        return 'the last layer ends in %s, not sigmoid' % layers[-1]['activation']
    return None


def align16(n):
    return (n + 15) & ~15
