"""What the checkpoint and the decoder image share: the error, CRC-32, tags, the layer chain."""
import math
import struct
import zlib

ACTIVATIONS = {0: 'none', 1: 'relu', 2: 'leaky_relu', 3: 'sigmoid'}
ACTIVATION_CODES = {v: k for k, v in ACTIVATIONS.items()}
MAX_LAYERS = 16


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


def runtime_limits(view, layers):
    """Why the decoder runtime v1 (Swift, C, firmware) would refuse this stack, or None. The format
    describes strides, padding and oblong kernels; the runtime executes square stride-1 unpadded
    layers on a square view ending in a sigmoid (Sources/Checkpoint ModelConfig.validate)."""
    if view[1] != view[2]:
        return 'the view %d x %d is not square' % (view[1], view[2])
    for i, l in enumerate(layers):
        if l['stride'] != 1 or l['padding'] != 0 or l['kernel_h'] != l['kernel_w']:
            return 'layer %d has stride %d, padding %d, kernel %d x %d (the runtime runs stride 1, padding 0, square kernels)' % (
                i, l['stride'], l['padding'], l['kernel_h'], l['kernel_w'])
    if layers[-1]['activation'] != 'sigmoid':
        return 'the last layer ends in %s, not sigmoid' % layers[-1]['activation']
    return None


def align16(n):
    return (n + 15) & ~15
