"""Codec parameter sliders and the source selector of the window."""
from __future__ import annotations

import os
from dataclasses import dataclass

from PyQt6.QtCore import Qt, pyqtSignal
from PyQt6.QtWidgets import (QCheckBox, QComboBox, QFileDialog, QGridLayout, QInputDialog,
                             QLabel, QSlider, QSpinBox, QWidget)

from livecodec.app.overload import AUTO_PRESET
from livecodec.app.sources import RECEIVE_PREFIX, is_url, redacted_url
from livecodec.codec import BLOCK_SIZES, PRESETS, CodecParams

__all__ = ["ParamControls", "SourceSelector", "SizeSelector", "CAPTURE_SIZES"]

#: Capture sizes offered in the window (what webcams deliver); None: the source's own.
CAPTURE_SIZES: tuple[tuple[int, int] | None, ...] = (None, (640, 480), (1280, 720), (1920, 1080))


@dataclass(frozen=True)
class _Slider:
    field: str
    label: str
    low: int
    high: int
    page: int
    tip: str


_SLIDERS = (
    _Slider("n_clusters", "Clusters", 2, 256, 8,
            "Palette size of refresh frames (2–256): more colours, more bits, higher PSNR.\n"
            "Takes effect at the next refresh frame."),
    _Slider("block_size", "Block size", 0, len(BLOCK_SIZES) - 1, 1,
            "Side of a coding block in pixels (4, 8, 16, 32): small blocks follow detail and motion\n"
            "closely but cost more bits. Takes effect at the next refresh frame."),
    _Slider("refresh_interval", "Refresh every", 1, 1000, 10,
            "At most this many frames from one refresh (self-contained) frame to the next (1–1000);\n"
            "1 makes every frame a refresh."),
    _Slider("quality", "Quality", 0, 100, 10,
            "Residual fidelity (0–100); 0 sends no residual: palette and motion only."),
    _Slider("search_range", "Search range", 1, 64, 4,
            "Motion search window, ± pixels (1–64): wider catches faster motion but costs time."),
)

#: Range of the target bitrate control (kbps): from a thumbnail-sized stream to 720p at high
#: quality; the codec itself accepts 1-100000.
TARGET_KBPS_RANGE = (50, 20_000)
#: Offered when the control is first switched on: a good 640×480 stream at 30 fps.
DEFAULT_TARGET_KBPS = 1000
_TARGET_TIP = ("Rate control: the encoder picks the quality of every frame to hold this bitrate\n"
               "(frames it skips when busy are not sent, so the link may carry less).\n"
               "While on, the Quality slider follows the quality it picks.")
_PRESET_TIP = ("Encoder effort: fast, balanced or best compression per second of CPU.\n"
               "auto (the live default) starts balanced, moves to fast when the encoder drops\n"
               "frames and back when it has headroom; the Preset readout shows the one in use.")


class ParamControls(QWidget):
    """One slider per codec setting, its value shown beside it, a target bitrate and the preset.

    Emits params_changed(CodecParams) whenever a control changes (by mouse, keyboard or code);
    ``auto_preset`` says whether the preset choice is "auto" (the pipeline's to make).
    """

    params_changed = pyqtSignal(object)

    def __init__(self, params: CodecParams, auto_preset: bool = False) -> None:
        super().__init__()
        self._base = params
        self.sliders: dict[str, QSlider] = {}
        self.value_labels: dict[str, QLabel] = {}
        grid = QGridLayout(self)
        grid.setContentsMargins(0, 0, 0, 0)
        grid.setVerticalSpacing(2)
        for row, spec in enumerate(_SLIDERS):
            name = QLabel(spec.label)
            slider = QSlider(Qt.Orientation.Horizontal)
            slider.setRange(spec.low, spec.high)
            slider.setPageStep(spec.page)
            value = QLabel()
            value.setMinimumWidth(34)
            value.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            for widget in (name, slider, value):
                widget.setToolTip(spec.tip)
            slider.setAccessibleName(spec.label)
            grid.addWidget(name, row, 0)
            grid.addWidget(slider, row, 1)
            grid.addWidget(value, row, 2)
            self.sliders[spec.field] = slider
            self.value_labels[spec.field] = value
        self.target_check = QCheckBox("Target bitrate")
        self.target_kbps = QSpinBox()
        self.target_kbps.setRange(*TARGET_KBPS_RANGE)
        self.target_kbps.setSingleStep(50)
        self.target_kbps.setSuffix(" kbps")
        self.target_kbps.setValue(DEFAULT_TARGET_KBPS)
        self.target_kbps.setKeyboardTracking(False)  # typing 1500 must not ask for 1, 15, 150
        self.target_kbps.setAccessibleName("Target bitrate in kbps")
        for widget in (self.target_check, self.target_kbps):
            widget.setToolTip(_TARGET_TIP)
        grid.addWidget(self.target_check, len(_SLIDERS), 0)
        grid.addWidget(self.target_kbps, len(_SLIDERS), 1, 1, 2)
        preset_label = QLabel("Preset")
        self.preset = QComboBox()
        for choice in (AUTO_PRESET, *PRESETS):
            self.preset.addItem(choice, choice)
        self.preset.setAccessibleName("Encoder preset")
        for widget in (preset_label, self.preset):
            widget.setToolTip(_PRESET_TIP)
        grid.addWidget(preset_label, len(_SLIDERS) + 1, 0)
        grid.addWidget(self.preset, len(_SLIDERS) + 1, 1, 1, 2)
        self.set_params(params, auto_preset)
        for slider in self.sliders.values():
            slider.valueChanged.connect(self._changed)
        self.target_check.toggled.connect(self._changed)
        self.target_kbps.valueChanged.connect(self._changed)
        self.preset.currentIndexChanged.connect(self._changed)

    @property
    def auto_preset(self) -> bool:
        return self.preset.currentData() == AUTO_PRESET

    @property
    def params(self) -> CodecParams:
        """The settings the sliders show (fields without a slider come from the initial params)."""
        values: dict[str, int | float | None] = {
            field: slider.value() for field, slider in self.sliders.items()}
        values["block_size"] = BLOCK_SIZES[values["block_size"]]
        values["target_kbps"] = (float(self.target_kbps.value()) if self.target_check.isChecked()
                                 else None)
        if not self.auto_preset:
            values["preset"] = self.preset.currentData()
        return self._base.with_changes(**values)

    def set_params(self, params: CodecParams, auto_preset: bool) -> None:
        """Show params and the preset choice without emitting params_changed."""
        self._base = params
        self.preset.blockSignals(True)
        self.preset.setCurrentIndex(self.preset.findData(AUTO_PRESET if auto_preset
                                                         else params.preset))
        self.preset.blockSignals(False)
        for field, slider in self.sliders.items():
            value = getattr(params, field)
            slider.blockSignals(True)
            slider.setValue(BLOCK_SIZES.index(value) if field == "block_size" else value)
            slider.blockSignals(False)
        for widget in (self.target_check, self.target_kbps):
            widget.blockSignals(True)
        self.target_check.setChecked(params.target_kbps is not None)
        if params.target_kbps is not None:
            self.target_kbps.setValue(round(params.target_kbps))
        for widget in (self.target_check, self.target_kbps):
            widget.blockSignals(False)
        self._show_values()

    def show_chosen_quality(self, quality: int) -> None:
        """Under rate control, move the (disabled) quality slider to the quality it picked, so
        switching rate control off carries on from there."""
        if self.target_check.isChecked():
            slider = self.sliders["quality"]
            slider.blockSignals(True)
            slider.setValue(quality)
            slider.blockSignals(False)
            self._show_values()

    def _show_values(self) -> None:
        for field, slider in self.sliders.items():
            value = BLOCK_SIZES[slider.value()] if field == "block_size" else slider.value()
            self.value_labels[field].setText(str(value))
        rate_control = self.target_check.isChecked()
        self.sliders["quality"].setEnabled(not rate_control)
        self.target_kbps.setEnabled(rate_control)

    def _changed(self) -> None:
        self._show_values()
        self.params_changed.emit(self.params)


class SourceSelector(QComboBox):
    """Demo scene, cameras 0–3, or asked for in a dialog: a video file or .lvc stream, a stream
    URL, or the live link's port to receive on; emits the source spec."""

    source_chosen = pyqtSignal(str)
    _OPEN_FILE = "Video file…"
    _OPEN_URL = "Network stream…"
    _RECEIVE = "Receive on port…"
    _VIDEO_FILTER = ("Videos and streams (*.mp4 *.avi *.mkv *.mov *.webm *.m4v *.mpg *.lvc);;"
                     "livecodec streams (*.lvc);;All files (*)")
    #: The port offered first in the receive dialog.
    DEFAULT_PORT = 5004

    def __init__(self) -> None:
        super().__init__()
        self.addItem("Demo scene", "demo")
        for index in range(4):
            self.addItem(f"Camera {index}", f"camera:{index}")
        self.addItem(self._OPEN_FILE, None)
        self.addItem(self._OPEN_URL, None)
        self.addItem(self._RECEIVE, None)
        self.setToolTip("What to compress: the built-in demo scene, a camera, a video file or a "
                        "network stream (Ctrl+O opens a file, Ctrl+D the demo scene);\n"
                        "or what to play: a .lvc stream, or the live link of another livecodec")
        self._shown = 0
        self.activated.connect(self._activated)

    def show_source(self, spec: str) -> None:
        """Select spec in the list (adding an entry for a file or URL if needed) without
        emitting."""
        index = self.findData(spec)
        if index < 0:
            index = self.count() - 3        # before the three dialog entries
            label = redacted_url(spec) if is_url(spec) else os.path.basename(spec) or spec
            self.insertItem(index, label, spec)
        self._shown = index
        self.setCurrentIndex(index)

    def choose_file(self) -> None:
        """Ask for a video file and switch to it."""
        path, _ = QFileDialog.getOpenFileName(self, "Open a video file", "", self._VIDEO_FILTER)
        if path:
            self.show_source(path)
            self.source_chosen.emit(path)
        else:
            self.setCurrentIndex(self._shown)

    def choose_url(self) -> None:
        """Ask for a stream URL and switch to it."""
        url, ok = QInputDialog.getText(self, "Open a network stream",
                                       "Stream URL (rtsp://, http(s)://, udp://, tcp://, rtmp://, srt://):")
        url = url.strip()
        if ok and url:      # anything else is reported by the pipeline like any bad source
            self.show_source(url)
            self.source_chosen.emit(url)
        else:
            self.setCurrentIndex(self._shown)

    def choose_port(self) -> None:
        """Ask for the UDP port to receive the live link on and switch to it."""
        port, ok = QInputDialog.getInt(self, "Receive the live link",
                                       "UDP port to listen on (the sender's \"Send to…\"):",
                                       self.DEFAULT_PORT, 1, 65535)
        if ok:
            spec = f"{RECEIVE_PREFIX}{port}"
            self.show_source(spec)
            self.source_chosen.emit(spec)
        else:
            self.setCurrentIndex(self._shown)

    def _activated(self, index: int) -> None:
        spec = self.itemData(index)
        if spec is None and self.itemText(index) == self._OPEN_URL:
            self.choose_url()
        elif spec is None and self.itemText(index) == self._RECEIVE:
            self.choose_port()
        elif spec is None:
            self.choose_file()
        else:
            self._shown = index
            self.source_chosen.emit(spec)


class SizeSelector(QComboBox):
    """The capture size asked of the source: its own, or one of CAPTURE_SIZES; emits
    (width, height), or None for the source's own size."""

    size_chosen = pyqtSignal(object)

    def __init__(self) -> None:
        super().__init__()
        self._sizes: list[tuple[int, int] | None] = []     # one per entry, in order
        for size in CAPTURE_SIZES:
            self._add(size)
        self.setToolTip("Frame size asked of the camera or the demo scene (a video file is "
                        "scaled); the Stream readout shows what the source delivers")
        self.activated.connect(lambda index: self.size_chosen.emit(self._sizes[index]))

    def size_at(self, index: int) -> tuple[int, int] | None:
        return self._sizes[index]

    def current_size(self) -> tuple[int, int] | None:
        return self._sizes[self.currentIndex()]

    def show_size(self, size: tuple[int, int] | None) -> None:
        """Select size without emitting (an entry is added for a size not in the list)."""
        if size not in self._sizes:
            self._add(size)
        self.setCurrentIndex(self._sizes.index(size))

    def _add(self, size: tuple[int, int] | None) -> None:
        self._sizes.append(size)
        self.addItem("Source's own size" if size is None else f"{size[0]}×{size[1]}")
