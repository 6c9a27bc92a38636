"""Encoder overload: notice when the live encoder cannot keep up, and pick a preset that can.

A live encoder that is too slow for its source shows up as dropped frames: the raw-frame queue
in front of it throws away the oldest frame. Over a short window the governor turns drop counts
into a state, as OBS does ("Encoding overloaded!"): the window says so in its status bar, and
with ``--preset auto`` the pipeline steps down to a faster preset, then back up once the
encoder has had headroom for a while. Decisions are held for a few seconds after each change,
so the preset does not flap while the statistics settle.
"""
from __future__ import annotations

from collections import deque
from dataclasses import dataclass

from livecodec.codec import PRESETS

__all__ = ["LoadGovernor", "LoadChange", "AUTO_PRESET", "AUTO_PRESETS", "OVERLOAD_WINDOW_S"]

#: The live default: the pipeline chooses between ``AUTO_PRESETS`` by itself.
AUTO_PRESET = "auto"
#: What auto moves between, fastest first; "best" is for files, not for live work.
AUTO_PRESETS = ("fast", "balanced")
#: Drops are counted over this span.
OVERLOAD_WINDOW_S = 2.0
#: Overloaded: more than this share of the captured frames dropped over the window while the
#: median encode time is at least this share of the frame interval (frames dropped while the
#: encoder idles are the decoder's or the window's doing; a faster preset would not help).
OVERLOAD_DROP_RATIO = 0.05
ENCODER_BUSY_SHARE = 0.7
#: Headroom: no drop, and the median encode time below this share of the frame interval
#: (the next slower preset costs up to about 1.6x the time), for ``HEADROOM_HOLD_S``.
HEADROOM_ENCODE_SHARE = 0.5
HEADROOM_HOLD_S = 6.0
#: After a preset change, no new decision for this long (the queues and medians settle).
SETTLE_S = 3.0


@dataclass(frozen=True)
class LoadChange:
    """What the governor decided: a message for the user and the preset to use now."""

    level: str          #: "warning" (overloaded) or "info" (recovered)
    text: str
    preset: str


class LoadGovernor:
    """Turns (time, captured, dropped, encode ms) samples into overload state and presets.

    Args:
        preset: the preset asked for: AUTO_PRESET, or one of codec.PRESETS (then it is kept
            and the governor only warns).
    """

    def __init__(self, preset: str) -> None:
        if preset != AUTO_PRESET and preset not in PRESETS:
            raise ValueError(f"preset must be auto or one of {', '.join(PRESETS)}, got {preset!r}")
        self.auto = preset == AUTO_PRESET
        self.preset = AUTO_PRESETS[-1] if self.auto else preset
        self.overloaded = False
        self._advised = False           # told the user what to try during this overload
        self.drop_ratio = 0.0
        self._samples: deque[tuple[float, int, int]] = deque()
        self._settle_until = 0.0
        self._headroom_since: float | None = None

    def update(self, now: float, captured: int, dropped: int, encode_ms: float,
               frame_interval_s: float) -> LoadChange | None:
        """Account for the latest counters; a LoadChange when the state or preset changes."""
        if now < self._settle_until:
            return None             # counts from before a change or a start are not sampled
        self._samples.append((now, captured, dropped))
        while len(self._samples) > 2 and now - self._samples[1][0] >= OVERLOAD_WINDOW_S:
            self._samples.popleft()
        first_t, first_captured, first_dropped = self._samples[0]
        if now - first_t < OVERLOAD_WINDOW_S * 0.9:
            return None
        captured_delta = captured - first_captured
        self.drop_ratio = (dropped - first_dropped) / captured_delta if captured_delta > 0 else 0.0
        busy = encode_ms >= ENCODER_BUSY_SHARE * frame_interval_s * 1000
        if self.drop_ratio > OVERLOAD_DROP_RATIO and busy:
            self._headroom_since = None
            return self._overloaded(now)
        if self.overloaded:
            self.overloaded = self._advised = False
            return LoadChange("info", "encoder keeps up again", self.preset)
        if self.drop_ratio <= OVERLOAD_DROP_RATIO and (
                encode_ms < HEADROOM_ENCODE_SHARE * frame_interval_s * 1000):
            self._headroom_since = self._headroom_since if self._headroom_since is not None else now
            if now - self._headroom_since >= HEADROOM_HOLD_S:
                return self._step_up(now)
        else:
            self._headroom_since = None
        return None

    def restart(self, now: float) -> None:
        """A new stream (source or size) starts: its first seconds (kernels warming up, the
        first palette) say nothing about the load, and old counts belong to the old stream."""
        self._samples.clear()
        self._settle_until = now + SETTLE_S
        self._headroom_since = None

    def _overloaded(self, now: float) -> LoadChange | None:
        dropped = f"{self.drop_ratio:.0%} of frames dropped in the last {OVERLOAD_WINDOW_S:.0f} s"
        faster = self._neighbour(-1)
        if faster is not None:
            self._switch(faster, now)
            self.overloaded = True
            return LoadChange("warning", f"encoder overloaded: {dropped}; switched to the "
                                         f"{faster} preset", faster)
        if self._advised:
            return None             # said already; nothing faster to try
        self.overloaded = self._advised = True
        advice = ("try a larger block size or a smaller capture size" if self.auto or
                  self.preset == PRESETS[0] else "try the fast preset, a larger block size or "
                                                 "a smaller capture size")
        return LoadChange("warning", f"encoder overloaded: {dropped}; {advice}", self.preset)

    def _step_up(self, now: float) -> LoadChange | None:
        slower = self._neighbour(+1)
        self._headroom_since = None
        if slower is None:
            return None
        self._switch(slower, now)
        return LoadChange("info", f"encoder has headroom: back to the {slower} preset", slower)

    def _neighbour(self, step: int) -> str | None:
        """The next faster (-1) or slower (+1) preset auto may use, if any."""
        if not self.auto:
            return None
        i = AUTO_PRESETS.index(self.preset) + step
        return AUTO_PRESETS[i] if 0 <= i < len(AUTO_PRESETS) else None

    def _switch(self, preset: str, now: float) -> None:
        self.preset = preset
        self.restart(now)
