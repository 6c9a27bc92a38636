"""Rate control: choose each frame's quality so the bitrate holds a target.

A leaky bucket tracks how many bits the stream is ahead of (or behind) the target; each frame's
bit target is the per-frame budget minus a share of that excess, so any overshoot is paid back
within about half a second and a two-second window stays close to the target. The quality
for that bit target comes from a one-parameter model per frame type: bits double for every
``Q_DOUBLING`` quality points (the quantiser step halves every 12 points and the coded size
follows it closely), times a complexity that is a running average over recent frames of the
same type (one frame alone is a noisy anchor: sources with repeated frames alternate).
"""
from __future__ import annotations

import math

__all__ = ["RateController"]

#: Quality points per doubling of the coded size (measured: 11-13 on the shared clips).
Q_DOUBLING = 12.0
#: Frames over which a bucket excess is paid back (in seconds of video).
PAYBACK_SECONDS = 0.5
#: Largest quality step between consecutive predicted frames: big jumps flicker, and at low
#: rates they feed an alternation (a fine frame after a coarse one pays for its reference's
#: errors): with 6, carphone at 40 kbps swung 14 / 20 frame by frame and a 2-s window ran
#: 10.1 % over once the motion search took its exact predictors; 4 holds all 12 cases of
#: bench.ratecontrol (lowest window 0.939, highest 1.058; PSNR 0.0-0.3 dB lower), 5 let
#: scene_cuts at 440 kbps fall 11.3 % short, 3 costs up to 0.4 dB.
MAX_STEP_PREDICTED = 4
#: A refresh frame may spend at most this many frame budgets; its excess is paid back after, so
#: it is the deficit of a 2-s window that holds the payback but not the refresh (3 let
#: scene_cuts fall 10.5 % short at 440 kbps after a scheduled refresh and a cut in a row; 2.5
#: 11.1 % once predicted frames carried their contexts; 2.25 holds every clip at 0.05-0.2 bpp,
#: lowest window 0.909, for at most 0.11 dB of PSNR).
REFRESH_BUDGETS = 2.25
#: A frame that came out this much over its bit target is coded once more at the quality the
#: model now suggests (the first try anchors the model on this very picture). Refresh frames
#: are few and large, so they are held tighter than predicted ones.
RETRY_OVERSHOOT = {"refresh": 1.25, "predicted": 2.0}
#: Weight of the newest frame in the running complexity average (0.3 reacted too slowly after
#: a burst of fast motion on bikes: a 2-s window fell 10 % short; 0.7 holds every clip).
COMPLEXITY_SMOOTHING = 0.7
#: Quality range the controller uses (0, no residual at all, is left to the user).
MIN_QUALITY, MAX_QUALITY = 1, 100
#: A frame's wall-clock duration counts between these multiples of the nominal frame interval:
#: a live encoder that drops every other frame gives each coded frame two intervals of bits,
#: but one stall (a slow refresh) must not hand a single frame a second's worth.
MIN_DURATION_FRAMES, MAX_DURATION_FRAMES = 0.25, 8.0


class RateController:
    """Per-frame quality choice for a target bitrate.

    Args:
        target_kbps: bitrate to hold.
        fps: frame rate of the stream (bits per frame = target / fps).
        start_quality: quality of the first frames, before any size is known.
    """

    def __init__(self, target_kbps: float, fps: float, start_quality: int):
        self._bits_per_second = target_kbps * 1000.0
        self._interval = 1.0 / fps
        self.frame_budget = self._bits_per_second * self._interval
        self._payback_frames = max(1.0, PAYBACK_SECONDS * fps)
        self._excess = 0.0
        self._last_quality: dict[str, int] = {}
        self._complexity: dict[str, float] = {}    # bits / 2^(quality / Q_DOUBLING)
        self._start_quality = min(max(start_quality, MIN_QUALITY), MAX_QUALITY)

    @property
    def excess_bits(self) -> float:
        """Bits sent beyond the target so far (negative: under budget)."""
        return self._excess

    def set_frame_duration(self, seconds: float) -> None:
        """The wall-clock time the next frame stands for (the time since the previous coded
        frame was captured): its budget is the target bitrate times that, so what reaches the
        link per second holds the target even when a live encoder drops frames."""
        low, high = MIN_DURATION_FRAMES * self._interval, MAX_DURATION_FRAMES * self._interval
        self.frame_budget = self._bits_per_second * min(max(seconds, low), high)

    def frame_target(self, frame_type: str) -> float:
        """Bits the next frame of ``frame_type`` should spend."""
        budgets = REFRESH_BUDGETS if frame_type == "refresh" else 1.0
        target = budgets * self.frame_budget - self._excess / self._payback_frames
        return max(target, 0.1 * self.frame_budget)

    def choose_quality(self, frame_type: str) -> int:
        """Quality for the next frame of ``frame_type`` ("refresh" or "predicted")."""
        target = self.frame_target(frame_type)
        complexity = self._complexity.get(frame_type)
        if complexity is None:
            if frame_type == "refresh" and "predicted" in self._last_quality:
                return self._clamp(self._last_quality["predicted"])
            return self._start_quality
        wanted = Q_DOUBLING * math.log2(target / complexity)
        quality = self._last_quality[frame_type]
        if frame_type == "predicted":
            wanted = min(max(wanted, quality - MAX_STEP_PREDICTED), quality + MAX_STEP_PREDICTED)
        return self._clamp(wanted)

    def retry_quality(self, frame_type: str, quality: int, n_bytes: int) -> int | None:
        """A lower quality to code a frame again with, if its first try overshot badly."""
        target = self.frame_target(frame_type)
        bits = 8.0 * n_bytes
        if bits <= RETRY_OVERSHOOT[frame_type] * target or quality <= MIN_QUALITY:
            return None
        lower = self._clamp(quality + Q_DOUBLING * math.log2(target / bits))
        return lower if lower < quality else None

    def update(self, frame_type: str, quality: int, n_bytes: int) -> None:
        """Account for a coded frame."""
        bits = 8.0 * n_bytes
        self._excess += bits - self.frame_budget
        complexity = max(bits, 1.0) / 2.0 ** (quality / Q_DOUBLING)
        previous = self._complexity.get(frame_type)
        if previous is not None:
            complexity = (COMPLEXITY_SMOOTHING * complexity
                          + (1.0 - COMPLEXITY_SMOOTHING) * previous)
        self._complexity[frame_type] = complexity
        self._last_quality[frame_type] = quality

    @staticmethod
    def _clamp(quality: float) -> int:
        return int(min(max(round(quality), MIN_QUALITY), MAX_QUALITY))
