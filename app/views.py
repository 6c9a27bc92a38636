"""The four linked video views: original, reconstruction, motion vectors, error map."""
from __future__ import annotations

import pyqtgraph as pg
from PyQt6.QtCore import QRectF

from livecodec.app.view_images import ERROR_GAIN, LENGTH_BINS, LENGTH_COLOURS, ViewImages

__all__ = ["VideoViews"]

#: How long the REFRESH mark stays up: one frame (33 ms) would be invisible.
REFRESH_MARK_S = 0.3
_TITLE_COLOUR = "#d8d8d8"


def _legend() -> str:
    edges = ("",) + tuple(f"{e:g}" for e in LENGTH_BINS)
    swatches = []
    for i, colour in enumerate(LENGTH_COLOURS):
        label = f"&lt;{LENGTH_BINS[0]:g}" if i == 0 else (f"≥{edges[i]}" if i == len(LENGTH_BINS)
                                                            else f"{edges[i]}–{LENGTH_BINS[i]:g}")
        swatches.append(f"<span style='color:rgb{colour}'>■</span>{label}")
    return ("Motion vectors &nbsp;<small>" + " ".join(swatches) + " px &nbsp;"
            "<span style='color:#6e8cff'>■</span>skip "
            "<span style='color:#e63cc8'>■</span>intra</small>")


class _Pane:
    """One titled, aspect-locked image view."""

    def __init__(self, layout: pg.GraphicsLayout, row: int, col: int, title: str) -> None:
        self.title = layout.addLabel(title, row=2 * row, col=col, color=_TITLE_COLOUR, size="10pt")
        self.box: pg.ViewBox = layout.addViewBox(row=2 * row + 1, col=col, lockAspect=True,
                                                invertY=True, enableMenu=True)
        self.image = pg.ImageItem(axisOrder="row-major", autoDownsample=False)
        self.box.addItem(self.image)


class VideoViews(pg.GraphicsLayoutWidget):
    """2×2 views sharing one zoom: drag or wheel in any view to inspect the same spot in all four.

    Only the GUI thread calls show(); the arrays come ready from livecodec.app.view_images.
    """

    def __init__(self) -> None:
        super().__init__()
        self.setBackground("#141414")
        layout = self.ci
        layout.setSpacing(2)
        self.original = _Pane(layout, 0, 0, "Original")
        self.reconstruction = _Pane(layout, 0, 1, "Reconstruction")
        self.motion = _Pane(layout, 1, 0, _legend())
        self.error = _Pane(layout, 1, 1, f"Error |original − reconstruction| × {ERROR_GAIN}")
        self.panes = (self.original, self.reconstruction, self.motion, self.error)
        for pane in self.panes[1:]:
            pane.box.setXLink(self.original.box)
            pane.box.setYLink(self.original.box)
        self.modes = pg.ImageItem(axisOrder="row-major")
        self.motion.box.addItem(self.modes)
        self.arrows = [pg.PlotCurveItem(pen=pg.mkPen(colour, width=1.4), connect="pairs",
                                        antialias=True)
                       for colour in LENGTH_COLOURS]
        for curve in self.arrows:
            self.motion.box.addItem(curve)
        self.refresh_mark = pg.TextItem("REFRESH", color="#101010", fill=pg.mkBrush(255, 210, 0, 230),
                                        anchor=(0, 0))
        self.refresh_mark.setZValue(10)
        self.refresh_mark.hide()
        self.motion.box.addItem(self.refresh_mark)
        self._size: tuple[int, int] | None = None
        self._refresh_until = 0.0

    def show_frame(self, views: ViewImages) -> None:
        """Draw one prepared frame in all four views."""
        height, width = views.original.shape[:2]
        for pane, image in ((self.original, views.original),
                            (self.reconstruction, views.reconstruction),
                            (self.motion, views.backdrop), (self.error, views.error)):
            pane.image.setImage(image, autoLevels=False)
        rows, cols = views.modes.shape[:2]
        self.modes.setImage(views.modes, autoLevels=False)
        self.modes.setRect(QRectF(0, 0, cols * views.block_size, rows * views.block_size))
        for curve, pairs in zip(self.arrows, views.segments):
            curve.setData(pairs[:, 0], pairs[:, 1])
        if views.is_refresh:
            self._refresh_until = views.stats.shown_at + REFRESH_MARK_S
        self.refresh_mark.setVisible(views.stats.shown_at < self._refresh_until)
        if self._size != (width, height):
            self._size = (width, height)
            self.original.box.setRange(xRange=(0, width), yRange=(0, height), padding=0)
