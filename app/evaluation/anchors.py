"""The anchors livecodec is compared with, measured on the very frames livecodec codes.

- **MJPEG**: OpenCV's JPEG (``cv2.imencode``), every frame on its own; bytes = the JPEG files.
- **MPEG-4 Part 2** and **x264** through the ``ffmpeg`` command: the frames go in as raw bgr24
  through a pipe, the elementary stream goes to a temporary file (bytes = its size, x264's
  encoder-settings SEI removed, see ``X264_STRIP_SEI``), and ffmpeg decodes that file back to
  raw bgr24 on a pipe for the PSNR.
- **yuv420p ceiling**: the uncompressed bgr24 -> yuv420p -> bgr24 round trip with the same
  conversion flags; no 4:2:0 anchor can exceed it.

Both conversions use ``SWS_FLAGS``: ffmpeg's default bgr24<->yuv420p conversion alone would cap
the PSNR at 36-41 dB (DESIGN.md, Measuring).
"""
from __future__ import annotations

import functools
import os
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Sequence

import cv2
import numpy as np

from .quality import mean_quality

__all__ = ["SWS_FLAGS", "AnchorPoint", "ffmpeg_path", "ffmpeg_version", "ffmpeg_encoders",
           "jpeg_point", "mpeg4_point", "x264_point", "yuv420_ceiling", "FfmpegError",
           "command_lines", "MPEG4_ARGS", "X264_PRESETS", "x264_args"]

SWS_FLAGS = "bicubic+accurate_rnd+full_chroma_int+full_chroma_inp"
MPEG4_ARGS = ["-c:v", "mpeg4", "-bf", "0", "-g", "30"]          # + -q:v Q
#: x264 presets measured: its fastest, the live-streaming default (OBS), and x264's own default.
X264_PRESETS = ("ultrafast", "veryfast", "medium")
#: x264 writes its whole settings string into a user-data SEI (~700 bytes) in the first frame;
#: a decoder ignores it, so it is removed from the counted stream (all SEI NAL units, type 6;
#: with these settings x264 writes no other SEI).
X264_STRIP_SEI = ["-bsf:v", "filter_units=remove_types=6"]


class FfmpegError(RuntimeError):
    """An ffmpeg command failed or returned the wrong number of frames."""


@dataclass
class AnchorPoint:
    """One point of a sweep: the setting, the bytes of the stream and the mean PSNR and
    SSIM."""

    setting: int
    bytes: int
    psnr: float
    frames: int
    width: int
    height: int
    encode_seconds: float = 0.0
    ssim: float = float("nan")
    extra: dict = field(default_factory=dict)

    @property
    def bpp(self) -> float:
        return 8.0 * self.bytes / (self.frames * self.width * self.height)

    def as_dict(self) -> dict:
        return {"setting": self.setting, "bytes": self.bytes, "bpp": self.bpp, "psnr": self.psnr,
                "ssim": self.ssim, "frames": self.frames, "encode_seconds": self.encode_seconds,
                **self.extra}


# -- ffmpeg discovery -------------------------------------------------------------------------
def ffmpeg_path() -> str | None:
    """The ffmpeg executable, or None when it is not installed."""
    return shutil.which("ffmpeg")


@functools.lru_cache(maxsize=1)
def ffmpeg_version() -> str | None:
    exe = ffmpeg_path()
    if exe is None:
        return None
    out = subprocess.run([exe, "-hide_banner", "-version"], capture_output=True, text=True)
    first = out.stdout.splitlines()[0] if out.stdout else "ffmpeg (unknown version)"
    return first.replace(" Copyright", "\n").split("\n")[0]


@functools.lru_cache(maxsize=1)
def ffmpeg_encoders() -> frozenset[str]:
    """Names of the video encoders this ffmpeg has (empty without ffmpeg)."""
    exe = ffmpeg_path()
    if exe is None:
        return frozenset()
    out = subprocess.run([exe, "-hide_banner", "-encoders"], capture_output=True, text=True)
    names = set()
    for line in out.stdout.splitlines():
        parts = line.split()
        if len(parts) >= 2 and parts[0].startswith("V"):
            names.add(parts[1])
    return frozenset(names)


@functools.lru_cache(maxsize=1)
def _passthrough_args() -> tuple[str, ...]:
    """Keep every decoded frame, neither duplicated nor dropped (option name by version)."""
    exe = ffmpeg_path()
    out = subprocess.run([exe, "-hide_banner", "-h", "full"], capture_output=True, text=True)
    return ("-fps_mode", "passthrough") if "-fps_mode" in out.stdout else ("-vsync", "0")


def _rate(fps: float) -> str:
    frac = Fraction(fps).limit_denominator(1001)
    return f"{frac.numerator}/{frac.denominator}" if frac.denominator != 1 else str(frac.numerator)


# -- the command lines ------------------------------------------------------------------------
def _encode_cmd(w: int, h: int, fps: float, codec_args: Sequence[str], fmt: str, out: str) -> list[str]:
    return [ffmpeg_path() or "ffmpeg", "-hide_banner", "-loglevel", "error", "-y",
            "-f", "rawvideo", "-pix_fmt", "bgr24", "-s", f"{w}x{h}", "-r", _rate(fps), "-i", "-",
            "-sws_flags", SWS_FLAGS, "-pix_fmt", "yuv420p", *codec_args, "-f", fmt, out]


def _decode_cmd(fmt_in: Sequence[str], path: str) -> list[str]:
    return [ffmpeg_path() or "ffmpeg", "-hide_banner", "-loglevel", "error", *fmt_in, "-i", path,
            "-sws_flags", SWS_FLAGS, *_passthrough_args(), "-f", "rawvideo", "-pix_fmt", "bgr24",
            "-"]


def command_lines() -> dict[str, str]:
    """The anchors' command lines as the report shows them (W, H, FPS, Q, C placeholders)."""
    def show(cmd):
        return " ".join(["ffmpeg", *cmd[1:]])

    dec_flags = list(_passthrough_args()) if ffmpeg_path() else ["-fps_mode", "passthrough"]

    def dec(fmt_in, path):
        return " ".join(["ffmpeg", "-hide_banner", "-loglevel", "error", *fmt_in, "-i", path,
                         "-sws_flags", SWS_FLAGS, *dec_flags, "-f", "rawvideo", "-pix_fmt",
                         "bgr24", "-"])

    enc = lambda args, fmt, out: show(_encode_cmd(0, 0, 30, args, fmt, out)).replace(  # noqa: E731
        "-s 0x0 -r 30", "-s WxH -r FPS")
    return {
        "MPEG-4 Part 2 encode": enc([*MPEG4_ARGS, "-q:v", "Q"], "m4v", "out.m4v"),
        "MPEG-4 Part 2 decode": dec(["-f", "m4v"], "out.m4v"),
        **{f"x264 {preset} encode": enc([*x264_args(preset), "-crf", "C", *X264_STRIP_SEI],
                                        "h264", "out.h264") for preset in X264_PRESETS},
        "x264 decode": dec(["-f", "h264"], "out.h264"),
        "yuv420p ceiling encode": enc(["-c:v", "rawvideo"], "rawvideo", "out.yuv"),
        "yuv420p ceiling decode": dec(["-f", "rawvideo", "-pix_fmt", "yuv420p", "-s", "WxH",
                                       "-r", "FPS"], "out.yuv"),
        "MJPEG": "cv2.imencode('.jpg', frame, [cv2.IMWRITE_JPEG_QUALITY, Q]) per frame",
    }


# -- running ffmpeg ---------------------------------------------------------------------------
def _frames_shape(frames: Sequence[np.ndarray]) -> tuple[int, int]:
    if not frames:
        raise ValueError("no frames")
    h, w = frames[0].shape[:2]
    for f in frames:
        if f.shape != (h, w, 3) or f.dtype != np.uint8:
            raise ValueError(f"every frame must be {h}x{w}x3 uint8, got {f.shape} {f.dtype}")
    if w % 2 or h % 2:
        raise ValueError(f"4:2:0 anchors need an even frame size, got {w}x{h}")
    return w, h


def _run_encode(frames: Sequence[np.ndarray], cmd: list[str]) -> float:
    """Pipe the frames into an ffmpeg encode; returns the wall time in seconds."""
    with tempfile.TemporaryFile() as err:
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=err)
        try:
            for f in frames:
                proc.stdin.write(np.ascontiguousarray(f).data)
            proc.stdin.close()
        except BrokenPipeError:
            pass
        rc = proc.wait()
        seconds = time.perf_counter() - t0
        if rc != 0:
            err.seek(0)
            raise FfmpegError(f"ffmpeg encode failed ({rc}): {err.read().decode(errors='replace').strip()}"
                              f"\n  command: {' '.join(cmd)}")
    return seconds


def _run_decode(cmd: list[str], w: int, h: int, n: int) -> np.ndarray:
    out = subprocess.run(cmd, capture_output=True)
    if out.returncode != 0:
        raise FfmpegError(f"ffmpeg decode failed ({out.returncode}): "
                          f"{out.stderr.decode(errors='replace').strip()}\n  command: {' '.join(cmd)}")
    size = w * h * 3
    if len(out.stdout) != n * size:
        raise FfmpegError(f"ffmpeg decoded {len(out.stdout) / size:g} frames, expected {n}"
                          f"\n  command: {' '.join(cmd)}")
    return np.frombuffer(out.stdout, np.uint8).reshape(n, h, w, 3)


def _ffmpeg_point(frames, fps, codec_args, fmt, setting, workdir=None) -> AnchorPoint:
    if ffmpeg_path() is None:
        raise FfmpegError("ffmpeg is not installed")
    w, h = _frames_shape(frames)
    fd, path = tempfile.mkstemp(suffix="." + fmt, dir=workdir)
    os.close(fd)
    try:
        seconds = _run_encode(frames, _encode_cmd(w, h, fps, codec_args, fmt, path))
        n_bytes = os.path.getsize(path)
        fmt_in = ["-f", fmt]
        if fmt == "rawvideo":
            fmt_in += ["-pix_fmt", "yuv420p", "-s", f"{w}x{h}", "-r", _rate(fps)]
        decoded = _run_decode(_decode_cmd(fmt_in, path), w, h, len(frames))
    finally:
        os.unlink(path)
    mean_psnr, mean_ssim = mean_quality(frames, decoded)
    return AnchorPoint(setting, n_bytes, mean_psnr, len(frames), w, h, seconds, mean_ssim)


def mpeg4_point(frames: Sequence[np.ndarray], fps: float, q: int) -> AnchorPoint:
    """MPEG-4 Part 2 (ffmpeg's mpeg4 encoder) at fixed quantiser ``-q:v q`` (2..31)."""
    return _ffmpeg_point(frames, fps, [*MPEG4_ARGS, "-q:v", str(q)], "m4v", q)


def x264_args(preset: str) -> list[str]:
    """x264 at ``preset`` as a live encoder runs it: zerolatency, no B-frames, a 30-frame GOP
    (+ -crf C)."""
    return ["-c:v", "libx264", "-preset", preset, "-tune", "zerolatency", "-bf", "0", "-g", "30"]


def x264_point(frames: Sequence[np.ndarray], fps: float, crf: int,
               preset: str = "ultrafast") -> AnchorPoint:
    """x264 at ``preset`` (zerolatency) and ``-crf crf``."""
    return _ffmpeg_point(frames, fps, [*x264_args(preset), "-crf", str(crf), *X264_STRIP_SEI],
                         "h264", crf)


def yuv420_ceiling(frames: Sequence[np.ndarray], fps: float) -> AnchorPoint:
    """The uncompressed bgr24 -> yuv420p -> bgr24 round trip: the 4:2:0 anchors' PSNR ceiling."""
    return _ffmpeg_point(frames, fps, ["-c:v", "rawvideo"], "rawvideo", 0)


def jpeg_point(frames: Sequence[np.ndarray], quality: int) -> AnchorPoint:
    """OpenCV JPEG at ``quality`` (0..100) on every frame independently (MJPEG)."""
    h, w = frames[0].shape[:2]
    total = 0
    t0 = time.perf_counter()
    encoded = []
    for f in frames:
        ok, buf = cv2.imencode(".jpg", f, [cv2.IMWRITE_JPEG_QUALITY, int(quality)])
        if not ok:
            raise RuntimeError(f"cv2.imencode failed at quality {quality}")
        encoded.append(buf)
        total += len(buf)
    seconds = time.perf_counter() - t0
    mean_psnr, mean_ssim = mean_quality(frames, [cv2.imdecode(buf, cv2.IMREAD_COLOR)
                                                  for buf in encoded])
    return AnchorPoint(int(quality), total, mean_psnr, len(frames), w, h, seconds, mean_ssim)
