"""The four linked video views: original, reconstruction, motion vectors, error map.

All four always show the same part of the picture at the same scale: the whole picture, as
large as the smallest view allows, until the user zooms or pans one of them (wheel, drag); then
the others follow, and "View all" (right-click) or a new frame size shows the whole picture
again. The views keep that through window resizes. pyqtgraph's own view linking copies x and y
ranges between views of different sizes, and with the aspect locked that cropped the picture in
the narrower views, so the views here share (centre, scale) instead.
"""
from __future__ import annotations

from typing import Callable

import pyqtgraph as pg
from PyQt6.QtCore import QRectF, Qt

from livecodec.app.view_images import (ERROR_GAIN, LENGTH_BINS, LENGTH_COLOURS, PARTITION_COLOUR,
                                       ViewImages)

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
            f"<span style='color:rgb{PARTITION_COLOUR}'>┼</span>split "
            "<span style='color:#e63cc8'>■</span>intra</small>")


class _Title(pg.LabelItem):
    """A view title that asks for no width of its own, so a long title (the motion legend)
    cannot make its column, and so its view, wider than the others."""

    def updateMin(self) -> None:
        super().updateMin()
        height = self.itemRect().height()
        self.setMinimumWidth(0)
        self._sizeHint[Qt.SizeHint.MinimumSize] = (0, height)
        self._sizeHint[Qt.SizeHint.PreferredSize] = (0, height)
        self.updateGeometry()


class _ImageBox(pg.ViewBox):
    """An aspect-locked, y-down view whose "View all" shows the whole picture in every view."""

    def __init__(self, view_all: Callable[[], None]) -> None:
        super().__init__(lockAspect=True, invertY=True, enableMenu=True)
        self._view_all = view_all
        self.disableAutoRange()

    def autoRange(self, *args, **kwargs) -> None:  # the menu's "View All"
        self._view_all()


class _Pane:
    """One titled, aspect-locked image view."""

    def __init__(self, layout: pg.GraphicsLayout, row: int, col: int, title: str,
                 view_all: Callable[[], None]) -> None:
        self.title = _Title(title, color=_TITLE_COLOUR, size="10pt")
        layout.addItem(self.title, row=2 * row, col=col)
        self.box = _ImageBox(view_all)
        layout.addItem(self.box, row=2 * row + 1, col=col)
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
        self.original = _Pane(layout, 0, 0, "Original", self.view_all)
        self.reconstruction = _Pane(layout, 0, 1, "Reconstruction", self.view_all)
        self.motion = _Pane(layout, 1, 0, _legend(), self.view_all)
        self.error = _Pane(layout, 1, 1, f"Error |original − reconstruction| × {ERROR_GAIN}",
                           self.view_all)
        self.panes = (self.original, self.reconstruction, self.motion, self.error)
        grid = layout.layout
        for index in (0, 1):
            grid.setColumnStretchFactor(index, 1)
            grid.setRowStretchFactor(2 * index + 1, 1)
        #: What all four show: None for the whole picture, else (centre x, centre y, picture
        #: pixels per screen pixel) after the user zoomed or panned.
        self._view: tuple[float, float, float] | None = None
        self._applying = False
        for pane in self.panes:
            pane.box.sigRangeChangedManually.connect(
                lambda _mask, box=pane.box: self._follow(box))
            pane.box.sigResized.connect(lambda _box: self._apply())
        self.modes = pg.ImageItem(axisOrder="row-major")
        self.motion.box.addItem(self.modes)
        self.refresh_mark = pg.TextItem("REFRESH", color="#101010", fill=pg.mkBrush(255, 210, 0, 230),
                                        anchor=(0, 0))
        self.refresh_mark.setZValue(10)
        self.refresh_mark.hide()
        self.motion.box.addItem(self.refresh_mark)
        self._size: tuple[int, int] | None = None
        self._refresh_until = 0.0
        #: Picture pixels per device pixel in the views (read by the thread preparing frames:
        #: above 1 it scales the pictures down to what the screen shows).
        self.display_scale = 1.0

    def show_frame(self, views: ViewImages) -> None:
        """Draw one prepared frame in all four views."""
        width, height = views.size
        picture = QRectF(0, 0, width, height)
        for pane, image in ((self.original, views.original),
                            (self.reconstruction, views.reconstruction),
                            (self.motion, views.motion), (self.error, views.error)):
            pane.image.setImage(image, autoLevels=False)
            pane.image.setRect(picture)     # display-size images over the picture's pixels
        rows, cols = views.modes.shape[:2]
        self.modes.setImage(views.modes, autoLevels=False)
        self.modes.setRect(QRectF(0, 0, cols * views.block_size, rows * views.block_size))
        if views.is_refresh:
            self._refresh_until = views.stats.shown_at + REFRESH_MARK_S
        self.refresh_mark.setVisible(views.stats.shown_at < self._refresh_until)
        if self._size != (width, height):
            self._size = (width, height)
            self.view_all()

    @property
    def image_size(self) -> tuple[int, int] | None:
        """(width, height) of the pictures shown; None before the first frame."""
        return self._size

    def view_all(self) -> None:
        """Show the whole picture in all four views, at the one scale that fits the smallest."""
        self._view = None
        self._apply()

    def _follow(self, box: pg.ViewBox) -> None:
        """The user zoomed or panned `box`: show the same spot at the same scale in the others."""
        if self._applying or box.width() <= 0:
            return
        (x0, x1), (y0, y1) = box.viewRange()
        self._view = ((x0 + x1) / 2, (y0 + y1) / 2, (x1 - x0) / box.width())
        self._apply()

    def _apply(self) -> None:
        """Give every view the shared centre and scale for its own size."""
        if self._size is None or self._applying:
            return
        boxes = [pane.box for pane in self.panes if pane.box.width() > 0 and pane.box.height() > 0]
        if not boxes:
            return
        if self._view is None:
            width, height = self._size
            per_pixel = max(max(width / box.width(), height / box.height()) for box in boxes)
            centre_x, centre_y = width / 2, height / 2
        else:
            centre_x, centre_y, per_pixel = self._view
        self.display_scale = per_pixel / max(1.0, self.devicePixelRatioF())
        self._applying = True
        try:
            for box in boxes:
                span_x, span_y = box.width() * per_pixel, box.height() * per_pixel
                box.setRange(QRectF(centre_x - span_x / 2, centre_y - span_y / 2, span_x, span_y),
                             padding=0)
        finally:
            self._applying = False
