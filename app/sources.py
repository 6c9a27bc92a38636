"""Frame sources for the pipeline: a camera, a video file, or the built-in demo scene."""
from __future__ import annotations

import functools
import math
import os
import sys
import threading
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Iterator, Protocol, runtime_checkable

import cv2
import numpy as np

from livecodec.app.streamsave import STREAM_SUFFIX
from livecodec.codec import check_frame_size

__all__ = [
    "SourceError",
    "FrameSource",
    "VideoFileSource",
    "CameraSource",
    "DemoScene",
    "open_source",
    "NetworkSource",
    "Capture",
    "parse_size",
    "is_url",
    "is_live_spec",
    "is_stream_file",
    "is_receive_spec",
    "RECEIVE_PREFIX",
    "redacted_url",
    "size_problem",
    "resized",
]

#: Frame rate assumed when a driver or container reports 0 or nonsense (the common webcam rate).
FALLBACK_FPS = 30.0
#: What a source spec may be, for error messages.
_SPEC_FORMS = "expected camera:N, demo, a stream URL or a video file path"


class SourceError(RuntimeError):
    """A source that cannot be opened or read; the message is one user-facing line that
    names the device or path and what went wrong."""


@runtime_checkable
class FrameSource(Protocol):
    """What the pipeline reads frames from.

    Attributes:
        name: human readable, e.g. "camera 0", "demo scene", "bikes.mp4".
        fps: nominal frame rate; the pipeline paces non-live sources by it.
        size: (width, height) of every frame.
        is_live: True for cameras: the pipeline then keeps only the newest frame.
    """

    name: str
    fps: float
    size: tuple[int, int]
    is_live: bool

    def read(self) -> np.ndarray | None:
        """Next frame, H×W×3 uint8 BGR, C-contiguous; None at the end (or after close).

        Raises:
            SourceError: the device or file failed.
        """
        ...

    def close(self) -> None:
        """Release the device or file; safe to call more than once."""
        ...


class _Source(FrameSource):
    """Shared conveniences of the concrete sources: `with` and iteration."""

    def __enter__(self) -> "_Source":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __iter__(self) -> Iterator[np.ndarray]:
        while (frame := self.read()) is not None:
            yield frame


@dataclass(frozen=True)
class Capture:
    """What the user asked a source to deliver: a frame size and a frame rate (None: the
    source's own). Cameras and the demo scene take both; a video file is scaled to the size
    and plays at its own rate. A ``.lvc`` stream plays as it was coded; ``reference`` names
    the video it was coded from, for PSNR and the error view. ``receive:[HOST:]PORT`` listens
    for the live link, with ``link_key`` as its shared secret."""

    width: int | None = None
    height: int | None = None
    fps: float | None = None
    reference: str | None = None
    link_key: bytes | None = field(default=None, repr=False)   #: for "receive:PORT"

    def __post_init__(self) -> None:
        for name in ("width", "height"):
            value = getattr(self, name)
            if value is not None and not 1 <= value <= MAX_CAPTURE_SIDE:
                raise ValueError(f"{name} must be in 1..{MAX_CAPTURE_SIDE}, got {value}")
        if self.fps is not None and not 0 < self.fps <= 1000:
            raise ValueError(f"fps must be in (0, 1000], got {self.fps}")

    def open(self, spec: str, *, loop: bool = False) -> FrameSource:
        """``open_source`` with this request; a file is scaled and plays at its own rate."""
        text = spec.strip().lower()
        if is_stream_file(text) or is_receive_spec(text):
            from . import stream_source     # it builds on this module
            if self.width or self.height or self.fps:
                raise SourceError(f"{spec} plays at the size and rate it was coded with")
            if is_stream_file(text):
                return stream_source.StreamFileSource(spec.strip(), loop=loop,
                                                      reference=self.reference)
            return stream_source.ReceivedStreamSource(stream_source.parse_receive_spec(spec),
                                                      key=self.link_key)
        takes_rate = text == "demo" or text.startswith("camera:")
        return open_source(spec, loop=loop, width=self.width, height=self.height,
                           fps=self.fps if takes_rate else None)


#: Source specs of the live link: "receive:PORT" or "receive:HOST:PORT" (HOST: the local
#: address to listen on; all of them by default).
RECEIVE_PREFIX = "receive:"


def is_receive_spec(spec: str) -> bool:
    """Whether a source spec listens for the live link (stream_source.ReceivedStreamSource)."""
    return spec.strip().lower().startswith(RECEIVE_PREFIX)


def is_stream_file(spec: str) -> bool:
    """Whether a source spec names a livecodec stream file (by its suffix): it is played, not
    captured (stream_source.StreamFileSource)."""
    return spec.strip().lower().endswith(STREAM_SUFFIX)


#: Larger than any capture device delivers; the codec's own limit is checked separately.
MAX_CAPTURE_SIDE = 16384


def size_problem(name: str, size: tuple[int, int]) -> str | None:
    """One line saying why frames of size (width, height) from source `name` cannot be coded, or
    None when they can."""
    try:
        check_frame_size(*size)
    except ValueError as exc:
        return f"{name}: {exc}"
    return None


def parse_size(text: str) -> tuple[int, int]:
    """(width, height) from "WxH" (e.g. "1280x720"); ValueError naming the expected form."""
    parts = text.lower().replace("×", "x").split("x")
    if len(parts) != 2 or not all(p.strip().isdigit() for p in parts):
        raise ValueError(f"size must be WIDTHxHEIGHT, e.g. 1280x720, got {text!r}")
    width, height = (int(p) for p in parts)
    Capture(width, height)      # the range check
    return width, height


def open_source(spec: str, *, loop: bool = False, width: int | None = None,
                height: int | None = None, fps: float | None = None) -> FrameSource:
    """Open the source a user named on the command line or in the window.

    Args:
        spec: "demo", "camera:N" with N a device index, a stream URL (rtsp://, http(s)://,
            udp://, tcp://, rtmp://, srt://), or a path to a video file.
        loop: a file restarts at its end instead of ending (ignored for camera and demo,
            which never end).
        width, height: size wanted. The demo renders at it; a camera is asked for it (the
            driver may pick another: ``size`` says what it delivers); a file is scaled to it.
            One alone keeps the aspect (the demo: its default for the other side).
        fps: frame rate wanted from a camera or the demo scene; a file plays at its own.

    Raises:
        SourceError: a bad spec, a missing or unreadable file, a camera that does not open, a
            frame rate asked of a file.
    """
    text = spec.strip()
    if text.lower() == "demo":
        return DemoScene(width=width or DemoScene.DEFAULT_SIZE[0],
                         height=height or DemoScene.DEFAULT_SIZE[1], fps=fps or 30.0)
    if text.lower().startswith("camera:"):
        index = text.split(":", 1)[1].strip()
        if not index.isdigit():
            raise SourceError(f"bad source {spec!r}: {_SPEC_FORMS}")
        return CameraSource(int(index), width=width, height=height, fps=fps)
    if not text:
        raise SourceError(f"bad source {spec!r}: {_SPEC_FORMS}")
    if fps is not None:
        raise SourceError(f"a frame rate applies to cameras and the demo scene; {text} plays at "
                          f"its own rate")
    if is_url(text):
        return NetworkSource(text, width=width, height=height)
    return VideoFileSource(text, loop=loop, width=width, height=height)


# --------------------------------------------------------------------------- OpenCV sources

@contextmanager
def _quiet_opencv() -> Iterator[None]:
    """Hide OpenCV's own warnings while opening: our SourceError says the same more clearly."""
    previous = cv2.utils.logging.getLogLevel()
    cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_ERROR)
    try:
        yield
    finally:
        cv2.utils.logging.setLogLevel(previous)


def resized(frame: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """frame scaled to size (w, h): area averaging to shrink, bilinear to enlarge."""
    shrinking = size[0] * size[1] < frame.shape[0] * frame.shape[1]
    return cv2.resize(frame, size, interpolation=cv2.INTER_AREA if shrinking else cv2.INTER_LINEAR)


def _as_bgr(frame: np.ndarray) -> np.ndarray:
    """Grey or BGRA frames from odd files become the H×W×3 BGR the codec expects."""
    if frame.ndim == 2:
        frame = cv2.cvtColor(frame, cv2.COLOR_GRAY2BGR)
    elif frame.shape[2] == 4:
        frame = cv2.cvtColor(frame, cv2.COLOR_BGRA2BGR)
    return np.ascontiguousarray(frame)


def _fps_or_fallback(reported: float) -> float:
    return float(reported) if math.isfinite(reported) and 0 < reported <= 1000 else FALLBACK_FPS


def _scaled_size(native: tuple[int, int], width: int | None,
                 height: int | None) -> tuple[int, int]:
    """The requested size; a missing side follows the native aspect ratio."""
    w, h = native
    if width is None and height is None:
        return native
    if width is None:
        width = max(1, round(w * height / h))
    if height is None:
        height = max(1, round(h * width / w))
    if width < 1 or height < 1:
        raise SourceError(f"bad frame size {width}x{height}: both sides must be at least 1")
    return int(width), int(height)


class _ScaledCapture(_Source):
    """An OpenCV capture whose first frame was read to prove it works: it is handed out first,
    and every frame is scaled to ``size`` when that differs from the native size."""

    def _start(self, capture: cv2.VideoCapture, first: np.ndarray, width: int | None,
               height: int | None) -> None:
        native = (first.shape[1], first.shape[0])
        self._capture: cv2.VideoCapture | None = capture
        self.size = _scaled_size(native, width, height)
        self._resize = self.size != native
        self._pending: np.ndarray | None = self._fit(first)
        self.fps = _fps_or_fallback(capture.get(cv2.CAP_PROP_FPS))

    def _fit(self, frame: np.ndarray) -> np.ndarray:
        return resized(frame, self.size) if self._resize else frame

    def read(self) -> np.ndarray | None:
        with self._lock:
            if self._capture is None:
                return None
            if self._pending is not None:
                frame, self._pending = self._pending, None
                return frame
            ok, frame = self._capture.read()
            if ok and frame is not None:
                return self._fit(_as_bgr(frame))
            return self._after_last_frame()

    def _after_last_frame(self) -> np.ndarray | None:
        """What read() gives when the capture has no next frame (called with the lock held)."""
        raise NotImplementedError

    def close(self) -> None:
        with self._lock:
            if self._capture is not None:
                self._capture.release()
                self._capture = None


class VideoFileSource(_ScaledCapture):
    """A video file, read frame by frame as fast as the pipeline asks (it paces by fps).

    Attributes (beyond FrameSource):
        path: the file as given.
        frame_count: frames the container declares, or None when it does not say.
    """

    is_live = False

    def __init__(self, path: str | os.PathLike[str], *, loop: bool = False,
                 width: int | None = None, height: int | None = None) -> None:
        self.path = os.fspath(path)
        self.name = os.path.basename(self.path) or self.path
        self.loop = loop
        if not os.path.exists(self.path):
            raise SourceError(f"no such file: {self.path}")
        if os.path.isdir(self.path):
            raise SourceError(f"not a readable video: {self.path} is a directory")
        # close() from another thread must not release the capture in the middle of a read.
        self._lock = threading.Lock()
        self._start(*self._open(), width, height)      # the validation read is frame 0
        count = int(self._capture.get(cv2.CAP_PROP_FRAME_COUNT))
        self.frame_count: int | None = count if count > 0 else None

    def _open(self) -> tuple[cv2.VideoCapture, np.ndarray]:
        """Open the file and read its first frame: only a decoded frame proves it is a video."""
        with _quiet_opencv():
            capture = cv2.VideoCapture(self.path)
            ok, first = capture.read() if capture.isOpened() else (False, None)
        if not ok or first is None:
            capture.release()
            raise SourceError(f"not a readable video: {self.path}")
        return capture, _as_bgr(first)

    def _after_last_frame(self) -> np.ndarray | None:
        """None at the end, or the first frame again when looping."""
        if not self.loop:
            return None
        # Reopening is the one rewind every container and codec supports exactly.
        self._capture.release()
        self._capture, first = self._open()
        return self._fit(first)


def _backend_label(backend: int) -> str:
    """Names of the backends OpenCV would try, for an error message."""
    registry = cv2.videoio_registry
    if backend != cv2.CAP_ANY:
        return f"the {registry.getBackendName(backend)} backend"
    names = [registry.getBackendName(b) for b in registry.getCameraBackends()
             if registry.hasBackend(b)]
    return f"the {' or '.join(names)} backend" if names else "any backend"


#: URL schemes opened as network streams through OpenCV's FFmpeg backend.
URL_SCHEMES = ("rtsp", "rtsps", "rtmp", "http", "https", "udp", "tcp", "srt")


def is_url(spec: str) -> bool:
    """True for a network stream spec such as rtsp://host/path or udp://127.0.0.1:5000."""
    scheme, sep, _ = spec.strip().partition("://")
    return bool(sep) and scheme.lower() in URL_SCHEMES


def is_live_spec(spec: str) -> bool:
    """Sources that deliver in real time and may come back after a failure: cameras and
    network streams (the pipeline watches them and reconnects with back-off)."""
    return spec.strip().lower().startswith("camera:") or is_url(spec)


def redacted_url(url: str) -> str:
    """The URL without a user:password@ part, for messages and the window."""
    scheme, sep, rest = url.partition("://")
    host, slash, path = rest.partition("/")
    return f"{scheme}{sep}{host.rpartition('@')[2]}{slash}{path}"


class NetworkSource(_ScaledCapture):
    """A network stream (RTSP, HTTP, UDP, TCP, RTMP, SRT) read through OpenCV's FFmpeg backend.

    Live like a camera: the pipeline keeps the newest frame, watches for stalls and reconnects.
    Opening and each read give up after ``timeout_s`` instead of FFmpeg's default 30 s, and
    opening reads one frame, so a URL that answers but sends no video is reported at once.
    """

    is_live = True
    #: Long enough for an RTSP handshake and the first key frame; short enough to say so soon.
    TIMEOUT_S = 5.0

    def __init__(self, url: str, *, width: int | None = None, height: int | None = None,
                 timeout_s: float = TIMEOUT_S) -> None:
        self.url = url.strip()
        self.name = redacted_url(self.url)
        self._lock = threading.Lock()
        milliseconds = int(timeout_s * 1000)
        with _quiet_opencv():
            capture = cv2.VideoCapture(self.url, cv2.CAP_FFMPEG,
                                       [cv2.CAP_PROP_OPEN_TIMEOUT_MSEC, milliseconds,
                                        cv2.CAP_PROP_READ_TIMEOUT_MSEC, milliseconds])
            ok, first = capture.read() if capture.isOpened() else (False, None)
        if not ok or first is None:
            capture.release()
            raise SourceError(f"cannot open {self.name}: no video arrived within {timeout_s:g} s "
                              f"(is the stream running? OpenCV FFmpeg backend)")
        self._start(capture, _as_bgr(first), width, height)

    def _after_last_frame(self) -> np.ndarray | None:
        raise SourceError(f"{self.name} stopped delivering frames")


class CameraSource(_Source):
    """A live camera. It just reads; the pipeline's capture thread keeps the newest frame.

    Opening checks isOpened() and then reads one frame, so a camera that opens but never
    delivers is reported at once, naming the device.
    """

    is_live = True

    def __init__(self, index: int, *, width: int | None = None, height: int | None = None,
                 fps: float | None = None, backend: int = cv2.CAP_ANY) -> None:
        self.index = index
        self.name = f"camera {index}"
        linux = sys.platform.startswith("linux")
        self._device = f"/dev/video{index}" if linux else f"device {index}"
        self._lock = threading.Lock()
        with _quiet_opencv():
            capture = cv2.VideoCapture(index, backend)
            if capture.isOpened():
                # MJPG: USB cameras deliver 720p at 30 fps only compressed (DESIGN.md field notes).
                capture.set(cv2.CAP_PROP_FOURCC, cv2.VideoWriter_fourcc(*"MJPG"))
                if width is not None:
                    capture.set(cv2.CAP_PROP_FRAME_WIDTH, width)
                if height is not None:
                    capture.set(cv2.CAP_PROP_FRAME_HEIGHT, height)
                if fps is not None:
                    capture.set(cv2.CAP_PROP_FPS, fps)
                ok, first = capture.read()
            else:
                ok, first = False, None
        if not capture.isOpened():
            capture.release()
            missing = "; no such device" if self._device.startswith("/dev/") and \
                not os.path.exists(self._device) else ""
            raise SourceError(f"cannot open camera {index} (tried {self._device} with "
                              f"{_backend_label(backend)}{missing})")
        if not ok or first is None:
            label = capture.getBackendName()
            capture.release()
            raise SourceError(f"camera {index} opened but delivered no frame "
                              f"({self._device}, {label} backend)")
        self._capture: cv2.VideoCapture | None = capture
        self.size = (first.shape[1], first.shape[0])  # what the driver granted, not what we asked
        self.fps = _fps_or_fallback(capture.get(cv2.CAP_PROP_FPS))

    def read(self) -> np.ndarray | None:
        with self._lock:
            if self._capture is None:
                return None
            ok, frame = self._capture.read()
        if not ok or frame is None:
            raise SourceError(f"camera {self.index} stopped delivering frames ({self._device})")
        return _as_bgr(frame)

    def close(self) -> None:
        with self._lock:
            if self._capture is not None:
                self._capture.release()
                self._capture = None


# --------------------------------------------------------------------------- the demo scene

#: Photographs bundled inside the scikit-image wheel itself (its legacy data directory), so
#: they load with no network; most other skimage.data images are fetched by pooch on first use.
CANVAS_PHOTOS = ("chelsea", "coffee", "rocket", "immunohistochemistry", "hubble_deep_field")

#: Canvas rows are this tall; photos are scaled to it (near their native 300-872 px heights).
CANVAS_ROW_HEIGHT = 384

#: Camera pan, as (frames, (vx, vy) px/frame) legs of the timeline; see DemoScene.
PAN_LEGS: tuple[tuple[int, tuple[int, int]], ...] = (
    (60, (2, 1)), (60, (0, 2)), (60, (-3, 0)), (60, (-1, -2)), (60, (2, -1)), (30, (0, 0)),
)
#: Frames of the zoom-in-and-out phase, and its peak magnification.
ZOOM_FRAMES = 120
ZOOM_PEAK = 1.5

#: Sensor noise of a webcam in good light: Gaussian, about 2 grey levels.
NOISE_SIGMA = 2.0
#: Independent noise tiles, cycled so consecutive frames never share a pattern (a shared,
#: shifted pattern would look like motion); each is shifted by up to NOISE_SHIFT px per frame.
NOISE_TILES = 4
NOISE_SHIFT = 32


@dataclass(frozen=True)
class _SpriteSpec:
    """A cut-out from a bundled photograph that bounces around the frame."""

    photo: str
    crop: tuple[int, int, int, int]  # (x, y, w, h) in the photograph
    shape: str                       # "ellipse" or "rect": the mask, hard-edged so motion is exact
    height_fraction: float           # sprite height / frame height
    start_fraction: tuple[float, float]  # start position / free range
    velocity: tuple[int, int]        # px/frame on screen


#: Painted in this order (later ones in front). Crops picked by eye; astronaut and retina are
#: bundled in the scikit-image wheel like CANVAS_PHOTOS.
SPRITES = (
    _SpriteSpec("astronaut", (140, 10, 160, 200), "ellipse", 0.30, (0.1, 0.2), (3, 2)),
    _SpriteSpec("astronaut", (365, 0, 95, 215), "rect", 0.35, (0.7, 0.6), (1, -4)),
    _SpriteSpec("retina", (40, 40, 1331, 1331), "ellipse", 0.22, (0.4, 0.1), (-5, 3)),
)


@functools.lru_cache(maxsize=None)
def _photo(name: str) -> np.ndarray:
    """A bundled scikit-image photograph as BGR (loaded once per process)."""
    import skimage.data  # deferred: only the demo scene needs scikit-image

    rgb = getattr(skimage.data, name)()
    return np.ascontiguousarray(rgb[..., 2::-1])


def _timeline() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One loop of the camera: (velocity, position, zoom) per frame.

    velocity: (period, 2) int displacement into each frame; velocities ramp by at most
    1 px/frame per frame between legs, so direction changes smoothly and stays integer.
    The way back is the way out reversed, so the path closes exactly and the scene loops
    without a jump. position: camera top-left in canvas pixels (never negative).
    zoom: magnification about the frame centre, 1 outside the zoom phase.
    """
    velocity = np.zeros(2, np.int64)
    steps = []
    for frames, target in PAN_LEGS:
        for _ in range(frames):
            velocity = velocity + np.clip(np.array(target) - velocity, -1, 1)
            steps.append(velocity)
    way_out = np.array(steps)
    velocities = np.concatenate([np.zeros((1, 2), np.int64), way_out,
                                 np.zeros((ZOOM_FRAMES, 2), np.int64), -way_out[::-1]])
    positions = np.cumsum(velocities, axis=0)
    positions -= positions.min(axis=0)
    zoom = np.ones(len(velocities))
    start = 1 + len(way_out)
    t = np.arange(1, ZOOM_FRAMES + 1) / (ZOOM_FRAMES + 1)
    zoom[start:start + ZOOM_FRAMES] = 1 + (ZOOM_PEAK - 1) * 0.5 * (1 - np.cos(2 * np.pi * t))
    return velocities, positions, zoom


_VELOCITY, _PATH, _ZOOM = _timeline()
_PATH_EXTENT = (int(_PATH[:, 0].max()), int(_PATH[:, 1].max()))  # canvas = frame + this


@functools.lru_cache(maxsize=4)
def _canvas(width: int, height: int) -> np.ndarray:
    """The photo mosaic the camera pans over, built once per size and shared (read-only)."""
    rows, row_index = [], 0
    while sum(r.shape[0] for r in rows) < height:
        tiles, row_width, photo_index = [], 0, row_index * 2  # rows start on different photos
        while row_width < width:
            photo = _photo(CANVAS_PHOTOS[photo_index % len(CANVAS_PHOTOS)])
            scale = CANVAS_ROW_HEIGHT / photo.shape[0]
            tile = cv2.resize(photo, (round(photo.shape[1] * scale), CANVAS_ROW_HEIGHT),
                              interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC)
            tiles.append(tile)
            row_width += tile.shape[1]
            photo_index += 1
        rows.append(np.concatenate(tiles, axis=1)[:, :width])
        row_index += 1
    canvas = np.ascontiguousarray(np.concatenate(rows, axis=0)[:height])
    canvas.setflags(write=False)
    return canvas


@functools.lru_cache(maxsize=2)
def _noise_tiles(width: int, height: int, sigma: float, seed: int) -> np.ndarray:
    """(NOISE_TILES, H+shift, W+shift, 3) int8 Gaussian noise, drawn once per scene setup."""
    rng = np.random.default_rng(seed)
    shape = (NOISE_TILES, height + NOISE_SHIFT, width + NOISE_SHIFT, 3)
    noise = np.clip(np.rint(rng.normal(0.0, sigma, shape)), -127, 127).astype(np.int8)
    noise.setflags(write=False)
    return noise


def _bounce(start: int, velocity: int, index: int, free: int) -> int:
    """Position after `index` steps of `velocity`, reflecting off 0 and `free`."""
    if free <= 0:
        return 0
    t = (start + velocity * index) % (2 * free)
    return t if t <= free else 2 * free - t


@dataclass(frozen=True)
class _Sprite:
    """A sprite scaled for one frame size, with its hard-edged mask and bounce range."""

    pixels: np.ndarray        # (h, w, 3) uint8 BGR
    mask: np.ndarray          # (h, w, 1) bool
    start: tuple[int, int]
    velocity: tuple[int, int]
    free: tuple[int, int]     # frame size minus sprite size: the bounce range

    def position(self, index: int) -> tuple[int, int]:
        return (_bounce(self.start[0], self.velocity[0], index, self.free[0]),
                _bounce(self.start[1], self.velocity[1], index, self.free[1]))


def _make_sprite(spec: _SpriteSpec, width: int, height: int) -> _Sprite:
    x, y, w, h = spec.crop
    cut = _photo(spec.photo)[y:y + h, x:x + w]
    sh = max(2, min(height, round(height * spec.height_fraction)))
    sw = max(2, min(width, round(sh * w / h)))
    pixels = cv2.resize(cut, (sw, sh), interpolation=cv2.INTER_AREA)
    if spec.shape == "ellipse":
        yy, xx = np.mgrid[0:sh, 0:sw]
        mask = ((xx + 0.5 - sw / 2) / (sw / 2)) ** 2 + ((yy + 0.5 - sh / 2) / (sh / 2)) ** 2 <= 1
    else:
        mask = np.ones((sh, sw), bool)
    free = (width - sw, height - sh)
    start = (round(free[0] * spec.start_fraction[0]), round(free[1] * spec.start_fraction[1]))
    return _Sprite(np.ascontiguousarray(pixels), mask[..., None], start, spec.velocity, free)


class DemoScene(_Source):
    """A synthetic camera with known motion: no file, no device, no network needed.

    A virtual camera pans (and once zooms) over a mosaic of photographs bundled with
    scikit-image; three cut-outs (an elliptical portrait, a space shuttle, a retina "ball")
    bounce off the frame edges in front of it; Gaussian sensor noise (sigma 2) covers all.

    Timeline, in frames (seconds at 30 fps); camera velocity (vx, vy) in px/frame, which is
    also the background's reference_offset (ox, oy); changes ramp by 1 px/frame per frame:

    - 0-300 (0-10 s): pure translation, 60-frame legs (+2,+1), (0,+2), (-3,0), (-1,-2), (+2,-1)
    - 301-330 (10-11 s): still
    - 331-450 (11-15 s): zoom about the frame centre to 1.5x and back (sub-pixel field)
    - 451-780 (15-26 s): still for 1 s, then the pan legs in reverse order and direction
    - 781 (PERIOD): the camera is back at its start; the timeline repeats.

    Sprites move on screen all along, in px/frame: portrait (+3,+2), shuttle (+1,-4),
    ball (-5,+3), each component reversing at a frame edge.
    """

    DEFAULT_SIZE = (640, 480)
    #: Below this the sprites shrink to nothing.
    MIN_SIDE = 16
    #: Frames in one loop of the timeline.
    PERIOD = len(_VELOCITY)
    is_live = False

    def __init__(self, width: int = 640, height: int = 480, fps: float = 30.0,
                 n_frames: int | None = None, seed: int = 0, *,
                 noise_sigma: float = NOISE_SIGMA) -> None:
        for name, value in (("width", width), ("height", height)):
            if isinstance(value, bool) or not isinstance(value, int) or value < self.MIN_SIDE:
                raise ValueError(f"{name} must be an integer >= {self.MIN_SIDE}, got {value!r}")
        if not (isinstance(fps, (int, float)) and 0 < fps <= 1000):
            raise ValueError(f"fps must be in (0, 1000], got {fps!r}")
        if n_frames is not None and (not isinstance(n_frames, int) or n_frames < 0):
            raise ValueError(f"n_frames must be a non-negative integer or None, got {n_frames!r}")
        if not 0 <= noise_sigma <= 50:
            raise ValueError(f"noise_sigma must be in 0..50, got {noise_sigma!r}")
        self.name = "demo scene"
        self.size = (width, height)
        self.fps = float(fps)
        self.n_frames = n_frames
        self.seed = seed
        self.noise_sigma = noise_sigma
        self._canvas = _canvas(width + _PATH_EXTENT[0], height + _PATH_EXTENT[1])
        self._noise = _noise_tiles(width, height, noise_sigma, seed) if noise_sigma > 0 else None
        self._sprites = [_make_sprite(spec, width, height) for spec in SPRITES]
        #: Nominal on-screen velocity of each object, in object_boxes order.
        self.object_velocities = [spec.velocity for spec in SPRITES]
        self._next = 0
        self._closed = False
        # Pixel centres, relative to the zoom centre: the zoom maps x -> c + (x - c) / zoom.
        self._dx = np.arange(width, dtype=np.float64) - (width - 1) / 2
        self._dy = np.arange(height, dtype=np.float64) - (height - 1) / 2

    @staticmethod
    def _check(index: int) -> int:
        if index < 0:
            raise ValueError(f"frame index must be >= 0, got {index}")
        return index % DemoScene.PERIOD

    def frame(self, index: int) -> np.ndarray:
        """Frame `index`, H×W×3 uint8 BGR; the same index always gives the same pixels."""
        phase = self._check(index)
        width, height = self.size
        px, py = _PATH[phase]
        view = self._canvas[py:py + height, px:px + width]
        zoom = _ZOOM[phase]
        if zoom == 1.0:
            out = view.copy()
        else:
            cx, cy = (width - 1) / 2, (height - 1) / 2
            to_canvas = np.array([[1 / zoom, 0, cx - cx / zoom], [0, 1 / zoom, cy - cy / zoom]])
            out = cv2.warpAffine(view, to_canvas, (width, height),
                                 flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                                 borderMode=cv2.BORDER_REPLICATE)
        for sprite in self._sprites:
            x, y = sprite.position(index)
            h, w = sprite.pixels.shape[:2]
            np.copyto(out[y:y + h, x:x + w], sprite.pixels, where=sprite.mask)
        if self._noise is not None:
            # Per-index shift from a seeded generator: deterministic and ~20 µs (no fresh randn).
            sx, sy = np.random.default_rng((self.seed, index)).integers(0, NOISE_SHIFT + 1, 2)
            tile = self._noise[index % NOISE_TILES, sy:sy + height, sx:sx + width]
            out = cv2.add(out, tile, dtype=cv2.CV_8U)
        return out

    def reference_offset(self, index: int) -> np.ndarray:
        """True motion into frame `index`: (H, W, 2) float32 (ox, oy) with
        frame(index)[y, x] ~= frame(index - 1)[y + oy, x + ox]. All zero for frame 0."""
        phase = self._check(index)
        width, height = self.size
        field = np.zeros((height, width, 2), np.float32)
        if index == 0:
            return field
        prev = (phase - 1) % self.PERIOD
        zoom, zoom_prev = _ZOOM[phase], _ZOOM[prev]
        # Same canvas point: p_prev + c + (x' - c)/z_prev = p + c + (x - c)/z  ->  solve for x'.
        move = _VELOCITY[phase]
        field[..., 0] = (zoom_prev * (self._dx / zoom + move[0]) - self._dx)[None, :]
        field[..., 1] = (zoom_prev * (self._dy / zoom + move[1]) - self._dy)[:, None]
        for sprite in self._sprites:
            (x, y), (x0, y0) = sprite.position(index), sprite.position(index - 1)
            h, w = sprite.pixels.shape[:2]
            region = field[y:y + h, x:x + w]
            region[sprite.mask[..., 0]] = (x0 - x, y0 - y)
        return field

    def object_boxes(self, index: int) -> list[tuple[int, int, int, int]]:
        """(x, y, w, h) of each moving object in frame `index`, back to front."""
        self._check(index)
        boxes = []
        for sprite in self._sprites:
            x, y = sprite.position(index)
            h, w = sprite.pixels.shape[:2]
            boxes.append((x, y, w, h))
        return boxes

    def read(self) -> np.ndarray | None:
        """Frames 0, 1, 2, ... with no pacing (the pipeline paces by fps); None after n_frames."""
        if self._closed or (self.n_frames is not None and self._next >= self.n_frames):
            return None
        frame = self.frame(self._next)
        self._next += 1
        return frame

    def close(self) -> None:
        self._closed = True
