"""The live capture → encode → decode pipeline: three worker threads and its running statistics.

Capture, encoding and decoding each run in their own thread, joined by two queues:

- raw frames wait in a small queue that drops its *oldest* frame when the encoder falls behind,
  so the picture stays live and latency stays bounded;
- packets wait in a queue that never drops (each predicted packet needs its predecessor); when it
  is full the encoder waits, and raw frames are dropped before it instead.

The pipeline knows nothing of Qt: it reports decoded frames and messages through callbacks, which
run in the worker threads (the window turns them into Qt signals). Failures of the source are
reported, never raised in a thread: a lost camera is reopened with back-off, a file ends or loops.

A live camera is read in a small reader thread of its own (one per connection), so a driver call
that never returns stalls only that thread; a watchdog in the capture loop notices a camera that
fails, stops responding or freezes on one picture, abandons its reader and reconnects.
"""
from __future__ import annotations

import logging
import math
import os
import queue
import statistics
import threading
import time
from collections import deque
from dataclasses import dataclass, replace
from typing import Any, Callable, Generic, Protocol, TypeVar, Union

import cv2
import numpy as np

from livecodec.app.outputs import OutputError, check_not_input
from livecodec.app.overload import AUTO_PRESET, LoadGovernor
from livecodec.app.recorder import DEFAULT_FOURCC, DiskFullError, Recorder, RecorderError, letterbox
from livecodec.app.sources import (FALLBACK_FPS, Capture, FrameSource, SourceError, is_live_spec,
                                   size_problem)
from livecodec.app.stream_source import CodedFrame
from livecodec.app.streamsave import StreamSaveError, StreamSaver
from livecodec.codec import (FRAME_PREDICTED, FRAME_REFRESH, PSNR_CAP, CodecParams,
                             ConcealingDecoder, DecodedFrame, Decoder, Encoder, check_threads,
                             default_threads)

__all__ = ["Pipeline", "PipelineFrame", "FrameStats", "DropOldestQueue", "SourceSpec",
           "AUTO_SOURCE", "live_psnr", "live_codec_threads", "UnsupportedSizeError", "USER_MESSAGE"]

log = logging.getLogger(__name__)
#: Attribute of the log records of messages that also went to ``on_message``.
USER_MESSAGE = "livecodec_user_message"

#: A source spec ("demo", "camera:N", a file path) or a function that opens a source.
SourceSpec = Union[str, Callable[[], FrameSource]]
#: Try the first camera, fall back to the demo scene when there is none.
AUTO_SOURCE = "auto"
_AUTO_CHOICES = ("camera:0", "demo")

#: How often a waiting worker looks at the stop flag; bounds how long stop() takes.
_POLL_S = 0.05
#: Running fps, kbps and PSNR cover this span: steady to read, yet quick to follow a change.
_STATS_WINDOW_S = 2.0
#: Median latency and stage times over about four seconds at 30 fps.
_TIMING_SAMPLES = 120
#: Waits before reopening a lost camera; the last one repeats.
_RECONNECT_BACKOFF_S = (0.5, 1.0, 2.0, 4.0)
#: A reconnected camera that delivers this long starts the back-off afresh; one that fails again
#: sooner (a camera that keeps freezing) waits longer each time instead of every 0.5 s.
_RECOVERED_S = 10.0
#: Watchdog: a live source that delivers no frame for this long "stopped responding" (a
#: blocked driver read); one that delivers the identical picture for this long is "frozen".
#: Webcams run at 5-60 fps, so two seconds is many frames even in dim light.
STALL_TIMEOUT_S = 2.0
FROZEN_TIMEOUT_S = 2.0
#: The frozen check compares every 8th pixel of each row and column: ~15k values at 640x480
#: (a few microseconds), and no real camera repeats even those exactly, as sensor noise alone
#: changes them.
_FROZEN_STRIDE = 8
#: How long closing a healthy camera waits for its reader's current read (a frame at >= 2 fps).
_READER_JOIN_S = 0.5
#: How often a coded source looks again for room in the queue to the encoder thread.
_CODED_WAIT_S = 0.005
#: A recording never fills more than this many seconds of dropped frames in one go.
_MAX_FILL_S = 1.0

_LOG_LEVELS = {"info": logging.INFO, "warning": logging.WARNING, "error": logging.ERROR}

T = TypeVar("T")


class UnsupportedSizeError(SourceError):
    """A source whose frames the codec cannot take (see codec.check_frame_size)."""


class DropOldestQueue(Generic[T]):
    """A bounded FIFO whose put() never blocks: when full it discards the oldest items.

    maxsize may change at any time; the next put() trims the queue to it.
    """

    def __init__(self, maxsize: int) -> None:
        self._items: deque[T] = deque()
        self._cond = threading.Condition()
        self.maxsize = maxsize
        self.dropped = 0

    @property
    def maxsize(self) -> int:
        return self._maxsize

    @maxsize.setter
    def maxsize(self, value: int) -> None:
        if value < 1:
            raise ValueError(f"maxsize must be >= 1, got {value}")
        self._maxsize = value

    def put(self, item: T) -> bool:
        """Append item; returns True when older items were dropped to make room."""
        with self._cond:
            dropped = 0
            while len(self._items) >= self._maxsize:
                self._items.popleft()
                dropped += 1
            self.dropped += dropped
            self._items.append(item)
            self._cond.notify()
            return dropped > 0

    def get(self, timeout: float) -> T | None:
        """The oldest item, or None when nothing arrived within timeout seconds."""
        with self._cond:
            if not self._items and not self._cond.wait_for(lambda: bool(self._items), timeout):
                return None
            return self._items.popleft()

    def __len__(self) -> int:
        with self._cond:
            return len(self._items)


@dataclass(frozen=True)
class FrameStats:
    """What one delivered frame cost and how good it is."""

    index: int                   #: capture index within the current source
    frame_type: str              #: "refresh" or "predicted"
    quality: int                 #: the quality coded with (rate control picks it per frame)
    nbytes: int                  #: packet size
    bytes_by_part: dict[str, int]  #: header / palette / labels / motion / residual
    psnr: float                  #: dB against the captured frame (NaN: no reference known)
    encode_ms: float
    decode_ms: float
    latency_ms: float            #: capture to delivery
    shown_at: float              #: time.monotonic() at delivery


@dataclass(frozen=True)
class PipelineFrame:
    """One decoded frame with what the views need to explain it."""

    original: np.ndarray | None          #: H×W×3 uint8 BGR as captured (None: a played
                                         #: stream without its reference video)
    reconstruction: np.ndarray           #: H×W×3 uint8 BGR as decoded
    motion_vectors: np.ndarray | None    #: (rows, cols, 2) (dx, dy); None on refresh frames
    #: (rows, cols, 4, 2) (dx, dy) per quadrant, raster order: four different ones where a block
    #: is MODE_SPLIT, else its vector four times; None on refresh frames
    quadrant_vectors: np.ndarray | None
    block_modes: np.ndarray              #: (rows, cols): codec MODE_* (skip, motion, split,
                                         #: palette, intra)
    block_size: int
    params: CodecParams                  #: the settings the encoder used for this frame
    source_fps: float
    stats: FrameStats


@dataclass(frozen=True)
class _Raw:
    frame: np.ndarray | None        #: None: a coded frame without a reference picture
    index: int
    captured_at: float
    generation: int
    fps: float
    coded: CodedFrame | None = None     #: packets of a coded source (no encoding)


@dataclass(frozen=True)
class _Packet:
    raw: _Raw
    encoded: Any
    params: CodecParams
    encode_ms: float
    filler: bool = False    #: repeats the previous picture for a dropped frame: decoded, not shown


MessageCallback = Callable[[str, str], None]
FrameCallback = Callable[[PipelineFrame], None]


class _Outlet(Generic[T]):
    """Where packets go besides the decoder (a save, a network sender). A new target starts
    at a refresh frame, so what it gets decodes from its first packet. The pipeline's sink
    lock guards it."""

    def __init__(self) -> None:
        self.target: T | None = None
        self._waiting = False

    def attach(self, target: T | None) -> T | None:
        """Send to target from the next refresh frame on (None: nowhere); the previous one."""
        previous, self.target, self._waiting = self.target, target, True
        return previous

    def take(self, is_refresh: bool) -> T | None:
        """The target this packet goes to: none while it waits for its first refresh."""
        if self.target is not None and self._waiting:
            if not is_refresh:
                return None
            self._waiting = False
        return self.target


class PacketSender(Protocol):
    """Where the pipeline sends its packets besides the decoder (e.g. the network link)."""

    def send_frame(self, data: bytes, *, capture_time: float, refresh: bool) -> None:
        """Send one packet; quick, never blocks. capture_time: wall clock (time.time())."""
        ...

    def stats(self) -> dict:
        """JSON-ready counters (shown under "sending" in the pipeline's stats)."""
        ...


class Pipeline:
    """Runs a source through the codec in three threads and keeps the statistics.

    Args:
        source: what to capture: "demo", "camera:N", a video file, AUTO_SOURCE, or a
            function returning an open FrameSource.
        params: initial codec settings.
        loop: restart a video file at its end instead of stopping.
        on_frame: called in the decoder thread with every decoded PipelineFrame; keep it short.
        on_message: called with (level, text), level "info", "warning" or "error", from any
            thread: source failures and reconnects, codec errors, recording problems.
        raw_queue_size: raw frames of a file or the demo that may wait for the encoder; 2
            absorbs jitter while adding at most one frame of latency. A camera always gets 1:
            the encoder takes the newest frame.
        packet_queue_size: packets that may wait for the decoder before the encoder waits.
        threads: threads per frame of the encoder and the decoder (default
            ``live_codec_threads()``); the stream is the same for any number.
        auto_preset: choose the encoder preset by load (``--preset auto``): a faster one when
            frames drop, back when there is headroom; ``params.preset`` is then ignored.
            Without it the pipeline keeps ``params.preset`` and only warns of overload.
    """

    def __init__(self, source: SourceSpec, params: CodecParams, *, loop: bool = True,
                 on_frame: FrameCallback | None = None, on_message: MessageCallback | None = None,
                 raw_queue_size: int = 2, packet_queue_size: int = 2,
                 capture: Capture = Capture(), threads: int | None = None,
                 auto_preset: bool = False) -> None:
        self._on_frame = on_frame
        self._on_message = on_message
        self._loop = loop
        self._capture_request = capture
        self._codec_threads = live_codec_threads() if threads is None else check_threads(threads)
        self._raw_queue_size = raw_queue_size
        self._packet_queue_size = packet_queue_size
        self._lock = threading.Lock()
        self._source = source
        self._source_request: SourceSpec | None = None
        self._params = params
        self._pending_params: CodecParams | None = None
        self._encoder_params: CodecParams | None = None
        self._paused = False
        self._step_asked = False
        self._governor = LoadGovernor(AUTO_PRESET if auto_preset else params.preset)
        self._threads: list[threading.Thread] = []
        self._stop = threading.Event()
        self._raw: DropOldestQueue[_Raw] = DropOldestQueue(raw_queue_size)
        self._packets: queue.Queue[_Packet] = queue.Queue(packet_queue_size)
        self._record_lock = threading.Lock()
        self._sink_lock = threading.Lock()
        self._saving: _Outlet[StreamSaver] = _Outlet()
        self._sending: _Outlet[PacketSender] = _Outlet()
        self._send_failing = False      # the last frame could not be sent (reported once)
        self._refresh_asked = False
        self._link_stats: Callable[[], dict] | None = None     # a received stream's link
        self._recorder: Recorder | None = None
        self._recorded_upto: tuple[int, int] | None = None
        self._record_due = 0.0          # frames the file should hold by now (fractional)
        self._record_fitting: tuple[int, int] | None = None  # stream size being letterboxed
        self._source_info: dict[str, Any] = {}
        self._capture_active = False
        self._switching = False
        self._frame_size: tuple[int, int] | None = None
        self._reset_stats()

    # ----------------------------------------------------------------- life cycle
    def start(self) -> None:
        """Start the three worker threads (again, after stop())."""
        if self.running:
            return
        self._stop = threading.Event()
        self._raw = DropOldestQueue(self._raw_queue_size)
        self._packets = queue.Queue(self._packet_queue_size)
        self._reset_stats()
        with self._lock:
            self._source_request = self._source
            self._switching = True
        stop = self._stop
        self._threads = [
            threading.Thread(target=self._run_stage, args=(stage, stop), daemon=True,
                             name=f"livecodec-{name}")
            for name, stage in (("capture", self._capture_loop), ("encode", self._encode_loop),
                                ("decode", self._decode_loop))
        ]
        for thread in self._threads:
            thread.start()

    def stop(self, timeout: float = 1.0) -> bool:
        """Stop the workers, close the source and finalise a recording and a saved stream.

        Returns False when a worker is still stuck after timeout seconds (e.g. inside a camera
        driver call); it is a daemon thread, so it cannot keep the process alive.
        """
        self._stop.set()
        deadline = time.monotonic() + timeout
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        stuck = [t.name for t in self._threads if t.is_alive()]
        if stuck:
            log.warning("pipeline threads still running after %.1f s: %s", timeout, stuck)
        self._threads = []
        self.stop_recording()
        self.stop_saving()
        return not stuck

    @property
    def running(self) -> bool:
        return any(t.is_alive() for t in self._threads)

    # ----------------------------------------------------------------- controls
    @property
    def params(self) -> CodecParams:
        """The most recently requested settings."""
        with self._lock:
            return self._params

    @property
    def encoder_params(self) -> CodecParams | None:
        """The settings the encoder used for its latest frame (None before the first)."""
        with self._lock:
            return self._encoder_params

    def set_params(self, params: CodecParams) -> None:
        """Hand new settings to the encoder; it takes them before its next frame."""
        with self._lock:
            if not self._governor.auto and params.preset != self._governor.preset:
                self._governor = LoadGovernor(params.preset)
            self._params = params
            self._pending_params = params

    @property
    def auto_preset(self) -> bool:
        """Whether the pipeline picks the preset by load."""
        with self._lock:
            return self._governor.auto

    def set_auto_preset(self, auto: bool) -> None:
        """Let the pipeline choose the preset (True) or keep ``params.preset`` (False)."""
        with self._lock:
            if auto != self._governor.auto:
                self._governor = LoadGovernor(AUTO_PRESET if auto else self._params.preset)
                self._pending_params = self._params

    def set_source(self, source: SourceSpec) -> None:
        """Switch to another source; it opens in the capture thread.

        When it cannot open, the error is reported and the current source (if one is open)
        carries on, so a bad choice loses nothing; with no current source a camera is retried
        with back-off (it may be plugged in later).
        """
        with self._lock:
            self._source = self._source_request = source
            self._switching = True

    @property
    def capture(self) -> Capture:
        """The size and rate asked of sources (see sources.Capture)."""
        with self._lock:
            return self._capture_request

    def set_capture(self, capture: Capture) -> None:
        """Ask for another capture size or rate: the current source reopens with it (a file is
        scaled; if the source cannot open that way, it is reported like any failed switch)."""
        with self._lock:
            self._capture_request = capture
            self._source_request = self._source
            self._switching = True

    @property
    def switching(self) -> bool:
        """True from set_source() until the capture thread has opened the source or given up."""
        with self._lock:
            return self._switching

    @property
    def source_info(self) -> dict[str, Any]:
        """name, fps, size (w, h), is_live, spec (the "demo" / "camera:N" / path it was
        opened from; None for a factory), coded (a compressed stream, played without
        encoding) and received (coded, arriving over the live link) of the open source; empty
        while none is open."""
        with self._lock:
            return dict(self._source_info)

    @property
    def source_active(self) -> bool:
        """True while a source is open, opening or waiting to reconnect; False once it gave up."""
        with self._lock:
            return self.running and (self._source_request is not None or self._capture_active)

    @property
    def paused(self) -> bool:
        return self._paused

    def set_paused(self, paused: bool) -> None:
        """Hold the stream: files and the demo wait where they are, a camera is read and discarded."""
        self._paused = paused

    def step(self) -> None:
        """While paused: let one more frame through (the next of a file, the newest of a camera)."""
        with self._lock:
            self._step_asked = self._paused

    def _take_step(self) -> bool:
        with self._lock:
            asked, self._step_asked = self._step_asked, False
            return asked

    # ----------------------------------------------------------------- recording
    @property
    def recorder(self) -> Recorder | None:
        with self._record_lock:
            return self._recorder

    def start_recording(self, path: str, fourcc: str = DEFAULT_FOURCC) -> Recorder:
        """Record the reconstruction to path from the next frame on, replacing any recording.

        Raises RecorderError at once for an unusable path or codec, or a path that is the file
        the pipeline plays.
        """
        try:
            check_not_input(path, self.input_files())
        except OutputError as exc:
            raise RecorderError(str(exc)) from None
        with self._lock:
            fps = float(self._source_info.get("fps") or FALLBACK_FPS)
            size = self._frame_size
        recorder = Recorder(path, fps, fourcc=fourcc, size=size)
        with self._record_lock:
            previous, self._recorder, self._recorded_upto = self._recorder, recorder, None
            self._record_due, self._record_fitting = 0.0, None
        if previous is not None:
            self._finish(previous)
        return recorder

    def input_files(self) -> list[str]:
        """The files the pipeline reads (the source playing and the one asked for): no output
        may be one of them."""
        with self._lock:
            specs = {self._source, self._source_info.get("spec")}
        return [s for s in specs if isinstance(s, str) and os.path.isfile(s)]

    def stop_recording(self) -> Recorder | None:
        """Finalise the recording, if any, and return it (``saved`` False: it got no frame,
        so no file was written; a file already at its path was left as it was)."""
        with self._record_lock:
            recorder, self._recorder = self._recorder, None
        if recorder is not None:
            self._finish(recorder)
        return recorder

    def _finish(self, recorder: Recorder) -> None:
        try:
            recorder.close()
        except RecorderError as exc:
            self._report("error", str(exc))

    # ----------------------------------------------------------------- the compressed stream
    @property
    def saver(self) -> StreamSaver | None:
        with self._sink_lock:
            return self._saving.target

    def start_saving(self, path: str) -> StreamSaver:
        """Save the compressed stream to ``path`` (a ``.lvc`` file) from the next refresh
        frame on, which is asked for now; replaces a save in progress.

        Raises StreamSaveError at once for an unusable path or one the pipeline reads.
        """
        try:
            check_not_input(path, self.input_files())
        except OutputError as exc:
            raise StreamSaveError(str(exc)) from None
        with self._lock:
            fps = float(self._source_info.get("fps") or FALLBACK_FPS)
        saver = StreamSaver(path, fps)
        with self._sink_lock:
            previous = self._saving.attach(saver)
        self.request_refresh()
        if previous is not None:
            previous.close()
        return saver

    def stop_saving(self) -> StreamSaver | None:
        """Close the saved stream, if any, and return it (``saved`` False: no packet came)."""
        with self._sink_lock:
            saver = self._saving.attach(None)
        if saver is not None:
            saver.close()
        return saver

    def set_sender(self, sender: PacketSender | None) -> PacketSender | None:
        """Send every packet to ``sender`` too (None: stop); the next frame is a refresh, so a
        receiver can start at once. Returns the previous sender, for the caller to close."""
        with self._sink_lock:
            previous = self._sending.attach(sender)
        if sender is not None:
            self.request_refresh()
        return previous

    def request_refresh(self) -> None:
        """Make the next encoded frame a refresh (a receiver lost packets, a save begins)."""
        with self._lock:
            self._refresh_asked = True

    # ----------------------------------------------------------------- statistics
    def stats(self) -> dict[str, Any]:
        """A JSON-ready snapshot.

        frames_captured / frames_shown (delivered to on_frame) / frames_dropped (raw frames the
        encoder never saw); fps, kbps and psnr over the last two seconds, where kbps is what the
        link carries per second of wall time; latency_ms, encode_ms, decode_ms are medians;
        kbps_mean follows DESIGN.md (8·bytes / (frames / source fps) / 1000). preset is the
        encoder preset in use, auto_preset whether the pipeline picks it, overloaded whether
        frames are being dropped because the encoder cannot keep up. A played stream without
        its reference video has no PSNR: psnr and psnr_mean are then 0.
        """
        now = time.monotonic()
        with self._lock:
            recent = [s for s in self._recent if now - s.shown_at <= _STATS_WINDOW_S]
            span = min(_STATS_WINDOW_S, now - self._first_shown_at) if self._first_shown_at else 0.0
            shown = self._frames_shown
            source_fps = float(self._source_info.get("fps") or 0.0)
            run_span = (self._last_shown_at - self._first_shown_at) if shown > 1 else 0.0
            psnrs = [s.psnr for s in recent if not math.isnan(s.psnr)]   # NaN: no reference
            result = {
                "source": self._source_info.get("name"),
                "size": list(self._frame_size) if self._frame_size else None,
                "frames_captured": self._frames_captured,
                "frames_shown": shown,
                "frames_dropped": self._raw.dropped,
                "fps": len(recent) / span if span > 0 else 0.0,
                "fps_mean": (shown - 1) / run_span if run_span > 0 else 0.0,
                "latency_ms": _median(self._latencies),
                "encode_ms": _median(self._encode_ms),
                "decode_ms": _median(self._decode_ms),
                "kbps": sum(s.nbytes for s in recent) * 8 / span / 1000 if span > 0 else 0.0,
                "kbps_mean": (self._bytes_total * 8 * source_fps / shown / 1000) if shown else 0.0,
                "psnr": statistics.fmean(psnrs) if psnrs else 0.0,
                "psnr_mean": self._psnr_total / self._psnr_frames if self._psnr_frames else 0.0,
                "refresh_frames": self._refresh_frames,
                "decode_errors": self._decode_errors,
                "preset": self._governor.preset,
                "auto_preset": self._governor.auto,
                "overloaded": self._governor.overloaded,
            }
            link_stats = self._link_stats
        with self._sink_lock:
            sender = self._sending.target
        if link_stats is not None:
            result["receiving"] = link_stats()
        if sender is not None:
            result["sending"] = sender.stats()
        return {k: round(v, 2) if isinstance(v, float) else v for k, v in result.items()}

    def _reset_stats(self) -> None:
        with self._lock:
            self._frames_captured = 0
            self._frames_shown = 0
            self._refresh_frames = 0
            self._decode_errors = 0
            self._bytes_total = 0
            self._psnr_total = 0.0
            self._psnr_frames = 0
            self._first_shown_at = 0.0
            self._last_shown_at = 0.0
            self._recent: deque[FrameStats] = deque(maxlen=512)
            self._latencies: deque[float] = deque(maxlen=_TIMING_SAMPLES)
            self._encode_ms: deque[float] = deque(maxlen=_TIMING_SAMPLES)
            self._decode_ms: deque[float] = deque(maxlen=_TIMING_SAMPLES)

    def _count_shown(self, stats: FrameStats, size: tuple[int, int]) -> None:
        with self._lock:
            self._frame_size = size
            self._frames_shown += 1
            self._refresh_frames += stats.frame_type == FRAME_REFRESH
            self._bytes_total += stats.nbytes
            if not math.isnan(stats.psnr):
                self._psnr_total += stats.psnr
                self._psnr_frames += 1
            self._first_shown_at = self._first_shown_at or stats.shown_at
            self._last_shown_at = stats.shown_at
            self._recent.append(stats)
            self._latencies.append(stats.latency_ms)
            self._encode_ms.append(stats.encode_ms)
            self._decode_ms.append(stats.decode_ms)

    # ----------------------------------------------------------------- workers
    def _report(self, level: str, text: str) -> None:
        # Marked, so a front end that prints these messages itself can leave them out of its
        # log output (the headless readout); tracebacks and the like are not marked.
        log.log(_LOG_LEVELS.get(level, logging.INFO), "%s", text, extra={USER_MESSAGE: True})
        if self._on_message is not None:
            try:
                self._on_message(level, text)
            except Exception:  # a broken callback must not kill a worker
                log.exception("on_message callback failed")

    def _run_stage(self, stage: Callable[[threading.Event], None], stop: threading.Event) -> None:
        """Runs one worker; an unexpected error is reported and stops only the stream."""
        try:
            stage(stop)
        except Exception as exc:
            log.exception("pipeline stage failed")
            self._report("error", f"{threading.current_thread().name} failed: {exc}")
            stop.set()

    def _capture_loop(self, stop: threading.Event) -> None:
        capture = _Capture(self, stop)
        try:
            capture.run()
        finally:
            capture.close()

    def _encode_loop(self, stop: threading.Event) -> None:
        params = self.params
        _warm_up(params)
        encoder: Encoder | None = None
        stream, failing, last_captured_at, last_index = None, False, 0.0, 0
        while not stop.is_set():
            raw = self._raw.get(_POLL_S)
            if raw is None:
                continue
            if raw.coded is not None:   # already compressed: straight to the decoder
                self._save_received(raw)
                self._hand_to_decoder(_Packet(raw, None, params, 0.0), stop)
                continue
            with self._lock:
                pending, self._pending_params = self._pending_params, None
                governor = self._governor
                refresh_asked, self._refresh_asked = self._refresh_asked, False
            params = self._with_preset(pending or params, governor)
            duration = raw.captured_at - last_captured_at
            new_stream = encoder is None or stream != (raw.generation, raw.frame.shape, raw.fps)
            if new_stream:
                # A new source or frame size starts a new stream; rate control budgets bits
                # per frame from the source's frame rate.
                encoder = Encoder(params, fps=raw.fps, threads=self._codec_threads)
                stream = (raw.generation, raw.frame.shape, raw.fps)
                duration = 1.0 / raw.fps
                governor.restart(time.monotonic())
            elif params != encoder.params:
                encoder.set_params(params)
            if refresh_asked:
                encoder.request_refresh()
            if not new_stream and raw.index - last_index > 1:
                self._fill_dropped(encoder, raw, raw.index - last_index - 1, last_captured_at,
                                   params, stop)
            with self._lock:
                self._encoder_params = params
            started = time.perf_counter()
            try:
                # The time since the previous coded frame: rate control holds the target per
                # second of wall-clock time, also while frames are being dropped.
                encoded = encoder.encode(raw.frame, duration=duration)
            except Exception as exc:  # a frame the codec rejects: say so once, start afresh
                if not failing:
                    log.debug("encoder failed", exc_info=True)
                    self._report("error", f"encoder: {exc}")
                failing, encoder = True, None
                continue
            failing, last_captured_at, last_index = False, raw.captured_at, raw.index
            self._watch_load(governor, raw)
            encode_ms = (time.perf_counter() - started) * 1000
            self._send_out(encoded, raw, new_stream)
            self._hand_to_decoder(_Packet(raw, encoded, params, encode_ms), stop)

    def _fill_dropped(self, encoder: Encoder, raw: _Raw, dropped: int, last_captured_at: float,
                      params: CodecParams, stop: threading.Event) -> None:
        """While the stream is saved or sent, stand a repeat of the previous picture in for
        each frame the encoder had to drop (a few bytes each, at most a second's worth per gap),
        so the file and the receiver keep the source's timing."""
        with self._sink_lock:
            if self._saving.target is None and self._sending.target is None:
                return
        step = (raw.captured_at - last_captured_at) / (dropped + 1)
        for k in range(1, min(dropped, max(1, round(raw.fps * _MAX_FILL_S))) + 1):
            stand_in = replace(raw, frame=None, index=raw.index - dropped - 1 + k,
                               captured_at=last_captured_at + k * step)
            repeat = encoder.repeat()
            self._send_out(repeat, stand_in, False)
            self._hand_to_decoder(_Packet(stand_in, repeat, params, 0.0, filler=True), stop)

    def _hand_to_decoder(self, packet: _Packet, stop: threading.Event) -> None:
        while not stop.is_set():  # never drop a packet: wait for the decoder instead
            try:
                self._packets.put(packet, timeout=_POLL_S)
                return
            except queue.Full:
                continue

    def _send_out(self, encoded: Any, raw: _Raw, new_stream: bool) -> None:
        """Hand a packet to the stream's outlets: the saved file and the network sender."""
        is_refresh = encoded.frame_type == FRAME_REFRESH
        with self._sink_lock:   # only who gets it; the writing and sending happen outside
            saver, sender = self._saving.take(is_refresh), self._sending.take(is_refresh)
        if saver is not None:
            self._write_saved(saver, encoded.data, new_stream, raw.fps)
        if sender is not None:
            # The capture moment on the wall clock, which the receiver's latency is measured to.
            capture_time = time.time() - (time.monotonic() - raw.captured_at)
            try:
                sender.send_frame(encoded.data, capture_time=capture_time, refresh=is_refresh)
            except Exception as exc:    # e.g. a frame larger than the link carries: not sent
                if not self._send_failing:
                    self._report("warning", f"link: {exc}; sending refresh frames until one fits")
                self._send_failing = True
                self.request_refresh()
            else:
                self._send_failing = False

    def _save_received(self, raw: _Raw) -> None:
        """A received stream's packets go to a save as they came (a played file is saved
        already); a save begun mid-stream asks the sender for the refresh it starts with."""
        coded = raw.coded
        if not coded.items or not isinstance(coded.items[-1], (bytes, bytearray)):
            return
        with self._sink_lock:
            saver = self._saving.take(coded.refresh)
            ask = self._saving.target is not None and saver is None
        if saver is not None:
            self._write_saved(saver, coded.items[-1], False, raw.fps)
        elif ask and coded.ask_refresh is not None:
            coded.ask_refresh()

    def _write_saved(self, saver: StreamSaver, data: bytes, new_stream: bool, fps: float) -> None:
        try:
            saver.write(data, new_stream=new_stream, fps=fps)
        except StreamSaveError as exc:
            with self._sink_lock:
                current = self._saving.target is saver     # not a save the user just stopped
                if current:
                    self._saving.attach(None)
            if current:
                self._report("error", str(exc))

    @staticmethod
    def _with_preset(params: CodecParams, governor: LoadGovernor) -> CodecParams:
        """The settings to encode with: the governor's preset when it chooses."""
        if governor.auto and params.preset != governor.preset:
            return params.with_changes(preset=governor.preset)
        return params

    def _watch_load(self, governor: LoadGovernor, raw: _Raw) -> None:
        """Feed the governor; report what it decides (an overload, a preset change)."""
        with self._lock:
            change = governor.update(time.monotonic(), self._frames_captured, self._raw.dropped,
                                     _median(self._encode_ms), 1.0 / raw.fps)
        if change is not None:
            self._report(change.level, change.text)

    def _decode_loop(self, stop: threading.Event) -> None:
        decoder = ConcealingDecoder(threads=self._codec_threads)
        generation, concealing = None, False
        decoded: DecodedFrame | None = None     # the last picture a coded source decoded
        while not stop.is_set():
            try:
                packet = self._packets.get(timeout=_POLL_S)
            except queue.Empty:
                continue
            if packet.raw.generation != generation:
                decoder = ConcealingDecoder(threads=self._codec_threads)
                generation, decoded = packet.raw.generation, None
            coded = packet.raw.coded
            if coded is not None and not coded.items:
                continue    # a slot the link gave up: concealed when the next packet comes
            started = time.perf_counter()
            recovered = [frame for item in (coded.items if coded else (packet.encoded.data,))
                         for frame in decoder.feed(item)]
            decode_ms = (time.perf_counter() - started) * 1000
            problem = recovered[-1].problem if recovered else "; ".join(decoder.problems)
            decoder.problems.clear()
            if problem:  # in-process only if the codec has a bug; a damaged file or link: often
                with self._lock:
                    self._decode_errors += 1
                if not concealing:
                    self._report("warning", f"decoder: {problem}; concealing until the next refresh")
                concealing = True
                if coded is not None and coded.ask_refresh is not None:
                    coded.ask_refresh()     # e.g. joined a stream mid-way: ask for a refresh
            elif concealing:
                self._report("info", "decoder: stream resumed")
                concealing = False
            if not recovered or packet.filler:
                continue
            if coded is None:
                self._deliver(packet, recovered[-1].image, decode_ms)
            else:
                decoded = recovered[-1].decoded or decoded
                if decoded is not None:
                    self._deliver_coded(packet, recovered[-1].image, decoded,
                                        recovered[-1].problem is not None, decode_ms)

    def _deliver(self, packet: _Packet, reconstruction: np.ndarray, decode_ms: float) -> None:
        raw, encoded = packet.raw, packet.encoded
        self._show(raw, reconstruction, FrameStats(
            index=raw.index, frame_type=encoded.frame_type, quality=encoded.quality,
            nbytes=len(encoded.data), bytes_by_part=dict(encoded.bytes_by_part),
            psnr=live_psnr(raw.frame, reconstruction), encode_ms=packet.encode_ms,
            decode_ms=decode_ms, latency_ms=0.0, shown_at=0.0),
            encoded.motion_vectors, encoded.quadrant_vectors, encoded.block_modes,
            encoded.block_size, packet.params)

    def _deliver_coded(self, packet: _Packet, image: np.ndarray, decoded: DecodedFrame,
                       concealed: bool, decode_ms: float) -> None:
        """A frame of a coded source: what the stream says about it, PSNR against the
        reference when there is one (NaN otherwise). A concealed frame shows the last picture,
        with no vectors."""
        raw = packet.raw
        reference = raw.frame if raw.frame is not None and raw.frame.shape == image.shape else None
        # The stream tells only whole packet sizes: they are drawn as one layer of the plot.
        self._show(raw, image, FrameStats(
            index=raw.index, frame_type=FRAME_PREDICTED if concealed else decoded.frame_type,
            quality=decoded.quality, nbytes=raw.coded.nbytes,
            bytes_by_part={"header": raw.coded.nbytes},
            psnr=live_psnr(reference, image) if reference is not None else float("nan"),
            encode_ms=0.0, decode_ms=decode_ms, latency_ms=0.0, shown_at=0.0),
            None if concealed else decoded.motion_vectors,
            None if concealed else decoded.quadrant_vectors,
            decoded.block_modes, decoded.block_size, packet.params)

    def _show(self, raw: _Raw, reconstruction: np.ndarray, stats: FrameStats,
              motion_vectors: np.ndarray | None, quadrant_vectors: np.ndarray | None,
              block_modes: np.ndarray, block_size: int, params: CodecParams) -> None:
        """Record, count and hand one frame to ``on_frame``; the latency is taken here."""
        self._record(raw, reconstruction)
        now = time.monotonic()
        captured_at = raw.captured_at
        if raw.coded is not None and raw.coded.capture_time is not None:  # the sender's clock
            captured_at = now - (time.time() - raw.coded.capture_time)
        stats = replace(stats, latency_ms=(now - captured_at) * 1000, shown_at=now)
        self._count_shown(stats, (reconstruction.shape[1], reconstruction.shape[0]))
        if self._on_frame is not None:
            frame = PipelineFrame(raw.frame, reconstruction, motion_vectors, quadrant_vectors,
                                  block_modes, block_size, params, raw.fps, stats)
            try:
                self._on_frame(frame)
            except Exception:  # a broken view must not stop the stream
                log.exception("on_frame callback failed")

    def _record(self, raw: _Raw, reconstruction: np.ndarray) -> None:
        """Write the frame, repeated over frames dropped since the last one so timing holds.

        The file keeps the stream's time at its own frame rate, also after a switch to a source
        with another rate; frames of another size (a new source) are letterboxed into the
        recording's size, so one file goes on across source switches.
        """
        messages: list[tuple[str, str]] = []
        with self._record_lock:
            recorder = self._recorder
            if recorder is None:
                return
            gap = 1
            if self._recorded_upto is not None and self._recorded_upto[0] == raw.generation:
                gap = int(min(max(raw.index - self._recorded_upto[1], 1),
                              max(1.0, raw.fps * _MAX_FILL_S)))
            self._record_due += gap * recorder.fps / raw.fps
            repeats = int(self._record_due + 0.5) - recorder.frames_written
            frame, size = reconstruction, (reconstruction.shape[1], reconstruction.shape[0])
            if recorder.size is not None and size != recorder.size:
                frame = letterbox(reconstruction, recorder.size)
                if self._record_fitting != size:
                    width, height = recorder.size
                    messages.append(("info", f"recording continues in {recorder.path.name}: "
                                             f"{size[0]}x{size[1]} frames scaled into its "
                                             f"{width}x{height}, black bars keep the shape"))
            elif self._record_fitting is not None:
                messages.append(("info", f"recording continues in {recorder.path.name} at "
                                         f"{size[0]}x{size[1]}"))
            self._record_fitting = size if frame is not reconstruction else None
            try:
                for _ in range(repeats):
                    recorder.write(frame)
            except RecorderError as exc:
                self._recorder = None
                messages.append(("error", self._stopped(recorder, exc)))
            else:
                self._recorded_upto = (raw.generation, raw.index)
        for level, text in messages:
            self._report(level, text)

    def _stopped(self, recorder: Recorder, exc: RecorderError) -> str:
        """Close a recording that failed; the message says what became of its file."""
        try:
            recorder.close()
        except RecorderError as close_exc:
            return f"recording stopped: {exc}; {close_exc}"
        if isinstance(exc, DiskFullError):
            return str(exc)
        kept = (f"{recorder.path.name} keeps {recorder.frames_written} frames" if recorder.saved
                else "nothing was recorded, no file written")
        return f"recording stopped: {exc}; {kept}"

    # used by _Capture
    def _take_source_request(self) -> SourceSpec | None:
        with self._lock:
            request, self._source_request = self._source_request, None
            if request is not None:
                self._capture_active = True
            return request

    def _switch_done(self) -> None:
        with self._lock:
            self._switching = self._source_request is not None

    def _capture_gave_up(self) -> None:
        with self._lock:
            self._capture_active = False

    def _set_source_info(self, source: FrameSource | None, spec: SourceSpec | None = None) -> None:
        with self._lock:
            self._source_info = {} if source is None else {
                "name": source.name, "fps": float(source.fps), "size": tuple(source.size),
                "is_live": bool(source.is_live), "spec": spec if isinstance(spec, str) else None,
                "coded": bool(getattr(source, "coded", False)),
                "received": bool(getattr(source, "arrives", False))}
            if source is None and self._link_stats is not None:     # keep the last counts
                final = self._link_stats()
                self._link_stats = lambda: final
            elif source is not None:
                self._link_stats = getattr(source, "link_stats", None)

    def _raw_has_room(self) -> bool:
        return len(self._raw) < self._raw.maxsize

    def _push_raw(self, raw: _Raw, live: bool) -> None:
        with self._lock:
            self._frames_captured += 1
            if self._source_info:   # a received stream learns its rate, a segment has its own
                self._source_info["fps"] = raw.fps
        self._raw.maxsize = 1 if live else self._raw_queue_size
        self._raw.put(raw)


class _LiveReader:
    """Reads a live source in a daemon thread of its own, keeping only the newest frame.

    A driver read can block for good (some backends do when a camera is unplugged); then only
    this thread is stuck, and the capture loop abandons it. The reader alone touches its source,
    so it closes it too: when told to stop, or whenever a stuck read returns at last. It keeps
    what the watchdog needs to know: when the last frame came, and since when the picture has
    not changed.
    """

    def __init__(self, source: FrameSource) -> None:
        self.source = source
        self._cond = threading.Condition()
        self._frame: np.ndarray | None = None
        self._error: str | None = None
        self._sample: np.ndarray | None = None
        self._last_frame_at = self._same_since = time.monotonic()
        self._closing = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True, name="livecodec-reader")
        self._thread.start()

    def take(self, timeout: float) -> np.ndarray | None:
        """The newest frame not taken yet, waiting up to timeout seconds for one."""
        with self._cond:
            self._cond.wait_for(lambda: self._frame is not None or self._error is not None,
                                timeout)
            frame, self._frame = self._frame, None
            return frame

    def fault(self) -> str | None:
        """What is wrong with the camera, if anything: it failed, stopped responding or froze."""
        now = time.monotonic()
        with self._cond:
            if self._error is not None:
                return f"lost: {self._error}"
            if now - self._last_frame_at > STALL_TIMEOUT_S:
                return f"stopped responding (no frame for {now - self._last_frame_at:.1f} s)"
            if self._last_frame_at - self._same_since > FROZEN_TIMEOUT_S:
                return (f"frozen (the same picture for "
                        f"{self._last_frame_at - self._same_since:.1f} s)")
        return None

    def close(self, wait: float) -> None:
        """Stop reading; wait up to `wait` seconds for a read in progress (0: abandon it)."""
        self._closing.set()
        self._thread.join(wait)

    def _run(self) -> None:
        try:
            while not self._closing.is_set():
                try:
                    frame, error = self.source.read(), "no frame"
                except Exception as exc:  # SourceError, or a driver error surfacing as anything
                    frame, error = None, str(exc) or type(exc).__name__
                if self._closing.is_set():  # abandoned meanwhile: whatever a late read brought
                    return
                if frame is None:
                    with self._cond:
                        self._error = error
                        self._cond.notify_all()
                    return
                self._store(frame)
        finally:
            try:
                self.source.close()
            except Exception:
                log.exception("closing the camera failed")

    def _store(self, frame: np.ndarray) -> None:
        sample = frame[::_FROZEN_STRIDE, ::_FROZEN_STRIDE]
        # A uniform picture (lens cap, dark room) may repeat exactly on a healthy camera.
        changed = (self._sample is None or sample.shape != self._sample.shape
                   or not np.array_equal(sample, self._sample) or sample.min() == sample.max())
        now = time.monotonic()
        with self._cond:
            if changed:
                self._sample, self._same_since = sample.copy(), now
            self._frame, self._last_frame_at = frame, now
            self._cond.notify_all()


class _Capture:
    """The capture worker's state: which source, when the next frame is due, the watchdog of a
    live source, and reconnects with back-off."""

    def __init__(self, pipeline: Pipeline, stop: threading.Event) -> None:
        self.pipeline = pipeline
        self.stop = stop
        self.spec: SourceSpec | None = None
        self.source: FrameSource | None = None
        self.reader: _LiveReader | None = None
        self.generation = 0
        self.index = 0
        self.next_due = 0.0
        self.opened_at = 0.0
        self.retry_at: float | None = None
        self.failures = 0
        self.skipped = False    # frames of an arriving stream were skipped (paused)

    def run(self) -> None:
        while not self.stop.is_set():
            request = self.pipeline._take_source_request()
            if request is not None:
                self._switch(request)
            if self.source is None:
                self._open_when_due()
            elif self.reader is not None:
                self._capture_live()
            elif getattr(self.source, "arrives", False):
                self._capture_arriving()
            elif self.pipeline.paused and not self.pipeline._take_step():
                self.stop.wait(_POLL_S)     # files and the demo wait where they are
                self.next_due = time.monotonic()
            else:
                self._capture_paced()

    def close(self, wait: float = _READER_JOIN_S) -> None:
        if self.reader is not None:
            self.reader.close(wait)  # the reader closes its source itself, even when stuck
            self.reader = None
        elif self.source is not None:
            try:
                self.source.close()
            except Exception:
                log.exception("closing the source failed")
        self.source = None
        self.pipeline._set_source_info(None)

    def _switch(self, request: SourceSpec) -> None:
        """Open the requested source; when it fails, the current one (if any) carries on."""
        current = self.source
        if current is None or request == self.spec:  # nothing to keep, or the same device
            self.close()
            self.spec, self.retry_at, self.failures = request, None, 0
            return  # _open_when_due opens it, and retries a camera
        try:
            source, spec = self._open(request)
        except Exception as exc:  # SourceError, or anything a source factory raises
            self.pipeline._report("error", f"{exc}; still showing {current.name}")
            return
        finally:
            self.pipeline._switch_done()
        self.close()
        self.spec, self.failures = spec, 0
        self._started(source, spec)

    def _open_when_due(self) -> None:
        if self.spec is None or (self.retry_at is not None and time.monotonic() < self.retry_at):
            self.stop.wait(_POLL_S)
            return
        try:
            source, self.spec = self._open(self.spec)
        except Exception as exc:  # SourceError, or anything a source factory raises
            if not isinstance(exc, UnsupportedSizeError) and (self.retry_at is not None
                                                              or _is_live_spec(self.spec)):
                self._schedule_retry(f"{exc}")
            else:
                self.pipeline._report("error", str(exc))
                self._give_up()
            return
        finally:
            self.pipeline._switch_done()
        if self.failures:
            self.pipeline._report("info", f"{source.name}: reconnected")
        self._started(source, self.spec)

    def _open(self, spec: SourceSpec) -> tuple[FrameSource, SourceSpec]:
        """The opened source and the spec that opened it (AUTO_SOURCE resolves to one).

        Raises UnsupportedSizeError (the source closed again) when its frames are larger than
        the codec takes; AUTO_SOURCE then shows the demo scene instead of such a camera.
        """
        if callable(spec):
            return _checked(spec()), spec
        request = self.pipeline._capture_request
        if spec != AUTO_SOURCE:
            return _checked(request.open(spec, loop=self.pipeline._loop)), spec
        try:
            return _checked(request.open(_AUTO_CHOICES[0])), _AUTO_CHOICES[0]
        except SourceError as exc:
            self.pipeline._report("info", f"{exc}: showing the demo scene instead")
            return _checked(request.open(_AUTO_CHOICES[1])), _AUTO_CHOICES[1]

    def _started(self, source: FrameSource, spec: SourceSpec) -> None:
        self.source = source
        self.reader = _LiveReader(source) if source.is_live else None
        self.generation += 1
        self.index, self.retry_at = 0, None
        self.next_due = self.opened_at = time.monotonic()
        self.pipeline._set_source_info(source, spec)

    def _schedule_retry(self, reason: str) -> None:
        delay = _RECONNECT_BACKOFF_S[min(self.failures, len(_RECONNECT_BACKOFF_S) - 1)]
        self.failures += 1
        self.retry_at = time.monotonic() + delay
        self.pipeline._report("warning", f"{reason}; retrying in {delay:g} s")

    def _capture_live(self) -> None:
        """Take the reader's newest frame and ask the watchdog; a camera runs on while paused
        (frames are read and dropped), so resuming shows "now"."""
        frame = self.reader.take(_POLL_S)
        fault = self.reader.fault()
        if fault is not None:
            self._lost(fault)
        elif frame is not None and (not self.pipeline.paused or self.pipeline._take_step()):
            self._push(frame)

    def _capture_arriving(self) -> None:
        """A stream over the link: frames as they come, none dropped (each predicted one needs
        its predecessor). While paused they are skipped, and a refresh is asked on resuming."""
        try:
            frames, error = self.source.take(_POLL_S), None
        except Exception as exc:
            frames, error = None, str(exc) or type(exc).__name__
        if frames is None:
            self._lost(error)
            return
        for frame in frames:
            if self.pipeline.paused and not self.pipeline._take_step():
                self.skipped = True
                continue
            if self.skipped:
                self.source.request_refresh()
                self.skipped = False
            while not self.pipeline._raw_has_room() and not self.stop.is_set():
                self.stop.wait(_CODED_WAIT_S)
            self._push(frame)

    def _capture_paced(self) -> None:
        """Files and the demo play at their own rate, read here when a frame is due.

        A coded source's packets are never dropped (each predicted one needs its predecessor):
        it waits while the encoder's queue is full instead.
        """
        delay = self.next_due - time.monotonic()
        if delay > 0:
            self.stop.wait(min(delay, _POLL_S))
            return
        if getattr(self.source, "coded", False) and not self.pipeline._raw_has_room():
            self.stop.wait(_CODED_WAIT_S)
            return
        try:
            frame, error = self.source.read(), None
        except Exception as exc:  # SourceError, or a decoder error surfacing as anything else
            frame, error = None, str(exc) or type(exc).__name__
        if frame is None:
            self._lost(error)
        else:
            self._push(frame)

    def _push(self, frame: np.ndarray | CodedFrame) -> None:
        source, now = self.source, time.monotonic()
        coded = frame if isinstance(frame, CodedFrame) else None
        if coded is not None:       # the decoder checks the sizes a stream declares
            frame = coded.reference
        else:
            problem = size_problem(source.name, (frame.shape[1], frame.shape[0]))
            if problem is not None:  # a source whose frames outgrew what it declared
                self.close(wait=0.0)
                self.pipeline._report("error", problem)
                self._give_up()
                return
        self.index += 1
        fps = float(source.fps) if source.fps and source.fps > 0 else FALLBACK_FPS
        self.pipeline._push_raw(_Raw(frame, self.index, now, self.generation, fps, coded),
                                source.is_live)
        self.next_due = max(self.next_due + 1.0 / fps, now - 1.0 / fps)  # no burst after a stall
        if self.failures and now - self.opened_at >= _RECOVERED_S:
            self.failures = 0

    def _lost(self, problem: str | None) -> None:
        """A live source failed (problem says how): reconnect. A file failed or ended: stop."""
        name, live = self.source.name, self.source.is_live
        ending = getattr(self.source, "end_message", "end of file")
        self.close(wait=0.0)  # a stuck reader is abandoned; it closes the camera if it returns
        if live:
            self._schedule_retry(f"{name} {problem}")
        elif problem:
            self.pipeline._report("error", f"{name}: {problem}")
            self._give_up()
        else:
            self.pipeline._report("info", f"{name}: {ending}")
            self._give_up()

    def _give_up(self) -> None:
        """Idle until another source is chosen."""
        self.spec = None
        self.pipeline._capture_gave_up()


def _checked(source: FrameSource) -> FrameSource:
    """source, unless its frames are larger than the codec takes: then it is closed again and
    UnsupportedSizeError says so."""
    if getattr(source, "coded", False):    # the decoder checks the sizes a stream declares
        return source
    problem = size_problem(source.name, tuple(source.size))
    if problem is None:
        return source
    try:
        source.close()
    except Exception:
        log.exception("closing the source failed")
    raise UnsupportedSizeError(problem)


def _warm_up(params: CodecParams) -> None:
    """Run the codec once on two tiny frames, so JIT compiling or loading its cached kernels
    happens while the source opens, not on the first live frames (DESIGN.md field notes)."""
    y, x = np.mgrid[0:48, 0:64]
    first = np.stack([x * 4, y * 5, (x + y) * 2], axis=2).astype(np.uint8)
    encoder, decoder = Encoder(params), Decoder()
    for frame in (first, np.roll(first, (2, 3), axis=(0, 1))):
        decoder.decode(encoder.encode(frame).data)


def live_codec_threads() -> int:
    """Threads per frame of the live encoder and decoder when none are asked for: one core
    fewer than the process may use (at least one).

    The pipeline's own stages (capture, encoder, decoder, the window) already run side by
    side; an encoder that also splits every frame over all cores waits for pieces that share
    a core with the decoder. Measured in the window on two cores at 1280x720
    (``python -m bench.pipeline_fps --window --threads N``, two runs each): one thread 20.4 and
    24.4 fps, 138 and 85 ms median latency; two threads 19.8 and 18.7 fps, 170 and 171 ms.
    """
    return max(1, default_threads() - 1)


def live_psnr(original: np.ndarray, reconstruction: np.ndarray) -> float:
    """PSNR as DESIGN.md defines it (all three channels, peak 255, capped), in 0.05 ms.

    codec.psnr goes through scikit-image and float64 copies: about 6 ms per 640×480 frame,
    taken from the decoder thread 30 times a second. OpenCV computes the same formula.
    """
    return min(float(cv2.PSNR(original, reconstruction, 255.0)), PSNR_CAP)


def _is_live_spec(spec: SourceSpec) -> bool:
    return isinstance(spec, str) and is_live_spec(spec)


def _median(values: deque[float]) -> float:
    return statistics.median(values) if values else 0.0
