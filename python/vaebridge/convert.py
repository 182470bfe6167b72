"""From a PyTorch state_dict of this model family (scripts/torch_ref.py: `lstm.*`, `fc_mu.*`,
`fc_logvar.*`, `convs.K.*`) to a checkpoint or a decoder image, and reading the state_dict from a
`torch.save` file or an `.npz` without torch.

The tensors give channels and kernels; they do not give strides, padding or activations. Those
are torch_ref's (stride 1, padding 0, LeakyReLU(0.01) between layers, sigmoid last) unless given:
the view's height and width are then solved backwards from the image size.
"""
import io
import pickle
import re
import zipfile

import numpy as np

from ._common import CheckpointError, layer, runtime_limits
from .checkpoint import ENCODER_NAMES, Checkpoint, architecture, expected_shapes
from .image import DecoderImage

_CONV = re.compile(r'^convs\.(\d+)\.(weight|bias)$')


def _numpy(name, v):
    if hasattr(v, 'detach'):            # a torch.Tensor, without importing torch
        v = v.detach().cpu().numpy()
    a = np.asarray(v)
    if not np.issubdtype(a.dtype, np.floating):
        raise CheckpointError('tensor %s dtype' % name, '%s; weights are floating point' % a.dtype)
    return a.astype(np.float32)


def normalise(state_dict):
    """Names without a wrapper's prefix ('module.', 'vae.', ...: whatever stands before
    'convs.0.weight'), values as float32 numpy arrays."""
    keys = list(state_dict)
    heads = [k[:-len('convs.0.weight')] for k in keys if k.endswith('convs.0.weight')]
    if not heads:
        raise CheckpointError('tensor convs.0.weight', 'missing: no key ends in convs.0.weight (keys: %s)'
                              % ', '.join(keys[:12]) + (' ...' if len(keys) > 12 else ''))
    if len(heads) > 1:
        raise CheckpointError('tensor convs.0.weight', 'found under several prefixes: %s' % ', '.join(repr(h) for h in heads))
    p = heads[0]
    return {k[len(p):]: _numpy(k, v) for k, v in state_dict.items() if k.startswith(p)}


def parse_activation(spec):
    """'leaky_relu:0.2', 'leaky_relu' (slope 0.01), 'relu', 'none', 'sigmoid' -> (name, parameter)."""
    name, _, param = str(spec).partition(':')
    name = name.strip().lower().replace('-', '_')
    name = {'leakyrelu': 'leaky_relu', 'identity': 'none', 'linear': 'none'}.get(name, name)
    if name not in ('none', 'relu', 'leaky_relu', 'sigmoid'):
        raise CheckpointError('activation', '%r; one of none, relu, leaky_relu[:SLOPE], sigmoid' % spec)
    if param and name != 'leaky_relu':
        raise CheckpointError('activation', '%r; only leaky_relu takes a parameter' % spec)
    try:
        return name, float(param) if param else (0.01 if name == 'leaky_relu' else 0.0)
    except ValueError:
        raise CheckpointError('activation', '%r; the slope is not a number' % spec) from None


def decoder_from_state_dict(state_dict, activation='leaky_relu:0.01', last_activation='sigmoid', activations=None,
                            strides=None, paddings=None, image_size=28, view=None):
    """The decoder as a DecoderImage. `activations` (one spec per layer) overrides `activation` for
    the hidden layers and `last_activation` for the last; `strides` / `paddings` are per layer
    (default 1 / 0); `view` (c, h, w) is solved from `image_size` when not given."""
    sd = normalise(state_dict)
    convs = {}
    for k, v in sd.items():
        m = _CONV.match(k)
        if m:
            convs.setdefault(int(m.group(1)), {})[m.group(2)] = v
    L = len(convs)
    if sorted(convs) != list(range(L)):
        raise CheckpointError('tensor convs.%d.weight' % next(i for i in range(L + 1) if i not in convs),
                              'missing: the layers are %s' % sorted(convs))
    if not 1 <= L <= 16:
        raise CheckpointError('decoder layer count', '%d; the format has 1 ... 16' % L)
    acts = list(activations) if activations is not None else [activation] * (L - 1) + [last_activation]
    strides = list(strides) if strides is not None else [1] * L
    paddings = list(paddings) if paddings is not None else [0] * L
    for what, v in (('activations', acts), ('strides', strides), ('paddings', paddings)):
        if len(v) != L:
            raise CheckpointError(what, '%d given for %d layers' % (len(v), L))
    layers, weights, biases = [], [], []
    for k in range(L):
        w = convs[k].get('weight')
        if w is None or w.ndim != 4:
            raise CheckpointError('tensor convs.%d.weight' % k, 'missing' if w is None else
                                  'shape %s; a ConvTranspose2d weight is [in, out, kh, kw]' % list(w.shape))
        b = convs[k].get('bias', np.zeros(w.shape[1], np.float32))   # ConvTranspose2d(bias=False)
        if b.shape != (w.shape[1],):
            raise CheckpointError('tensor convs.%d.bias' % k, 'shape %s; the weight has %d output channels' % (list(b.shape), w.shape[1]))
        act, param = parse_activation(acts[k])
        layers.append(layer(w.shape[0], w.shape[1], w.shape[2], w.shape[3], strides[k], paddings[k], act, param))
        weights.append(w)
        biases.append(b)
    if view is None:
        h, w = image_size, image_size
        for k in reversed(range(L)):
            l = layers[k]
            nh, nw = h + 2 * l['padding'] - l['kernel_h'], w + 2 * l['padding'] - l['kernel_w']
            if nh < 0 or nw < 0 or nh % l['stride'] or nw % l['stride']:
                raise CheckpointError('decoder layer %d' % k, 'no input size gives %d x %d with kernel %d x %d, stride %d, padding %d'
                                      % (h, w, l['kernel_h'], l['kernel_w'], l['stride'], l['padding']))
            h, w = nh // l['stride'] + 1, nw // l['stride'] + 1
        view = (layers[0]['in_channels'], h, w)
    view = tuple(int(v) for v in view)
    return DecoderImage(view[0] * view[1] * view[2], view, layers, weights, biases)


def from_state_dict(state_dict, encoder='require', lstm_hidden=None, training=None, history=None, **decoder_options):
    """A Checkpoint (for inference: no optimiser state unless `training` is given with 'adam.*'
    tensors in the state_dict) of the state_dict's model. The decoder as decoder_from_state_dict
    makes it (`decoder_options` go there). `encoder='zeros'` writes an all-zero encoder when the
    state_dict has none (a decoder trained on its own): vae-gen samples from it, reconstruct does not."""
    sd = normalise(state_dict)
    dec = decoder_from_state_dict(sd, **decoder_options)
    have = [n for n in ENCODER_NAMES if n in sd]
    if lstm_hidden is None:
        lstm_hidden = sd['lstm.weight_hh_l0'].shape[1] if 'lstm.weight_hh_l0' in sd else 128
    a = architecture(dec, lstm_hidden=lstm_hidden)
    shapes = expected_shapes(a)
    ck = Checkpoint()
    ck.arch = a
    if len(have) < len(ENCODER_NAMES):
        if encoder != 'zeros' or have:
            missing = next(n for n in ENCODER_NAMES if n not in sd)
            raise CheckpointError('tensor %s' % missing, 'missing from the state_dict%s' % (
                '' if have else "; for a decoder on its own write a decoder image, or pass encoder='zeros' (--zero-encoder)"))
        for n in ENCODER_NAMES:
            sd[n] = np.zeros(shapes[n][1], np.float32)
    if a['lstm_input'] != sd['lstm.weight_ih_l0'].shape[-1]:
        raise CheckpointError('tensor lstm.weight_ih_l0 dimensions', '%s; the LSTM reads rows of %d pixels (the decoder makes %d x %d images)'
                              % (list(sd['lstm.weight_ih_l0'].shape), a['lstm_input'], a['image_height'], a['image_width']))
    names = list(shapes) + (['adam.%s.%s' % (mv, n) for mv in 'mv' for n in shapes] if training is not None else [])
    for n in names:
        if n not in sd:
            raise CheckpointError('tensor %s' % n, 'missing from the state_dict')
        if sd[n].shape != shapes[n.split('.', 2)[-1] if n.startswith('adam.') else n][1]:
            raise CheckpointError('tensor %s dimensions' % n, '%s; the architecture implies %s'
                                  % (list(sd[n].shape), list(shapes[n.split('.', 2)[-1] if n.startswith('adam.') else n][1])))
        ck.tensors[n] = sd[n]
    ck.training, ck.history = training, history
    return ck


# ---------------------------------------------------------------------------------------------
# Reading torch.save files without torch

_STORAGES = {'FloatStorage': '<f4', 'DoubleStorage': '<f8', 'HalfStorage': '<f2', 'BFloat16Storage': 'bfloat16',
             'LongStorage': '<i8', 'IntStorage': '<i4', 'ShortStorage': '<i2', 'CharStorage': 'i1', 'ByteStorage': 'u1',
             'BoolStorage': '?'}


class _StorageType:
    def __init__(self, name):
        self.name = name


def _rebuild_tensor(storage, offset, size, stride, *rest):
    if len(size) == 0:
        return storage[offset:offset + 1].reshape(()).copy()
    if any(s == 0 for s in size):
        return np.zeros(size, storage.dtype)
    return np.lib.stride_tricks.as_strided(storage[offset:], shape=tuple(size),
                                           strides=tuple(s * storage.itemsize for s in stride)).copy()


def _rebuild_parameter(data, requires_grad=False, hooks=None, *rest):
    return data


class _Unpickler(pickle.Unpickler):
    """Only the globals a state_dict pickle uses; any other is refused (a pickle can run code)."""

    def __init__(self, f, archive, prefix, path):
        super().__init__(f)
        self.archive, self.prefix, self.path = archive, prefix, path

    def find_class(self, module, name):
        if (module, name) == ('collections', 'OrderedDict'):
            import collections
            return collections.OrderedDict
        if module == 'torch._utils' and name in ('_rebuild_tensor_v2', '_rebuild_tensor'):
            return _rebuild_tensor
        if module == 'torch._utils' and name == '_rebuild_parameter':
            return _rebuild_parameter
        if module == 'torch' and name in _STORAGES:
            return _StorageType(name)
        raise CheckpointError('pickle global %s.%s' % (module, name), 'not part of a state_dict of tensors; refused (a pickle can run code)',
                              self.path)

    def persistent_load(self, pid):
        if not (isinstance(pid, tuple) and len(pid) >= 5 and pid[0] == 'storage' and isinstance(pid[1], _StorageType)):
            raise CheckpointError('pickle persistent id', '%r is not a tensor storage' % (pid,), self.path)
        kind, key = pid[1].name, pid[2]
        try:
            data = self.archive.read('%sdata/%s' % (self.prefix, key))
        except KeyError:
            raise CheckpointError('storage %s' % key, 'missing from the archive', self.path) from None
        if _STORAGES[kind] == 'bfloat16':
            return (np.frombuffer(data, '<u2').astype(np.uint32) << 16).view(np.float32)
        return np.frombuffer(data, _STORAGES[kind])


def load_state_dict(path):
    """A state_dict from a torch.save file (the zip format of torch >= 1.6), an .npz or a
    checkpoint (its model tensors), as numpy arrays."""
    path = str(path)
    with open(path, 'rb') as f:
        if f.read(8) == b'VAECKPT\0':
            from .checkpoint import read
            return {k: v for k, v in read(path).tensors.items() if not k.startswith('adam.')}
    if path.endswith('.npz'):
        with np.load(path, allow_pickle=False) as z:
            return {k: z[k] for k in z.files}
    if not zipfile.is_zipfile(path):
        raise CheckpointError('file format', 'neither an .npz nor a torch.save zip archive (torch < 1.6 files: re-save '
                              'with torch.save in a current torch, or np.savez the tensors)', path)
    with zipfile.ZipFile(path) as z:
        pkl = [n for n in z.namelist() if n.endswith('data.pkl')]
        if len(pkl) != 1:
            raise CheckpointError('data.pkl', 'the archive has %d; a torch.save file has one' % len(pkl), path)
        prefix = pkl[0][:-len('data.pkl')]
        if z.namelist().count(prefix + 'byteorder') and z.read(prefix + 'byteorder') != b'little':
            raise CheckpointError('byteorder', '%r; this reader reads little-endian storages' % z.read(prefix + 'byteorder'), path)
        obj = _Unpickler(io.BytesIO(z.read(pkl[0])), z, prefix, path).load()
    if not isinstance(obj, dict):
        raise CheckpointError('data.pkl', 'holds a %s, not a state_dict (save model.state_dict(), not the model)' % type(obj).__name__, path)
    return dict(obj)


__all__ = ['decoder_from_state_dict', 'from_state_dict', 'load_state_dict', 'normalise', 'parse_activation', 'runtime_limits']
