"""Scrolling plots of PSNR and bitrate (split by stream part) over the last seconds."""
from __future__ import annotations

from collections import deque

import numpy as np
import pyqtgraph as pg
from PyQt6.QtWidgets import QGraphicsItem, QVBoxLayout, QWidget

from livecodec.app.pipeline import FrameStats

__all__ = ["RingBuffer", "StatsPlots", "BITRATE_WINDOW_S"]

#: Bitrate is summed over this trailing window: per-frame sizes swing 10× between refresh and
#: predicted frames, a one-second sum is what a link actually carries.
BITRATE_WINDOW_S = 1.0
#: Stacked bitrate layers, bottom to top: (label, stream parts, RGB).
LAYERS = (
    ("residual", ("residual",), (70, 140, 240)),
    ("motion", ("motion",), (90, 200, 120)),
    ("palette + labels", ("header", "palette", "labels"), (240, 170, 60)),
)
_COLUMNS = 2 + len(LAYERS)  # time, PSNR, then one cumulative kbps per layer


class RingBuffer:
    """Fixed-capacity rows of floats; the oldest row is overwritten when full."""

    def __init__(self, capacity: int, columns: int) -> None:
        self._data = np.zeros((capacity, columns))
        self._next = 0
        self._count = 0

    def append(self, row: np.ndarray | list[float]) -> None:
        self._data[self._next] = row
        self._next = (self._next + 1) % len(self._data)
        self._count = min(self._count + 1, len(self._data))

    def view(self) -> np.ndarray:
        """All rows, oldest first (a copy)."""
        if self._count < len(self._data):
            return self._data[:self._count].copy()
        return np.roll(self._data, -self._next, axis=0)

    def __len__(self) -> int:
        return self._count

    def clear(self) -> None:
        self._next = self._count = 0


class StatsPlots(QWidget):
    """PSNR (dB) and stacked bitrate (kbps) against seconds before now.

    add() is cheap and may be called for every frame; redraw() does the drawing and is meant for
    a 10–20 Hz timer.
    """

    def __init__(self, seconds: float = 20.0, max_fps: float = 120.0) -> None:
        super().__init__()
        self.seconds = seconds
        self._rows = RingBuffer(int(seconds * max_fps), _COLUMNS)
        self._window: deque[tuple[float, np.ndarray]] = deque()
        self._window_sum = np.zeros(len(LAYERS))
        self._y_ranges: dict[int, tuple[float, float]] = {}
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.psnr_plot = self._plot("PSNR", "dB")
        self.psnr_curve = self.psnr_plot.plot(pen=pg.mkPen((255, 220, 90), width=1.5))
        self.kbps_plot = self._plot("Bitrate", "kbps")
        self.kbps_plot.addLegend(offset=(4, 2), labelTextSize="8pt", colCount=3,
                                   brush=(20, 20, 20, 140))
        # Drawn top layer first, each filled down to zero, so the lower layers paint over it.
        self.layer_curves = {}
        for label, _parts, colour in reversed(LAYERS):
            self.layer_curves[label] = self.kbps_plot.plot(
                pen=pg.mkPen(colour, width=1), fillLevel=0, brush=pg.mkBrush(*colour, 150), name=label)
        layout.addWidget(self.psnr_plot)
        layout.addWidget(self.kbps_plot)

    def _plot(self, title: str, units: str) -> pg.PlotWidget:
        plot = pg.PlotWidget(background="#1b1b1b")
        plot.setTitle(title, color="#d8d8d8", size="9pt")
        plot.setLabel("left", units)
        plot.setLabel("bottom", "seconds ago")
        plot.showGrid(x=True, y=True, alpha=0.2)
        plot.setXRange(-self.seconds, 0, padding=0)
        plot.setMouseEnabled(x=False, y=False)
        plot.setMenuEnabled(False)
        plot.hideButtons()
        plot.disableAutoRange()  # redraw() sets stepped ranges: fewer costly axis repaints
        plot.setClipToView(True)
        plot.setMinimumHeight(140)
        for axis in plot.getPlotItem().axes.values():
            # Replay a cached pixmap unless the range changed: the text is the costly part.
            axis["item"].setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
        return plot

    def add(self, stats: FrameStats) -> None:
        """Append one frame's PSNR and its contribution to the trailing bitrate."""
        kbits = np.array([sum(stats.bytes_by_part.get(p, 0) for p in parts) * 8 / 1000
                          for _label, parts, _colour in LAYERS])
        self._window.append((stats.shown_at, kbits))
        self._window_sum += kbits
        while self._window and self._window[0][0] <= stats.shown_at - BITRATE_WINDOW_S:
            self._window_sum -= self._window.popleft()[1]
        kbps = self._window_sum / BITRATE_WINDOW_S
        self._rows.append([stats.shown_at, stats.psnr, *np.cumsum(kbps)])

    def clear(self) -> None:
        self._rows.clear()
        self._window.clear()
        self._window_sum[:] = 0

    def redraw(self, now: float) -> None:
        """Redraw both plots with time measured back from now (time.monotonic())."""
        rows = self._rows.view()
        rows = rows[rows[:, 0] >= now - self.seconds - 1]
        t = rows[:, 0] - now
        self.psnr_curve.setData(t, rows[:, 1])
        for i, (label, _parts, _colour) in enumerate(LAYERS):
            self.layer_curves[label].setData(t, rows[:, 2 + i])
        if len(rows):
            psnr, total = rows[:, 1], rows[:, -1]
            if not np.isnan(psnr).all():    # NaN: a played stream without its reference
                self._set_y(self.psnr_plot, np.floor(np.nanmin(psnr)), np.ceil(np.nanmax(psnr)))
            self._set_y(self.kbps_plot, 0.0, _round_up(total.max()))

    def _set_y(self, plot: pg.PlotWidget, low: float, high: float) -> None:
        """Change the y range only when its rounded bounds change: each change repaints the axis."""
        bounds = (low, max(high, low + 1))
        if self._y_ranges.get(id(plot)) != bounds:
            self._y_ranges[id(plot)] = bounds
            plot.setYRange(*bounds, padding=0.05)


def _round_up(value: float) -> float:
    """value rounded up to 1, 2 or 5 times a power of ten (at least 1)."""
    if value <= 1:
        return 1.0
    power = 10 ** np.floor(np.log10(value))
    return float(next(m * power for m in (1, 2, 5, 10) if m * power >= value))
