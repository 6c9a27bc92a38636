"""The encoder state machine: decides refresh or predicted, composes the codec tools.

It keeps the decoder's own reconstruction as its reference (closed loop), so the encoder and
any decoder that received the same packets hold bit-identical pictures forever.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np

from ..common.bitstream import PACKET_PREDICTED, PACKET_REFRESH, build_packet
from ..common.blocks import Planes, frame_to_planes, planes_to_frame
from ..common.deblock import deblock
from ..common.framing import RefreshHeader, pack_predicted_header, pack_refresh_header
from ..common.inter_prediction import (quadrant_differences, vector_predictors, vectors_in_pixels,
                                      whole_block_quadrants)
from ..common.limits import check_frame_size
from ..common.modes import (FRAME_PREDICTED, FRAME_REFRESH, MODE_INTER, MODE_PALETTE, MODE_SKIP,
                            MODE_SPLIT)
from ..common.parallel import check_threads, per_plane_in_bands, using_threads
from ..common.reconstruct import predict, reconstruct
from ..common.slices import SliceContexts, encode_slices, slice_rows
from ..common.syntax import PART_LABELS, PART_MOTION, PART_RESIDUAL, label_bits
from ..common.transform import STEP_ONE, plane_steps, quality_to_step, transform_size, zero_levels
from .analysis import block_means, block_sums_abs_dev, choose_slice_count
from .intra_decision import code_intra
from .motion_search import diamond_search, half_pel_planes, split_search
from .palette import fit_palette, nearest_labels
from .params import CodecParams
from .presets import effort, tools_in_effect
from .quantise import ROUNDING_INTER, ROUNDING_INTRA, forward_quantise
from .ratecontrol import RateController
from .rdoq import LAMBDA_INTER, LAMBDA_INTRA, rate_table

__all__ = ["Encoder", "EncodedFrame", "refresh_quality"]

#: Lagrange multiplier of the motion and mode decisions, in SAD units per bit, per unit of
#: quantiser step (H.264's reference encoder uses about 0.37 x its step for SAD costs).
LAMBDA_PER_STEP = 0.4
#: Multiplier used when no residual is sent (quality 0): bits are then all that is traded.
LAMBDA_NO_RESIDUAL = 4.0
#: Scene cut: send a refresh when the best motion-compensated SAD of the whole frame exceeds
#: this fraction of its "flat block" SAD (each block against its own mean), i.e. when the
#: previous picture predicts the new one hardly better than flat colours would...
SCENE_CUT_RATIO = 0.35
#: ...and that fraction jumped by this factor since the previous frame: a cut is sudden, while
#: a fade or a burst of fast motion stays hard to predict for many frames, and refreshing each
#: of them would cost several times more than palette blocks inside predicted frames. Measured
#: with the default +-64 pixel search on bikes and scene_cuts: the ten cuts jump 4.3x to 30x
#: (fraction 0.52 to 3.7; a wider search matches better across a cut), fast motion at most
#: 1.5x (bikes, frame 96, at 0.57). The first predicted picture has no jump to measure: a
#: small, busy picture (the 64x48 demo scene) starts at 0.53.
SCENE_CUT_JUMP = 2.5
#: Quality points added to a refresh frame's quality when the user fixes the quality (x264's
#: ipratio, in spirit): every predicted frame until the next refresh copies from it, so its
#: finer step pays many times over. 9 points = a 1.7x finer step. Balanced, first 60 frames,
#: quality 25-85, BD-rate against no bonus (carphone / bikes / scene_cuts / demo): +3
#: -0.3 / -1.0 / -6.2 / -2.1 %, +6 -0.3 / -1.1 / -10.3 / -4.0 %, +9 +0.2 / -1.5 / -13.6 /
#: -5.5 %, +12 +0.7 / -1.6 / -15.9 / -5.4 %. Rate control budgets refresh frames itself.
REFRESH_QUALITY_BONUS = 9
#: Tries at coding one frame: the first, and one at a lower quality when rate control finds
#: that it overshot badly.
_ATTEMPTS = 2
#: Rough bit costs used to compare palette and motion modes before coding.
_PALETTE_MODE_EXTRA_BITS = 1.0
_INTER_MODE_BITS = 4.0


def refresh_quality(quality: int) -> int:
    """The quality a refresh frame is coded at when the user fixes ``quality`` (0 stays 0:
    no residual)."""
    return min(100, quality + REFRESH_QUALITY_BONUS) if quality > 0 else 0


@dataclass(frozen=True)
class EncodedFrame:
    """One encoded frame: the packet plus what the encoder decided, for display and stats."""

    data: bytes
    frame_type: str                       # "refresh" or "predicted"
    frame_index: int
    motion_vectors: np.ndarray | None     # int32 (rows, cols, 2) (dx, dy) in pixels (a split
                                          # block's: its last quadrant's); None on refresh
    block_modes: np.ndarray               # int8 (rows, cols): MODE_* (skip, motion, split, palette, intra)
    block_size: int
    quality: int
    bytes_by_part: dict[str, int]         # header, palette, labels, motion, residual
    width: int
    height: int
    planes: Planes                        # the reconstruction as coded (padded YCrCb 4:2:0)
    #: int32 (rows, cols, 4, 2) each block's quadrant vectors in pixels (four different ones
    #: where block_modes is MODE_SPLIT); None on refresh.
    quadrant_vectors: np.ndarray | None = None

    @cached_property
    def reconstruction(self) -> np.ndarray:
        """H x W x 3 uint8 BGR, bit-identical to the decoder's output.

        Converted on first access only: a live encoder whose pictures are shown by the decoder
        never pays for the conversion.
        """
        return planes_to_frame(self.planes, self.width, self.height)


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
    check_frame_size(frame.shape[1], frame.shape[0])
    return np.ascontiguousarray(frame)


class Encoder:
    """Encodes BGR frames into self-delimiting packets.

    Args:
        params: codec settings; ``set_params`` changes them between frames.
        fps: frame rate of the input; only rate control (``params.target_kbps``) uses it.
        threads: threads that work on one frame (default: the cores this process may use).
            The stream is the same, byte for byte, for every thread count.
    """

    def __init__(self, params: CodecParams | None = None, fps: float = 30.0, *,
                 threads: int | None = None):
        if not fps > 0:
            raise ValueError(f"fps must be positive, got {fps!r}")
        self.threads = check_threads(threads)
        self._fps = float(fps)
        self._params = params if params is not None else CodecParams()
        self._rate_control = self._new_rate_control(self._params)
        self._force_refresh = True
        self._reference: Planes | None = None
        self._palette: np.ndarray | None = None
        self._block_size = self._params.block_size
        self._bands: list[tuple[int, int]] = []
        self._size: tuple[int, int] | None = None
        self._frame_index = 0
        self._since_refresh = 0
        self._prev_mvs: np.ndarray | None = None
        self._prediction_ratio: float | None = None
        #: The tools of the stream from the last refresh on (a refresh header states them; the
        #: first frame is always a refresh).
        self._tools = tools_in_effect(self._params)
        self._contexts = SliceContexts()
        self._coded_contexts: list[np.ndarray] | None = None   # of the last _entropy_code
        self._refresh_rates = rate_table(None)     # bits per context for refresh-frame RDOQ

    @property
    def params(self) -> CodecParams:
        return self._params

    def set_params(self, params: CodecParams) -> None:
        """New settings: quality, search range and preset apply to the next frame; block size,
        palette size and the coding tools (deblocking, intra prediction, quarter-pel vectors,
        split blocks, transform skip) take effect with a refresh, which is then sent as the
        next frame. A preset's own choice of tools (fast: no deblocking, half-pel vectors, no
        split blocks, no transform skip) waits for the next refresh."""
        if not isinstance(params, CodecParams):
            raise ValueError(f"params must be a CodecParams, got {type(params).__name__}")
        old = self._params
        if ((params.block_size, params.n_clusters, params.deblock, params.intra, params.qpel,
             params.split, params.tskip)
                != (old.block_size, old.n_clusters, old.deblock, old.intra, old.qpel, old.split,
                    old.tskip)):
            self._force_refresh = True
        if params.target_kbps != old.target_kbps:
            self._rate_control = self._new_rate_control(params)
        self._params = params

    def _new_rate_control(self, params: CodecParams) -> RateController | None:
        if params.target_kbps is None:
            return None
        return RateController(params.target_kbps, self._fps, params.quality)

    def _quality(self, frame_type: str) -> int:
        if self._rate_control is None:
            quality = self._params.quality
            return refresh_quality(quality) if frame_type == "refresh" else quality
        return self._rate_control.choose_quality(frame_type)

    def request_refresh(self) -> None:
        """Make the next frame a refresh (e.g. a receiver asked for one)."""
        self._force_refresh = True

    def encode(self, frame: np.ndarray, *, duration: float | None = None) -> EncodedFrame:
        """Encode one H x W x 3 uint8 BGR frame.

        ``duration``: seconds of wall-clock time this frame stands for (a live source that
        drops frames: the time since the previous coded frame); rate control then holds
        ``target_kbps`` per second of wall-clock time. None: one frame interval (1 / fps).
        """
        if self._rate_control is not None:
            self._rate_control.set_frame_duration(duration if duration is not None
                                                  else 1.0 / self._fps)
        with using_threads(self.threads):
            return self._encode(frame)

    def repeat(self) -> EncodedFrame:
        """A predicted frame that repeats the previous picture (every block skipped, no
        residual): a few bytes that keep a stream's timing where a live encoder had to drop
        frames. Rate control does not count it. ValueError before the first frame."""
        if self._reference is None or self._size is None:
            raise ValueError("there is no frame to repeat yet")
        bs = self._block_size
        rows, cols = self._reference.y.shape[0] // bs, self._reference.y.shape[1] // bs
        modes = np.full((rows, cols), MODE_SKIP, np.int8)
        vectors = np.zeros((rows, cols, 2), np.int32)
        labels = np.full((rows, cols), -1, np.int32)
        with using_threads(self.threads):
            symbols, costs = self._entropy_code(False, 0, modes, vectors, labels, self._palette,
                                                None, None, bs)
        self._since_refresh += 1
        self._prev_mvs = vectors
        return self._finish(PACKET_PREDICTED, pack_predicted_header(0), symbols, costs,
                            self._reference, modes, vectors, whole_block_quadrants(vectors), 0,
                            *self._size, palette_bytes=0)

    def _encode(self, frame: np.ndarray) -> EncodedFrame:
        frame = _check_frame(frame)
        h, w = frame.shape[:2]
        p = self._params
        refresh = (self._reference is None or self._force_refresh or (w, h) != self._size
                   or self._since_refresh + 1 >= p.refresh_interval)
        # A new block size always forces a refresh, so the planes fit whichever frame this is,
        # including a refresh sent after a scene cut was detected.
        planes = frame_to_planes(frame, p.block_size)
        result = None
        if not refresh:
            result = self._encode_predicted(planes, self._quality("predicted"), w, h)
        if result is None:
            self._block_size = p.block_size
            result = self._encode_refresh(planes, self._quality("refresh"), w, h)
        if self._rate_control is not None:
            self._rate_control.update(result.frame_type, result.quality, len(result.data))
        return result

    # -- refresh -------------------------------------------------------------------------
    def _encode_refresh(self, planes: Planes, quality: int, w: int, h: int) -> EncodedFrame:
        p = self._params
        bs = self._block_size
        means = block_means(planes, bs)
        rows, cols = means.shape[:2]
        slices = choose_slice_count(rows, cols, bs)
        self._bands = slice_rows(rows, slices)
        flat_means = means.reshape(-1, 3)
        palette = fit_palette(flat_means, p.n_clusters, self._palette,
                              iterations=effort(p.preset).palette_iterations)
        labels = nearest_labels(flat_means, palette).reshape(rows, cols)
        modes = np.full((rows, cols), MODE_PALETTE, np.int8)
        mvs = np.zeros((rows, cols, 2), np.int32)
        # A preset without the filter (fast) turns it off from this refresh on: its state is
        # stated in refresh headers only.
        self._tools = tools = tools_in_effect(p)
        prediction = None if tools.intra else predict(None, modes, mvs, labels, palette, bs)
        coded_labels = labels
        for attempt in range(_ATTEMPTS):
            if tools.intra:
                step = quality_to_step(quality) if quality > 0 else None
                modes, coded_labels, levels, tiles_coded, recon = code_intra(
                    planes, labels, palette, plane_steps(quality) if step else None,
                    ROUNDING_INTRA, LAMBDA_PER_STEP * step if step else LAMBDA_NO_RESIDUAL,
                    label_bits(len(palette)) + _PALETTE_MODE_EXTRA_BITS, bs, self._bands,
                    LAMBDA_INTRA if self._rdoq() else 0.0, self._refresh_rates, tools.tskip)
            else:
                levels, tiles_coded, recon = self._code_residual(prediction, planes, quality,
                                                                 ROUNDING_INTRA)
            header = pack_refresh_header(RefreshHeader(w, h, bs, quality, palette, slices,
                                                       tools.deblock, tools.intra, tools.qpel,
                                                       carry_contexts=True, split=tools.split,
                                                       context_model=2, tskip=tools.tskip))
            symbols, costs = self._entropy_code(True, quality, modes, mvs, coded_labels, palette,
                                                levels, tiles_coded, bs)
            retry = self._retry_quality("refresh", quality, len(header) + len(symbols), attempt)
            if retry is None:
                break
            quality = retry
        self._filter(recon, quality, tiles_coded, modes, whole_block_quadrants(mvs))
        self._palette = palette
        # Refresh frames' levels are chosen with the last refresh's statistics, not the
        # predicted frames' in between.
        self._refresh_rates = rate_table(self._coded_contexts)
        self._since_refresh = 0
        self._force_refresh = False
        self._prev_mvs = mvs
        return self._finish(PACKET_REFRESH, header, symbols, costs, recon, modes, None, None,
                            quality, w, h, palette_bytes=3 * len(palette))

    # -- predicted -----------------------------------------------------------------------
    def _encode_predicted(self, planes: Planes, quality: int, w: int, h: int) -> EncodedFrame | None:
        """A predicted frame, or None when the picture changed too much (scene cut)."""
        p = self._params
        work = effort(p.preset)
        bs = self._block_size
        palette = self._palette
        step = quality_to_step(quality) if quality > 0 else None
        lam = LAMBDA_PER_STEP * step if step is not None else LAMBDA_NO_RESIDUAL
        ref = self._reference
        halves = half_pel_planes(np.ascontiguousarray(ref.y))
        mvs, sads = diamond_search(planes.y, ref.y, bs, p.search_range, lam, self._prev_mvs,
                                   self._bands, work.early_stop, work.neighbour_stop,
                                   self._tools.pel_shift, work.quarter_pel, halves)
        means = block_means(planes, bs)
        rows, cols = means.shape[:2]
        nearest = nearest_labels(means.reshape(-1, 3), palette).reshape(rows, cols)
        # Each block against its own mean (how flat it is) and its palette colour, in one pass.
        flat_sad, palette_sad = block_sums_abs_dev(
            planes.y, bs, np.stack([means[:, :, 0], palette[nearest][:, :, 0]]))
        ratio = sads.sum() / (flat_sad.sum() + bs * bs)
        previous, self._prediction_ratio = self._prediction_ratio, ratio
        if previous is not None and ratio > max(SCENE_CUT_RATIO, SCENE_CUT_JUMP * previous):
            return None
        split = None
        if self._tools.split:
            split, quadrants = split_search(planes.y, ref.y, bs, p.search_range, lam, mvs, sads,
                                            self._bands, work.early_stop, work.neighbour_stop,
                                            self._tools.pel_shift, work.quarter_pel, halves,
                                            step, rate_table(self._contexts.kept))
        nbits = label_bits(len(palette)) + _PALETTE_MODE_EXTRA_BITS
        use_palette = palette_sad + lam * nbits < sads + lam * _INTER_MODE_BITS
        modes = np.where(use_palette, MODE_PALETTE, MODE_INTER).astype(np.int8)
        mvs[use_palette] = 0
        if split is None:
            quadrants = whole_block_quadrants(mvs)
        else:
            modes[split & ~use_palette] = MODE_SPLIT
            quadrants[use_palette] = 0
        labels = np.where(use_palette, nearest, -1).astype(np.int32)
        prediction = predict(ref, modes, quadrants, labels, palette, bs, self._tools.pel_shift)
        predictors = vector_predictors(quadrants, self._bands)
        mvd = mvs - predictors
        mvd[use_palette] = 0
        quadrant_mvd = None
        if split is not None:
            # A split block codes its quadrants; its first one's difference is what its
            # neighbours' vector contexts see.
            quadrant_mvd = quadrant_differences(quadrants, predictors)
            is_split = modes == MODE_SPLIT
            mvd[is_split] = quadrant_mvd[is_split, 0]
        coded_modes = modes
        for attempt in range(_ATTEMPTS):
            levels, tiles_coded, recon = self._code_residual(prediction, planes, quality,
                                                             ROUNDING_INTER, work.zero_residual)
            coded = self._blocks_with_residual(tiles_coded, rows, cols)
            coded_modes = modes.copy()
            coded_modes[(modes == MODE_INTER) & ~coded & ~mvd.any(axis=2)] = MODE_SKIP
            symbols, costs = self._entropy_code(False, quality, coded_modes, mvd, labels, palette,
                                                levels, tiles_coded, bs, quadrant_mvd)
            retry = self._retry_quality("predicted", quality, 1 + len(symbols), attempt)
            if retry is None:
                break
            quality = retry
        modes = coded_modes
        self._filter(recon, quality, tiles_coded, modes, quadrants)
        self._since_refresh += 1
        self._prev_mvs = mvs
        return self._finish(PACKET_PREDICTED, pack_predicted_header(quality), symbols, costs, recon,
                            modes, mvs, quadrants, quality, w, h, palette_bytes=0)

    # -- shared steps --------------------------------------------------------------------
    def _code_residual(self, prediction: Planes, planes: Planes, quality: int, rounding: float,
                       zero_residual: float = 0.0
                       ) -> tuple[tuple[np.ndarray, ...] | None, tuple[np.ndarray, ...] | None,
                                  Planes]:
        """(levels, tile maps per plane (``TILE_*``), reconstruction); levels and tile maps
        None at quality 0."""
        if quality == 0:
            return None, None, prediction
        block_sides = (self._block_size, self._block_size // 2, self._block_size // 2)
        tile_sides = [transform_size(side) for side in block_sides]
        steps = plane_steps(quality)
        levels = zero_levels(*planes.y.shape, self._block_size)
        coded = tuple(np.empty(lev.shape[:2], np.uint8) for lev in levels)

        # Encoder-only: levels chosen by rate and distortion, the rates as the range coder's
        # contexts stood after the last picture (what this one starts from).
        rates = rate_table(self._contexts.kept) if self._rdoq() else None

        def quantise(k: int, t0: int, t1: int) -> None:
            n = tile_sides[k]
            forward_quantise(planes[k][t0 * n:t1 * n], prediction[k][t0 * n:t1 * n], n,
                             steps[k] / STEP_ONE, rounding, zero_residual, out=levels[k][t0:t1],
                             coded=coded[k][t0:t1], rates=rates, chroma=k > 0,
                             rd_lambda=LAMBDA_INTER if rates is not None else 0.0,
                             tskip=self._tools.tskip)

        per_plane_in_bands(quantise, [len(lev) for lev in levels])
        return levels, coded, reconstruct(prediction, levels, steps, coded)

    def _rdoq(self) -> bool:
        """Whether levels are chosen by rate and distortion: asked for, in the preset, and
        no bitrate target. Rate control's size model does not follow RDOQ's picture-to-picture
        pricing yet: with it, 3 of the 12 rate-control cases of ``bench.ratecontrol`` let a
        2-second window fall 10.5-14 % short or run 12.8 % over (all 12 hold without)."""
        return (self._params.rdoq and self._rate_control is None
                and effort(self._params.preset).rdoq)

    def _filter(self, recon: Planes, quality: int, tiles_coded: tuple[np.ndarray, ...] | None,
                modes: np.ndarray, quadrants: np.ndarray) -> None:
        """The in-loop deblocking filter on the reconstruction, as the decoder applies it."""
        if self._tools.deblock and tiles_coded is not None:
            deblock(recon, plane_steps(quality), tiles_coded, modes, quadrants, self._block_size,
                    self._tools.pel_shift)

    def _retry_quality(self, frame_type: str, quality: int, n_bytes: int,
                       attempt: int) -> int | None:
        """The quality to code the frame again with, or None to keep this try (always after
        the last of _ATTEMPTS: its levels are the ones the packet states the quality of)."""
        if self._rate_control is None or attempt + 1 >= _ATTEMPTS:
            return None
        return self._rate_control.retry_quality(frame_type, quality, n_bytes)

    @staticmethod
    def _blocks_with_residual(tiles_coded: tuple[np.ndarray, ...] | None, rows: int,
                              cols: int) -> np.ndarray:
        """bool (rows, cols): whether any tile of the block carries residual (``tiles_coded``:
        per plane, the tile maps; None without residual)."""
        coded = np.zeros((rows, cols), bool)
        for tiles in tiles_coded or ():
            tr, tc = tiles.shape
            coded |= tiles.reshape(rows, tr // rows, cols, tc // cols).any(axis=(1, 3))
        return coded

    def _entropy_code(self, is_refresh, quality, modes, mvd, labels, palette, levels, tiles, bs,
                      quadrant_mvd=None):
        """The frame's symbols, from the contexts the decoder will start from (every refresh
        header says that predicted frames carry them on); ``_finish`` keeps what they end
        with, once the frame is the one sent."""
        self._coded_contexts = self._contexts.start(len(self._bands), not is_refresh)
        return encode_slices(is_refresh, modes, mvd.astype(np.int32, copy=False), labels,
                             label_bits(len(palette)), levels, bs, self._bands,
                             self._coded_contexts, intra=is_refresh and self._tools.intra,
                             split=not is_refresh and self._tools.split,
                             quadrant_mvd=None if quadrant_mvd is None
                             else quadrant_mvd.astype(np.int32, copy=False),
                             tiles=tiles, tskip=self._tools.tskip)

    def _finish(self, packet_type, header, symbols, costs, recon, modes, mvs, quadrants, quality,
                w, h, palette_bytes) -> EncodedFrame:
        index = self._frame_index
        data = build_packet(packet_type, index, header + symbols)
        labels_b, motion_b, residual_b = _split_bytes(len(symbols), costs[[PART_LABELS, PART_MOTION,
                                                                          PART_RESIDUAL]])
        parts = {"header": len(data) - len(symbols) - palette_bytes, "palette": palette_bytes,
                 "labels": labels_b, "motion": motion_b, "residual": residual_b}
        self._reference = recon
        self._size = (w, h)
        self._frame_index += 1
        self._contexts.keep(self._coded_contexts)
        pixel_mvs = None if mvs is None else vectors_in_pixels(mvs, self._tools.pel_shift)
        pixel_quadrants = (None if quadrants is None
                           else vectors_in_pixels(quadrants, self._tools.pel_shift))
        return EncodedFrame(
            data=data,
            frame_type=FRAME_REFRESH if packet_type == PACKET_REFRESH else FRAME_PREDICTED,
            frame_index=index, motion_vectors=pixel_mvs, block_modes=modes,
            block_size=self._block_size, quality=quality, bytes_by_part=parts,
            width=w, height=h, planes=recon, quadrant_vectors=pixel_quadrants)
