"""The encoder state machine: decides refresh or predicted, composes the codec tools.

It keeps the decoder's own reconstruction as its reference (closed loop), so the encoder and
any decoder that received the same packets hold bit-identical pictures forever.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .bitstream import PACKET_PREDICTED, PACKET_REFRESH, build_packet
from .blocks import MAX_DIMENSION, Planes, block_means, block_sums_abs_dev, frame_to_planes, planes_to_frame
from .framing import RefreshHeader, pack_predicted_header, pack_refresh_header
from .motion import MODE_INTER, MODE_PALETTE, MODE_SKIP, diamond_search, vector_predictors
from .palette import fit_palette, nearest_labels
from .params import CodecParams
from .reconstruct import predict, reconstruct
from .residual import (ROUNDING_INTER, ROUNDING_INTRA, forward_quantise, quality_to_step,
                       step_fixed_point, transform_size)
from .syntax import PART_LABELS, PART_MOTION, PART_RESIDUAL, encode_symbols

__all__ = ["Encoder", "EncodedFrame", "label_bits"]

#: Lagrange multiplier of the motion and mode decisions, in SAD units per bit, per unit of
#: quantiser step (H.264's reference encoder uses about 0.37 x its step for SAD costs).
LAMBDA_PER_STEP = 0.4
#: Multiplier used when no residual is sent (quality 0): bits are then all that is traded.
LAMBDA_NO_RESIDUAL = 4.0
#: Scene cut: send a refresh when the best motion-compensated SAD of the whole frame exceeds
#: this fraction of its "flat block" SAD (each block against its own mean), i.e. when the
#: previous picture predicts the new one hardly better than flat colours would.
SCENE_CUT_RATIO = 0.9
#: Rough bit costs used to compare palette and motion modes before coding.
_PALETTE_MODE_EXTRA_BITS = 1.0
_INTER_MODE_BITS = 4.0


@dataclass(frozen=True)
class EncodedFrame:
    """One encoded frame: the packet plus what the encoder decided, for display and stats."""

    data: bytes
    frame_type: str                       # "refresh" or "predicted"
    frame_index: int
    motion_vectors: np.ndarray | None     # int32 (rows, cols, 2) (dx, dy) in pixels; None on refresh
    block_modes: np.ndarray               # int8 (rows, cols): 0 skip, 1 motion, 2 palette
    block_size: int
    quality: int
    reconstruction: np.ndarray            # H x W x 3 uint8 BGR, identical to the decoder's output
    bytes_by_part: dict[str, int]         # header, palette, labels, motion, residual


def label_bits(n_labels: int) -> int:
    """Bits of a palette index in the label tree."""
    return max(0, int(n_labels - 1).bit_length())


def _split_bytes(total: int, costs: np.ndarray) -> list[int]:
    """Share ``total`` bytes in proportion to estimated bits; the shares sum to ``total``."""
    if costs.sum() <= 0:
        return [0] * (len(costs) - 1) + [total]
    exact = total * costs / costs.sum()
    shares = np.floor(exact).astype(int)
    for i in np.argsort(-(exact - shares))[: total - shares.sum()]:
        shares[i] += 1
    return shares.tolist()


def _check_frame(frame: np.ndarray) -> np.ndarray:
    if not isinstance(frame, np.ndarray):
        raise ValueError(f"frame must be a numpy array, got {type(frame).__name__}")
    if frame.dtype != np.uint8 or frame.ndim != 3 or frame.shape[2] != 3:
        raise ValueError(f"frame must be H x W x 3 uint8 BGR, got shape {frame.shape} {frame.dtype}")
    h, w = frame.shape[:2]
    if not (1 <= h <= MAX_DIMENSION and 1 <= w <= MAX_DIMENSION):
        raise ValueError(f"frame size {w}x{h} outside 1..{MAX_DIMENSION}")
    return np.ascontiguousarray(frame)


class Encoder:
    """Encodes BGR frames into self-delimiting packets.

    Args:
        params: codec settings; ``set_params`` changes them between frames.
    """

    def __init__(self, params: CodecParams | None = None):
        self._params = params if params is not None else CodecParams()
        self._force_refresh = True
        self._reference: Planes | None = None
        self._palette: np.ndarray | None = None
        self._block_size = self._params.block_size
        self._size: tuple[int, int] | None = None
        self._frame_index = 0
        self._since_refresh = 0
        self._prev_mvs: np.ndarray | None = None

    @property
    def params(self) -> CodecParams:
        return self._params

    def set_params(self, params: CodecParams) -> None:
        """New settings: quality and search range apply to the next frame; block size and
        palette size take effect with a refresh, which is then sent as the next frame."""
        if not isinstance(params, CodecParams):
            raise ValueError(f"params must be a CodecParams, got {type(params).__name__}")
        old = self._params
        if (params.block_size, params.n_clusters) != (old.block_size, old.n_clusters):
            self._force_refresh = True
        self._params = params

    def request_refresh(self) -> None:
        """Make the next frame a refresh (e.g. a receiver asked for one)."""
        self._force_refresh = True

    def encode(self, frame: np.ndarray) -> EncodedFrame:
        """Encode one H x W x 3 uint8 BGR frame."""
        frame = _check_frame(frame)
        h, w = frame.shape[:2]
        p = self._params
        quality = p.quality
        refresh = (self._reference is None or self._force_refresh or (w, h) != self._size
                   or self._since_refresh + 1 >= p.refresh_interval)
        if not refresh:
            planes = frame_to_planes(frame, self._block_size)
            result = self._encode_predicted(planes, quality, w, h)
            if result is not None:
                return result
        self._block_size = p.block_size
        return self._encode_refresh(frame_to_planes(frame, p.block_size), quality, w, h)

    # -- refresh -------------------------------------------------------------------------
    def _encode_refresh(self, planes: Planes, quality: int, w: int, h: int) -> EncodedFrame:
        p = self._params
        bs = self._block_size
        means = block_means(planes, bs)
        rows, cols = means.shape[:2]
        flat_means = means.reshape(-1, 3)
        palette = fit_palette(flat_means, p.n_clusters, self._palette)
        labels = nearest_labels(flat_means, palette).reshape(rows, cols)
        modes = np.full((rows, cols), MODE_PALETTE, np.int8)
        mvs = np.zeros((rows, cols, 2), np.int32)
        levels, recon = self._code_residual(None, planes, modes, mvs, labels, palette, quality,
                                            ROUNDING_INTRA)
        header = pack_refresh_header(RefreshHeader(w, h, bs, quality, palette))
        symbols, costs = self._entropy_code(True, quality, modes, mvs, labels, palette, levels, bs)
        self._palette = palette
        self._since_refresh = 0
        self._force_refresh = False
        self._prev_mvs = mvs
        return self._finish(PACKET_REFRESH, header, symbols, costs, recon, modes, None, quality,
                            w, h, palette_bytes=3 * len(palette))

    # -- predicted -----------------------------------------------------------------------
    def _encode_predicted(self, planes: Planes, quality: int, w: int, h: int) -> EncodedFrame | None:
        """A predicted frame, or None when the picture changed too much (scene cut)."""
        p = self._params
        bs = self._block_size
        palette = self._palette
        step = quality_to_step(quality) if quality > 0 else None
        lam = LAMBDA_PER_STEP * step if step is not None else LAMBDA_NO_RESIDUAL
        ref = self._reference
        prev = self._prev_mvs if self._prev_mvs is not None else np.zeros((1, 1, 2), np.int32)
        mvs, sads = diamond_search(planes.y, ref.y, bs, p.search_range, lam, prev, True)
        means = block_means(planes, bs)
        rows, cols = means.shape[:2]
        flat_sad = block_sums_abs_dev(planes.y, bs, means[:, :, 0])
        if sads.sum() > SCENE_CUT_RATIO * flat_sad.sum() + bs * bs:
            return None
        nearest = nearest_labels(means.reshape(-1, 3), palette).reshape(rows, cols)
        palette_sad = block_sums_abs_dev(planes.y, bs, palette[nearest][:, :, 0].astype(np.float32))
        nbits = label_bits(len(palette)) + _PALETTE_MODE_EXTRA_BITS
        use_palette = palette_sad + lam * nbits < sads + lam * _INTER_MODE_BITS
        modes = np.where(use_palette, MODE_PALETTE, MODE_INTER).astype(np.int8)
        mvs[use_palette] = 0
        labels = np.where(use_palette, nearest, -1).astype(np.int32)
        levels, recon = self._code_residual(ref, planes, modes, mvs, labels, palette, quality,
                                            ROUNDING_INTER)
        mvd = mvs - vector_predictors(mvs)
        mvd[use_palette] = 0
        coded = self._blocks_with_residual(levels, rows, cols)
        modes[(modes == MODE_INTER) & ~coded & ~mvd.any(axis=2)] = MODE_SKIP
        symbols, costs = self._entropy_code(False, quality, modes, mvd, labels, palette, levels, bs)
        self._since_refresh += 1
        self._prev_mvs = mvs
        return self._finish(PACKET_PREDICTED, pack_predicted_header(quality), symbols, costs, recon,
                            modes, mvs, quality, w, h, palette_bytes=0)

    # -- shared steps --------------------------------------------------------------------
    def _code_residual(self, ref, planes, modes, mvs, labels, palette, quality, rounding):
        """Quantised residual levels (None at quality 0) and the resulting reconstruction."""
        bs = self._block_size
        prediction = predict(ref, modes, mvs, labels, palette, bs)
        if quality == 0:
            return None, prediction
        step = quality_to_step(quality)
        levels = tuple(
            forward_quantise(cur.astype(np.int16) - pred, transform_size(side), step, rounding)
            for cur, pred, side in zip(planes, prediction, (bs, bs // 2, bs // 2)))
        return levels, reconstruct(prediction, levels, step_fixed_point(quality))

    def _blocks_with_residual(self, levels, rows: int, cols: int) -> np.ndarray:
        """bool (rows, cols): whether any tile of the block has a non-zero level."""
        if levels is None:
            return np.zeros((rows, cols), bool)
        coded = np.zeros((rows, cols), bool)
        for lev in levels:
            tr, tc = lev.shape[:2]
            per_tile = lev.any(axis=2)
            coded |= per_tile.reshape(rows, tr // rows, cols, tc // cols).any(axis=(1, 3))
        return coded

    def _entropy_code(self, is_refresh, quality, modes, mvd, labels, palette, levels, bs):
        ky = bs // transform_size(bs)
        kc = (bs // 2) // transform_size(bs // 2)
        if levels is None:
            empty = np.zeros((1, 1, 1), np.int32)
            levels = (empty, empty, empty)
        return encode_symbols(is_refresh, quality > 0, modes, mvd.astype(np.int32), labels,
                              label_bits(len(palette)), *levels, ky, kc)

    def _finish(self, packet_type, header, symbols, costs, recon, modes, mvs, quality, w, h,
                palette_bytes) -> EncodedFrame:
        index = self._frame_index
        data = build_packet(packet_type, index, header + symbols.tobytes())
        labels_b, motion_b, residual_b = _split_bytes(len(symbols), costs[[PART_LABELS, PART_MOTION,
                                                                          PART_RESIDUAL]])
        parts = {"header": len(data) - len(symbols) - palette_bytes, "palette": palette_bytes,
                 "labels": labels_b, "motion": motion_b, "residual": residual_b}
        self._reference = recon
        self._size = (w, h)
        self._frame_index += 1
        pixel_mvs = None if mvs is None else (np.floor_divide(mvs + 1, 2)).astype(np.int32)
        return EncodedFrame(
            data=data, frame_type="refresh" if packet_type == PACKET_REFRESH else "predicted",
            frame_index=index, motion_vectors=pixel_mvs, block_modes=modes,
            block_size=self._block_size, quality=quality,
            reconstruction=planes_to_frame(recon, w, h), bytes_by_part=parts)
