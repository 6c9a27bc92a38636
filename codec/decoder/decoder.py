"""The decoder state machine: packets in, pictures out, every field checked."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..common.bitstream import PACKET_REFRESH, Packet, parse_packet
from ..common.blocks import Planes, padded_size, planes_to_frame
from ..common.deblock import deblock
from ..common.errors import BitstreamError, FrameGapError, MissingReferenceError
from ..common.framing import unpack_predicted_header, unpack_refresh_header
from ..common.inter_prediction import vectors_in_pixels
from ..common.intra_prediction import reconstruct_intra
from ..common.modes import FRAME_PREDICTED, FRAME_REFRESH
from ..common.parallel import check_threads, using_threads
from ..common.reconstruct import predict, reconstruct
from ..common.slices import SliceContexts, decode_slices, slice_rows
from ..common.syntax import label_bits
from ..common.tools import Tools
from ..common.transform import plane_steps, zero_levels

__all__ = ["Decoder", "DecodedFrame"]


@dataclass(frozen=True)
class DecodedFrame:
    """A decoded picture with the decisions it was coded with (for overlays and tools)."""

    image: np.ndarray          # H x W x 3 uint8 BGR
    frame_type: str
    frame_index: int
    block_modes: np.ndarray
    motion_vectors: np.ndarray | None   # pixels (a split block's: its last quadrant's), None on refresh
    block_size: int
    quality: int               # the quality the frame was coded with (0 = no residual)
    #: pixels (rows, cols, 4, 2): each block's quadrant vectors (four different ones where
    #: block_modes is MODE_SPLIT); None on refresh.
    quadrant_vectors: np.ndarray | None = None


@dataclass
class _StreamState:
    """What a refresh packet establishes and predicted packets rely on."""

    width: int
    height: int
    block_size: int
    palette: np.ndarray
    slices: int
    tools: Tools
    carry_contexts: bool
    context_model: int


class Decoder:
    """Decodes packets produced by ``Encoder``; raises ``BitstreamError`` on bad bytes.

    After any error the reference is dropped, so decoding resumes at the next refresh packet
    instead of predicting from a picture that may be wrong. ``threads``: threads that work on
    one frame (default: the cores this process may use); the pictures do not depend on it.
    """

    def __init__(self, *, threads: int | None = None) -> None:
        self.threads = check_threads(threads)
        self._state: _StreamState | None = None
        self._reference: Planes | None = None
        self._last_index: int | None = None
        self._contexts = SliceContexts()

    @property
    def last_frame_index(self) -> int | None:
        """Index (mod 2^16) of the last frame decoded, None before the first or after an error."""
        return self._last_index

    def decode(self, data: bytes) -> np.ndarray:
        """Decode one packet (exactly the bytes of ``EncodedFrame.data``)."""
        packet = parse_packet(data)
        if packet.size != len(data):
            raise BitstreamError(f"{len(data) - packet.size} stray bytes after the packet")
        return self.decode_packet(packet).image

    def decode_packet(self, packet: Packet) -> DecodedFrame:
        """Decode an already parsed (CRC-checked) packet."""
        try:
            with using_threads(self.threads):
                return self._decode(packet)
        except BitstreamError:
            self._reference = None
            self._last_index = None
            self._contexts.keep(None)
            raise

    def _decode(self, packet: Packet) -> DecodedFrame:
        payload = packet.payload
        if packet.type == PACKET_REFRESH:
            header, offset = unpack_refresh_header(payload)
            state = _StreamState(header.width, header.height, header.block_size, header.palette,
                                 header.slices,
                                 Tools(header.deblock, header.intra, header.qpel, header.split,
                                       header.tskip),
                                 header.carry_contexts, header.context_model)
            quality = header.quality
            reference = None
        else:
            if self._reference is None or self._state is None:
                raise MissingReferenceError(
                    f"predicted frame {packet.frame_index} has no refresh frame to predict from")
            expected = (self._last_index + 1) & 0xFFFF
            if packet.frame_index != expected:
                raise FrameGapError(f"predicted frame {packet.frame_index} does not follow frame "
                                    f"{self._last_index} (expected {expected})")
            quality, offset = unpack_predicted_header(payload)
            state = self._state
            reference = self._reference
        bs = state.block_size
        wp, hp = padded_size(state.width, state.height, bs)
        rows, cols = hp // bs, wp // bs
        levels = zero_levels(hp, wp, bs) if quality > 0 else None
        coded = None if levels is None else tuple(np.zeros(lev.shape[:2], np.uint8)
                                                  for lev in levels)
        symbols = np.frombuffer(payload, np.uint8, offset=offset)
        n_labels = len(state.palette)
        is_refresh = packet.type == PACKET_REFRESH
        bands = slice_rows(rows, state.slices)
        intra = is_refresh and state.tools.intra
        contexts = self._contexts.start(len(bands), not is_refresh and state.carry_contexts,
                                        state.context_model)
        try:
            modes, mvs, quadrants, labels = decode_slices(
                symbols, is_refresh, cols, n_labels, label_bits(n_labels), levels, bs, bands,
                contexts, intra, not is_refresh and state.tools.split, state.context_model, coded,
                state.tools.tskip)
        except BitstreamError as exc:
            raise BitstreamError(f"frame {packet.frame_index}: {exc}") from None
        steps = plane_steps(quality) if levels is not None else None
        if intra:
            recon = reconstruct_intra(modes, labels, state.palette, levels, coded, steps, bs, bands)
        else:
            recon = reconstruct(predict(reference, modes, quadrants, labels, state.palette, bs,
                                        state.tools.pel_shift), levels, steps, coded)
        if state.tools.deblock and levels is not None:
            deblock(recon, steps, coded, modes, quadrants, bs, state.tools.pel_shift)
        self._state = state
        self._reference = recon
        self._last_index = packet.frame_index
        self._contexts.keep(contexts)
        return DecodedFrame(
            image=planes_to_frame(recon, state.width, state.height),
            frame_type=FRAME_REFRESH if is_refresh else FRAME_PREDICTED,
            frame_index=packet.frame_index,
            block_modes=modes, block_size=bs,
            motion_vectors=None if is_refresh else vectors_in_pixels(mvs, state.tools.pel_shift),
            quality=quality,
            quadrant_vectors=None if is_refresh else vectors_in_pixels(quadrants,
                                                                       state.tools.pel_shift))
