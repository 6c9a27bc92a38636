"""livecodec's codec: block-KMeans palette refresh frames, diamond-search predicted frames.

Public API::

    from livecodec.codec import CodecParams, Encoder, Decoder, BitstreamError
"""
from .bitstream import FORMAT_VERSION, PacketReader, read_file_header, write_file_header
from .decoder import DecodedFrame, Decoder
from .encoder import EncodedFrame, Encoder
from .errors import BitstreamError, ChecksumError, FrameGapError, MissingReferenceError
from .metrics import bits_per_pixel, kbps, psnr
from .params import BLOCK_SIZES, CodecParams

__all__ = [
    "CodecParams", "BLOCK_SIZES", "Encoder", "EncodedFrame", "Decoder", "DecodedFrame",
    "BitstreamError", "ChecksumError", "FrameGapError", "MissingReferenceError",
    "PacketReader", "read_file_header", "write_file_header", "FORMAT_VERSION",
    "psnr", "bits_per_pixel", "kbps",
]
