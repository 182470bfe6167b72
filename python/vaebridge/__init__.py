"""vaebridge: the checkpoint format and the decoder images of swift-vae, from Python with numpy
only, and the bridge to PyTorch (a state_dict in) and ONNX (the decoder out). See python/README.md."""
from ._common import ACTIVATIONS, CheckpointError, FormatError, layer, runtime_limits
from .image import DecoderImage, Int8DecoderImage, read_decoder_image, write_decoder_image
from .checkpoint import Checkpoint, UnknownSection, architecture, encode, expected_shapes, model_names, read, write
from .convert import decoder_from_state_dict, from_state_dict, load_state_dict
from .onnx import export_onnx
from .numpy_decoder import decode, pixels
from . import checkpoint, convert, image, numpy_decoder, onnx  # noqa: F401

__all__ = ['ACTIVATIONS', 'CheckpointError', 'FormatError', 'layer', 'runtime_limits', 'DecoderImage', 'Int8DecoderImage',
           'read_decoder_image', 'write_decoder_image', 'Checkpoint', 'UnknownSection', 'architecture', 'encode', 'expected_shapes',
           'model_names', 'read', 'write', 'decoder_from_state_dict', 'from_state_dict', 'load_state_dict', 'export_onnx',
           'decode', 'pixels']
