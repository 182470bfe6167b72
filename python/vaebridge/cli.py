"""python3 -m vaebridge: look into, convert and export swift-vae checkpoints and decoder images."""
import argparse
import sys

import numpy as np

from ._common import CheckpointError

EPILOG = """examples:
  python3 -m vaebridge info checkpoints/vae-mnist.vaeckpt
  python3 -m vaebridge convert model.pt model.vaeckpt          a torch_ref.py state_dict (torch.save) -> checkpoint
  python3 -m vaebridge convert decoder.npz d.vaed --activation relu
                                                               decoder tensors only -> decoder image
  python3 -m vaebridge export-onnx checkpoints/vae-mnist.vaeckpt decoder.onnx
  python3 -m vaebridge state-dict checkpoints/vae-mnist.vaeckpt sd.npz   -> np.load, torch.from_numpy, load_state_dict

Run from python/ or with PYTHONPATH=python. numpy is the only dependency (no torch, no onnx).
Formats: docs/checkpoint-format.md, docs/quantisation.md; python/README.md for the API."""


def _kind(path):
    with open(path, 'rb') as f:
        head = f.read(8)
    if head == b'VAECKPT\0':
        return 'checkpoint'
    if head[:4] == b'VAED':
        return 'image'
    if path.endswith('.onnx'):
        return 'onnx'
    return 'state_dict'


def _layers(layers):
    out = []
    for l in layers:
        act = l['activation'] + (':%g' % l['activation_param'] if l['activation'] == 'leaky_relu' else '')
        k = '%d' % l['kernel_h'] if l['kernel_h'] == l['kernel_w'] else '%dx%d' % (l['kernel_h'], l['kernel_w'])
        extra = '' if (l['stride'], l['padding']) == (1, 0) else ' s%d p%d' % (l['stride'], l['padding'])
        out.append('%d->%d k%s%s %s' % (l['in_channels'], l['out_channels'], k, extra, act))
    return ', '.join(out)


def info(a):
    from . import checkpoint, image, onnx
    kind = _kind(a.file)
    if kind == 'checkpoint':
        ck = checkpoint.read(a.file)
        ar = ck.arch
        print('%s: checkpoint %d.%d, latent %d (view %d x %d x %d), LSTM hidden %d, %d tensors, sections %s'
              % (a.file, ck.version[0], ck.version[1], ar['latent'], ar['view_channels'], ar['view_height'], ar['view_width'],
                 ar['lstm_hidden'], len(ck.tensors), ' '.join(repr(s) for s in ck.sections)))
        print('decoder: %s' % _layers(ar['layers']))
        if ck.unknown_sections:
            print('unknown non-critical sections (kept on rewrite): %s' % ' '.join(repr(u.name) for u in ck.unknown_sections))
        if ck.int8_decoder_image is not None:
            print('int8 decoder: %d bytes' % len(ck.int8_decoder_image))
        if ck.class_priors:
            p = ck.class_priors
            print('class priors: %d classes, %s covariance, fitted from %d images' % (len(p['counts']), p['kind'], sum(p['counts'])))
        if ck.training:
            print('training: epoch %(epoch)d, %(steps)d steps, batch %(batch)d, lr %(lr)g, seed %(seed)d, '
                  '%(images_per_epoch)d images per epoch' % ck.training)
        if ck.history is not None and len(ck.history):
            r = dict(zip(checkpoint.Checkpoint.HISTORY_COLUMNS, ck.history[-1]))
            print('last epoch %(epoch).0f: validation %(val_total).2f (rec %(val_rec).2f + KL %(val_kl).2f)' % r)
        problem = ck.decoder().runtime_problem()
    elif kind == 'image':
        d = image.read_decoder_image(a.file)
        w = 'int8' if isinstance(d, image.Int8DecoderImage) else 'float32'
        print('%s: %s decoder image, %d bytes, latent %d (view %d x %d x %d) -> %d x %d x %d'
              % ((a.file, w, len(d.to_bytes()), d.latent) + d.view + d.output))
        print('decoder: %s' % _layers(d.layers))
        if d.class_priors:
            p = d.class_priors
            print('class priors: %d classes, %s covariance, fitted from %d images' % (len(p['counts']), p['kind'], sum(p['counts'])))
        problem = image.runtime_limits(d.view, d.layers)
    elif kind == 'onnx':
        m = onnx.read_model(a.file)
        print('%s: ONNX IR %d, opsets %s, producer %r, %d nodes (%s), inputs %s, outputs %s'
              % (a.file, m['ir_version'], m['opsets'], m['producer'], len(m['nodes']), ' '.join(n['op_type'] for n in m['nodes']),
                 [(i['name'], i['dims']) for i in m['inputs']], [(o['name'], o['dims']) for o in m['outputs']]))
        return 0
    else:
        from .convert import load_state_dict
        sd = load_state_dict(a.file)
        print('%s: state_dict of %d tensors' % (a.file, len(sd)))
        for k, v in sd.items():
            print('  %-28s %-8s %s' % (k, v.dtype, list(v.shape)))
        return 0
    if problem:
        print('note: vae-gen and the firmware would refuse this decoder: %s' % problem)
    return 0


def convert(a):
    from . import checkpoint, image
    from .convert import decoder_from_state_dict, from_state_dict, load_state_dict
    sd = load_state_dict(a.state_dict)
    opts = dict(activation=a.activation, last_activation=a.last_activation, image_size=a.image_size)
    for name in ('activations', 'strides', 'paddings'):
        v = getattr(a, name)
        if v:
            opts[name] = [s.strip() for s in v.split(',')] if name == 'activations' else [int(s) for s in v.split(',')]
    as_image = a.decoder_image or a.out.endswith('.vaed')
    if as_image:
        d = decoder_from_state_dict(sd, **opts)
        image.write_decoder_image(d, a.out)
    else:
        ck = from_state_dict(sd, encoder='zeros' if a.zero_encoder else 'require', **opts)
        checkpoint.write(ck, a.out)
        d = ck.decoder()
    print('wrote %s: %s, latent %d (view %d x %d x %d): %s' % ((a.out, 'decoder image' if as_image else 'checkpoint', d.latent)
                                                             + d.view + (_layers(d.layers),)))
    problem = d.runtime_problem()
    if problem:
        print('note: the format describes this decoder, but vae-gen and the firmware will refuse it: %s' % problem)
    return 0


def export(a):
    from .onnx import export_onnx, read_model
    data = export_onnx(a.input, a.out, flat=not a.no_flatten)
    m = read_model(data)
    print('wrote %s: %d bytes, ONNX IR %d opset %d, %s -> %s' % (a.out, len(data), m['ir_version'], m['opsets'][0][1],
                                                               m['inputs'][0]['dims'], m['outputs'][0]['dims']))
    return 0


def extract(a):
    from . import checkpoint, image
    ck = checkpoint.read(a.checkpoint)
    if a.int8:
        if ck.int8_decoder_image is None:
            raise CheckpointError("section 'DEC8'", 'missing: no int8 decoder; make one with vae-train quantise', a.checkpoint)
        checkpoint.atomic_write(a.out, ck.int8_decoder_image)
    else:
        image.write_decoder_image(ck.decoder(), a.out)
    print('wrote %s' % a.out)
    return 0


def rewrite(a):
    from . import checkpoint
    ck = checkpoint.read(a.input)
    checkpoint.write(ck, a.out)
    with open(a.input, 'rb') as f, open(a.out, 'rb') as g:
        same = f.read() == g.read()
    print('wrote %s (%s the input)' % (a.out, 'byte for byte' if same else 'differs from'))
    return 0


def state_dict(a):
    from . import checkpoint
    ck = checkpoint.read(a.checkpoint)
    t = {k: v for k, v in ck.tensors.items() if a.adam or not k.startswith('adam.')}
    np.savez(a.out, **t)
    print('wrote %s: %d tensors' % (a.out, len(t)))
    return 0


def parser():
    p = argparse.ArgumentParser(prog='python3 -m vaebridge', description=__doc__, epilog=EPILOG,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest='command', metavar='COMMAND')
    s = sub.add_parser('info', help='summarise a checkpoint, decoder image, ONNX file or state_dict')
    s.add_argument('file')
    s.set_defaults(run=info)
    s = sub.add_parser('convert', help='PyTorch state_dict (.pt from torch.save, or .npz) -> checkpoint or decoder image',
                       description='Names as scripts/torch_ref.py (any prefix before convs.0.weight is dropped). Channels and '
                       'kernels come from the tensors; strides, padding and activations cannot, so they are '
                       "torch_ref's unless given.")
    s.add_argument('state_dict', help='a torch.save file (.pt, .pth), an .npz of the tensors, or a checkpoint')
    s.add_argument('out', help='*.vaeckpt: a checkpoint (needs the encoder tensors, or --zero-encoder); *.vaed: a decoder image')
    s.add_argument('--decoder-image', action='store_true', help='write a decoder image whatever OUT is called')
    s.add_argument('--activation', default='leaky_relu:0.01', help='hidden layers: none, relu, leaky_relu[:SLOPE], sigmoid (default %(default)s)')
    s.add_argument('--last-activation', default='sigmoid', help='the last layer (default %(default)s; vae-gen needs sigmoid)')
    s.add_argument('--activations', help='one per layer, comma-separated (overrides the two above)')
    s.add_argument('--strides', help='one per layer, comma-separated (default 1 each; vae-gen runs 1 only)')
    s.add_argument('--paddings', help='one per layer, comma-separated (default 0 each; vae-gen runs 0 only)')
    s.add_argument('--image-size', type=int, default=28, help='output side the view is solved from (default %(default)s)')
    s.add_argument('--zero-encoder', action='store_true', help='no encoder in the state_dict: write zeros (vae-gen samples; reconstruct is meaningless)')
    s.set_defaults(run=convert)
    two = [('export-onnx', export, 'the float32 decoder of a checkpoint or decoder image -> ONNX (no onnx package)', 'input',
            ('--no-flatten', 'output x as [N, 1, H, W] instead of [N, H*W] (torch_ref decode)')),
           ('extract-decoder', extract, "a checkpoint's decoder image (what vae-gen export-decoder writes)", 'checkpoint',
            ('--int8', "the int8 image (section 'DEC8') instead")),
           ('rewrite', rewrite, 'read a checkpoint and write it again (unknown optional sections kept)', 'input', None),
           ('state-dict', state_dict, "a checkpoint's tensors as .npz, named as torch_ref.py's state_dict", 'checkpoint',
            ('--adam', 'include the adam.m.* / adam.v.* moments'))]
    for name, run, text, first, flag in two:
        s = sub.add_parser(name, help=text)
        s.add_argument(first)
        s.add_argument('out')
        if flag:
            s.add_argument(flag[0], action='store_true', help=flag[1])
        s.set_defaults(run=run)
    return p


def main(argv=None):
    p = parser()
    a = p.parse_args(argv)
    if not getattr(a, 'run', None):
        p.print_help()
        return 2
    try:
        return a.run(a)
    except (CheckpointError, OSError) as e:
        print('vaebridge: error: %s' % e, file=sys.stderr)
        return 1
