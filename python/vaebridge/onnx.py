"""The float32 decoder as an ONNX model, written without the onnx package: a protobuf writer of
the few messages onnx.proto needs (ModelProto, GraphProto, NodeProto, AttributeProto, TensorProto,
ValueInfoProto), a reader of them for checking what was written, and a numpy evaluator of the
operators it emits (Reshape, ConvTranspose, LeakyRelu, Relu, Sigmoid).

The graph: z [N, latent] -> Reshape [N, c, h, w] -> per layer ConvTranspose (+ its activation)
-> Reshape [N, out_c * out_h * out_w] (torch_ref's decode(); flat=False keeps [N, c, h, w]).
"""
import struct

import numpy as np

from ._common import CheckpointError, load, parse_source
from .numpy_decoder import activate, conv_transpose

IR_VERSION = 8        # the IR of opset 17 (onnx 1.12); every operator here is unchanged since opset 14
OPSET = 17
FLOAT, INT64 = 1, 7   # TensorProto.DataType
ATTR_FLOAT, ATTR_INT, ATTR_INTS = 1, 2, 7

# ---------------------------------------------------------------------------------------------
# protobuf wire format (https://protobuf.dev/programming-guides/encoding/)


def _varint(v):
    v &= (1 << 64) - 1       # negative int64: ten bytes of two's complement, as protobuf does
    out = bytearray()
    while True:
        b = v & 0x7F
        v >>= 7
        if v:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def _key(field, wire):
    return _varint(field << 3 | wire)


def f_int(field, v):
    return _key(field, 0) + _varint(int(v))


def f_bytes(field, b):
    b = b.encode('utf-8') if isinstance(b, str) else bytes(b)
    return _key(field, 2) + _varint(len(b)) + b


def f_float(field, v):
    return _key(field, 5) + struct.pack('<f', v)


def parse_message(b, where='message'):
    """[(field, wire type, value)]: ints for varints, bytes for length-delimited, floats for fixed32."""
    out, pos = [], 0

    def varint():
        nonlocal pos
        v = shift = 0
        while True:
            if pos >= len(b) or shift > 63:
                raise CheckpointError(where, 'a varint runs past the end of the message')
            c = b[pos]
            pos += 1
            v |= (c & 0x7F) << shift
            shift += 7
            if not c & 0x80:
                return v
    while pos < len(b):
        k = varint()
        field, wire = k >> 3, k & 7
        if wire == 0:
            out.append((field, 0, varint()))
        elif wire == 2:
            n = varint()
            if pos + n > len(b):
                raise CheckpointError(where + ' field %d' % field, '%d bytes run past the end of the message' % n)
            out.append((field, 2, b[pos:pos + n]))
            pos += n
        elif wire == 5:
            if pos + 4 > len(b):
                raise CheckpointError(where + ' field %d' % field, 'a fixed32 runs past the end')
            out.append((field, 5, struct.unpack_from('<f', b, pos)[0]))
            pos += 4
        elif wire == 1:
            if pos + 8 > len(b):
                raise CheckpointError(where + ' field %d' % field, 'a fixed64 runs past the end')
            out.append((field, 1, struct.unpack_from('<d', b, pos)[0]))
            pos += 8
        else:
            raise CheckpointError(where + ' field %d' % field, 'wire type %d is not one onnx.proto uses' % wire)
    return out


def _signed(v):
    return v - (1 << 64) if v >= 1 << 63 else v


# ---------------------------------------------------------------------------------------------
# ONNX messages

def _tensor(name, array, data_type):
    a = np.ascontiguousarray(array)
    return (b''.join(f_int(1, d) for d in a.shape) + f_int(2, data_type) + f_bytes(8, name)
            + f_bytes(9, a.astype(a.dtype.newbyteorder('<')).tobytes()))


def _value_info(name, dims):
    dim = b''.join(f_bytes(1, f_bytes(2, d) if isinstance(d, str) else f_int(1, d)) for d in dims)
    tensor_type = f_int(1, FLOAT) + f_bytes(2, dim)
    return f_bytes(1, name) + f_bytes(2, f_bytes(1, tensor_type))


def _attr(name, v):
    if isinstance(v, float):
        return f_bytes(1, name) + f_float(2, v) + f_int(20, ATTR_FLOAT)
    if isinstance(v, int):
        return f_bytes(1, name) + f_int(3, v) + f_int(20, ATTR_INT)
    return f_bytes(1, name) + b''.join(f_int(8, x) for x in v) + f_int(20, ATTR_INTS)


def _node(op, inputs, outputs, name, **attrs):
    return (b''.join(f_bytes(1, i) for i in inputs) + b''.join(f_bytes(2, o) for o in outputs) + f_bytes(3, name)
            + f_bytes(4, op) + b''.join(f_bytes(5, _attr(k, v)) for k, v in attrs.items()))


def model_bytes(decoder, flat=True, producer='vaebridge'):
    """The ONNX ModelProto of a float32 DecoderImage, as bytes."""
    nodes, inits = [], [_tensor('view_shape', np.array((-1,) + decoder.view, np.int64), INT64)]
    nodes.append(_node('Reshape', ['z', 'view_shape'], ['y0'], 'view'))
    cur = 'y0'
    for k, l in enumerate(decoder.layers):
        inits.append(_tensor('convs.%d.weight' % k, decoder.weights[k], FLOAT))
        inits.append(_tensor('convs.%d.bias' % k, decoder.biases[k], FLOAT))
        out = 'conv%d' % k
        nodes.append(_node('ConvTranspose', [cur, 'convs.%d.weight' % k, 'convs.%d.bias' % k], [out], 'convs.%d' % k,
                           kernel_shape=[l['kernel_h'], l['kernel_w']], strides=[l['stride']] * 2,
                           pads=[l['padding']] * 4, dilations=[1, 1], group=1))
        act = l['activation']
        if act != 'none':
            op = {'relu': 'Relu', 'leaky_relu': 'LeakyRelu', 'sigmoid': 'Sigmoid'}[act]
            attrs = {'alpha': float(l['activation_param'])} if act == 'leaky_relu' else {}
            nodes.append(_node(op, [out], ['act%d' % k], 'act%d' % k, **attrs))
            out = 'act%d' % k
        cur = out
    c, h, w = decoder.output
    if flat:
        inits.append(_tensor('out_shape', np.array([-1, c * h * w], np.int64), INT64))
        nodes.append(_node('Reshape', [cur, 'out_shape'], ['x'], 'flatten'))
        out_dims = ['N', c * h * w]
    else:
        nodes.append(_node('Identity', [cur], ['x'], 'out'))
        out_dims = ['N', c, h, w]
    graph = (b''.join(f_bytes(1, n) for n in nodes) + f_bytes(2, 'vae_decoder')
             + b''.join(f_bytes(5, t) for t in inits)
             + f_bytes(10, 'swift-vae decoder: latent z [N, %d] -> pixel probabilities x %s' % (decoder.latent, out_dims))
             + f_bytes(11, _value_info('z', ['N', decoder.latent])) + f_bytes(12, _value_info('x', out_dims)))
    return (f_int(1, IR_VERSION) + f_bytes(2, producer) + f_bytes(3, '1') + f_bytes(7, graph)
            + f_bytes(8, f_bytes(1, '') + f_int(2, OPSET)))


def export_onnx(decoder, path, flat=True):
    """Writes the decoder (a DecoderImage, a Checkpoint or a path to either) as ONNX."""
    from .checkpoint import Checkpoint, atomic_write
    from .image import DecoderImage, read_decoder_image
    if isinstance(decoder, (str, bytes)) or hasattr(decoder, '__fspath__'):
        b, _ = load(decoder)
        if b[:8] == b'VAECKPT\0':
            from .checkpoint import read
            decoder = read(decoder).decoder()
        else:
            decoder = read_decoder_image(decoder)
    if isinstance(decoder, Checkpoint):
        decoder = decoder.decoder()
    if not isinstance(decoder, DecoderImage):
        raise CheckpointError('decoder', '%s; ONNX export takes the float32 decoder (the int8 one has no ONNX form here)'
                              % type(decoder).__name__)
    data = model_bytes(decoder, flat)
    atomic_write(path, data)
    return data


def read_model(source):
    """The parts of an ONNX model this module writes, as dicts; refuses what it cannot account for."""
    return parse_source(source, _model)


def _fields(msg, where):
    d = {}
    for f, w, v in parse_message(msg, where):
        d.setdefault(f, []).append(v)
    return d


def _one(d, f, where, default=None):
    v = d.get(f, [])
    if len(v) > 1:
        raise CheckpointError(where, 'field %d appears %d times' % (f, len(v)))
    if not v and default is None:
        raise CheckpointError(where, 'field %d is missing' % f)
    return v[0] if v else default


def _str(b):
    return bytes(b).decode('utf-8')


def _read_tensor(b, where):
    d = _fields(b, where)
    name = _str(_one(d, 8, where + ' name'))
    dims = [_signed(x) for x in d.get(1, [])]
    dt = _one(d, 2, 'initializer %s data_type' % name)
    np_type = {FLOAT: '<f4', INT64: '<i8'}.get(dt)
    if np_type is None:
        raise CheckpointError('initializer %s data_type' % name, '%d; this model uses 1 (float) and 7 (int64)' % dt)
    raw = _one(d, 9, 'initializer %s raw_data' % name)
    n = int(np.prod(dims)) if dims else 1
    if len(raw) != n * np.dtype(np_type).itemsize:
        raise CheckpointError('initializer %s raw_data' % name, '%d bytes; dims %s need %d' % (len(raw), dims, n * np.dtype(np_type).itemsize))
    return name, np.frombuffer(raw, np_type).reshape(dims).astype(np.dtype(np_type).newbyteorder('='))


def _read_value_info(b, where):
    d = _fields(b, where)
    name = _str(_one(d, 1, where + ' name'))
    t = _fields(_one(_fields(_one(d, 2, where + ' type'), where), 1, where + ' tensor_type'), where)
    elem = _one(t, 1, where + ' elem_type')
    dims = []
    for dim in _fields(_one(t, 2, where + ' shape'), where).get(1, []):
        dd = _fields(dim, where)
        dims.append(_str(dd[2][0]) if 2 in dd else _signed(dd[1][0]) if 1 in dd else None)
    return dict(name=name, elem_type=elem, dims=dims)


def _read_attr(b, where):
    d = _fields(b, where)
    name = _str(_one(d, 1, where + ' name'))
    t = _one(d, 20, where + ' %s type' % name)
    if t == ATTR_FLOAT:
        return name, _one(d, 2, where + ' %s f' % name)
    if t == ATTR_INT:
        return name, _signed(_one(d, 3, where + ' %s i' % name))
    if t == ATTR_INTS:
        return name, [_signed(x) for x in d.get(8, [])]
    raise CheckpointError(where + ' %s type' % name, '%d; this model uses float, int and ints attributes' % t)


OPS = {'Reshape': (2, set()), 'ConvTranspose': (3, {'kernel_shape', 'strides', 'pads', 'dilations', 'group'}),
       'LeakyRelu': (1, {'alpha'}), 'Relu': (1, set()), 'Sigmoid': (1, set()), 'Identity': (1, set())}


def _model(b):
    m = _fields(b, 'ModelProto')
    ir = _one(m, 1, 'ModelProto ir_version')
    opsets = []
    for o in m.get(8, []):
        od = _fields(o, 'opset_import')
        opsets.append((_str(_one(od, 1, 'opset_import domain', b'')), _one(od, 2, 'opset_import version')))
    if ('', OPSET) not in opsets:
        raise CheckpointError('ModelProto opset_import', '%s; expected the default domain at version %d' % (opsets, OPSET))
    g = _fields(_one(m, 7, 'ModelProto graph'), 'GraphProto')
    inits = dict(_read_tensor(t, 'initializer') for t in g.get(5, []))
    inputs = [_read_value_info(v, 'graph input') for v in g.get(11, [])]
    outputs = [_read_value_info(v, 'graph output') for v in g.get(12, [])]
    defined = set(inits) | {i['name'] for i in inputs}
    nodes = []
    for k, nb in enumerate(g.get(1, [])):
        nd = _fields(nb, 'node %d' % k)
        n = dict(op_type=_str(_one(nd, 4, 'node %d op_type' % k)), name=_str(_one(nd, 3, 'node %d name' % k, b'')),
                 inputs=[_str(x) for x in nd.get(1, [])], outputs=[_str(x) for x in nd.get(2, [])],
                 attrs=dict(_read_attr(a, 'node %d attribute' % k) for a in nd.get(5, [])))
        where = 'node %d (%s %s)' % (k, n['op_type'], n['name'])
        if n['op_type'] not in OPS:
            raise CheckpointError(where + ' op_type', 'not one of %s' % ', '.join(OPS))
        arity, allowed = OPS[n['op_type']]
        if len(n['inputs']) != arity or len(n['outputs']) != 1 or set(n['attrs']) - allowed:
            raise CheckpointError(where, '%d inputs, %d outputs, attributes %s; %s takes %d inputs, 1 output, attributes from %s'
                                  % (len(n['inputs']), len(n['outputs']), sorted(n['attrs']), n['op_type'], arity, sorted(allowed)))
        for i in n['inputs']:
            if i not in defined:
                raise CheckpointError(where + ' input %s' % i, 'not defined by an earlier node, an initializer or a graph input')
        defined.add(n['outputs'][0])
        nodes.append(n)
    for o in outputs:
        if o['name'] not in defined:
            raise CheckpointError('graph output %s' % o['name'], 'no node makes it')
    return dict(ir_version=ir, opsets=opsets, producer=_str(_one(m, 2, 'producer_name', b'')), nodes=nodes,
                initializers=inits, inputs=inputs, outputs=outputs)


def run(model, feeds):
    """Evaluates a model read_model returned, in numpy (float64): a second opinion on the graph's
    meaning that needs no ONNX Runtime."""
    env = {k: v.astype(np.float64) if v.dtype.kind == 'f' else v for k, v in model['initializers'].items()}
    env.update({k: np.asarray(v, np.float64) for k, v in feeds.items()})
    for n in model['nodes']:
        x = [env[i] for i in n['inputs']]
        a, op = n['attrs'], n['op_type']
        if op == 'Reshape':
            shape = [x[0].shape[i] if s == 0 else s for i, s in enumerate(x[1].tolist())]
            y = x[0].reshape(shape)
        elif op == 'ConvTranspose':
            s, p = a.get('strides', [1, 1]), a.get('pads', [0, 0, 0, 0])
            if a.get('group', 1) != 1 or a.get('dilations', [1, 1]) != [1, 1] or len(set(s)) != 1 or len(set(p)) != 1:
                raise CheckpointError('node %s attributes' % n['name'], '%s: the evaluator runs group 1, dilation 1, equal strides and pads' % a)
            y = conv_transpose(x[0], x[1], x[2], s[0], p[0])
        elif op == 'LeakyRelu':
            y = activate(x[0], 'leaky_relu', a.get('alpha', 0.01))
        else:
            y = activate(x[0], {'Relu': 'relu', 'Sigmoid': 'sigmoid', 'Identity': 'none'}[op], 0)
        env[n['outputs'][0]] = y
    return {o['name']: env[o['name']] for o in model['outputs']}
