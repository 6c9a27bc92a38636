"""livecodec's codec: block-KMeans palette refresh frames, diamond-search predicted frames.

Public API (the app uses only these names)::

    from livecodec.codec import CodecParams, Encoder, Decoder, BitstreamError

The encoder side (``Encoder``, ``fit_palette``, ``nearest_labels``) pulls in scikit-learn and is
imported on first use, so a decoder-only user (``Decoder``, ``ConcealingDecoder``, stream
readers) never loads it.
"""
from __future__ import annotations

from importlib import import_module
from typing import Any

from .common.bitstream import (FORMAT_VERSION, FileHeader, PacketReader, read_file_header,
                               write_file_header)
from .common.errors import BitstreamError, ChecksumError, FrameGapError, MissingReferenceError
from .common.limits import BLOCK_SIZES, MAX_DIMENSION, check_frame_size
from .common.metrics import PSNR_CAP, SSIM_MIN_SIDE, bits_per_pixel, kbps, psnr, ssim
from .common.modes import (FRAME_PREDICTED, FRAME_REFRESH, MODE_INTER, MODE_INTRA_DC, MODE_INTRA_H,
                           MODE_INTRA_V, MODE_PALETTE, MODE_SKIP, MODE_SPLIT)
from .common.parallel import check_threads, default_threads
from .common.tools import Tools
from .decoder.decoder import DecodedFrame, Decoder
from .decoder.recovery import (MAX_CONCEALED_RUN, ConcealingDecoder, RecoveredFrame, index_gap,
                               recover_frames)
from .decoder.streaminfo import StreamInfo, read_stream_info
from .encoder.params import CodecParams
from .encoder.presets import PRESETS, tools_in_effect

#: Encoder-side names and the module each lives in, imported on first access.
_LAZY = {"Encoder": ".encoder.encoder", "EncodedFrame": ".encoder.encoder",
         "refresh_quality": ".encoder.encoder", "fit_palette": ".encoder.palette",
         "nearest_labels": ".encoder.palette"}

__all__ = [
    "CodecParams", "BLOCK_SIZES", "MAX_DIMENSION", "check_frame_size", "PRESETS", "Tools",
    "tools_in_effect",
    "Encoder", "EncodedFrame", "refresh_quality", "Decoder", "DecodedFrame",
    "ConcealingDecoder", "RecoveredFrame", "recover_frames", "index_gap", "MAX_CONCEALED_RUN",
    "BitstreamError", "ChecksumError", "FrameGapError", "MissingReferenceError",
    "PacketReader", "FileHeader", "read_file_header", "write_file_header", "FORMAT_VERSION",
    "StreamInfo", "read_stream_info",
    "MODE_SKIP", "MODE_INTER", "MODE_SPLIT", "MODE_PALETTE", "MODE_INTRA_DC", "MODE_INTRA_V", "MODE_INTRA_H", "FRAME_REFRESH", "FRAME_PREDICTED",
    "default_threads", "check_threads", "fit_palette", "nearest_labels",
    "psnr", "PSNR_CAP", "ssim", "SSIM_MIN_SIDE", "bits_per_pixel", "kbps",
]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(import_module(_LAZY[name], __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
