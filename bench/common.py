"""What every benchmark shares: the clips, frame loading and a description of the machine."""
from __future__ import annotations

import os
import platform
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

__all__ = ["fmt", "REPO_ROOT", "MEDIA_DIR", "DOCS_DIR", "Clip", "CLIPS",
           "load_frames", "machine_info", "clip_pixels", "clip_frame_count"]

#: The repository root, from this file's location (bench/common.py).
REPO_ROOT = Path(__file__).resolve().parent.parent
#: Shared test footage, next to the repository (DESIGN.md: ../shared/media).
MEDIA_DIR = REPO_ROOT.parent / "shared" / "media"
DOCS_DIR = REPO_ROOT / "docs"


@dataclass(frozen=True)
class Clip:
    """A benchmark clip: a video file under MEDIA_DIR, or the synthetic demo scene."""

    name: str
    file: str | None            # file name under MEDIA_DIR; None for the demo scene
    default_frames: int | None  # frames used when --frames is not given; None: the whole file
    width: int = 640            # demo scene only
    height: int = 480           # demo scene only

    @property
    def path(self) -> Path | None:
        return None if self.file is None else MEDIA_DIR / self.file

    def available(self) -> bool:
        return self.file is None or self.path.is_file()

    def describe(self) -> str:
        return "livecodec.app.sources.DemoScene" if self.file is None else f"../shared/media/{self.file}"


CLIPS: dict[str, Clip] = {
    "carphone": Clip("carphone", "carphone.mp4", None),
    "bikes": Clip("bikes", "bikes.mp4", None),
    "scene_cuts": Clip("scene_cuts", "scene_cuts.mp4", None),
    "demo": Clip("demo", None, 150),
}


def load_frames(clip: Clip, max_frames: int | None = None) -> tuple[list[np.ndarray], float]:
    """The clip's frames (H x W x 3 uint8 BGR, C-contiguous) and its frame rate.

    ``max_frames`` caps the count; None means the clip's default (whole file, 150 demo frames).
    """
    limit = max_frames if max_frames is not None else clip.default_frames
    if clip.file is None:
        from livecodec.app.sources import DemoScene

        scene = DemoScene(clip.width, clip.height)
        n = limit if limit is not None else 150
        return [np.ascontiguousarray(scene.frame(i)) for i in range(n)], scene.fps
    if not clip.path.is_file():
        raise FileNotFoundError(f"clip {clip.name}: {clip.path} not found")
    cap = cv2.VideoCapture(str(clip.path))
    try:
        if not cap.isOpened():
            raise RuntimeError(f"clip {clip.name}: OpenCV cannot open {clip.path}")
        fps = float(cap.get(cv2.CAP_PROP_FPS)) or 30.0
        frames: list[np.ndarray] = []
        while limit is None or len(frames) < limit:
            ok, frame = cap.read()
            if not ok or frame is None:
                break
            if frame.ndim == 2:
                frame = cv2.cvtColor(frame, cv2.COLOR_GRAY2BGR)
            frames.append(np.ascontiguousarray(frame[:, :, :3]))
    finally:
        cap.release()
    if not frames:
        raise RuntimeError(f"clip {clip.name}: no frames decoded from {clip.path}")
    return frames, fps


def clip_frame_count(clip: Clip) -> int | None:
    """Frames in the clip's file according to its metadata (None for the demo scene)."""
    if clip.file is None or not clip.path.is_file():
        return None
    cap = cv2.VideoCapture(str(clip.path))
    try:
        n = int(cap.get(cv2.CAP_PROP_FRAME_COUNT))
    finally:
        cap.release()
    return n if n > 0 else None


def clip_pixels(clip: Clip, max_frames: int | None = None) -> int:
    """Pixels x frames the clip will give (from the file's metadata; a work estimate)."""
    limit = max_frames if max_frames is not None else clip.default_frames
    if clip.file is None:
        return clip.width * clip.height * (limit if limit is not None else 150)
    cap = cv2.VideoCapture(str(clip.path))
    try:
        w, h = cap.get(cv2.CAP_PROP_FRAME_WIDTH), cap.get(cv2.CAP_PROP_FRAME_HEIGHT)
        n = cap.get(cv2.CAP_PROP_FRAME_COUNT)
    finally:
        cap.release()
    n = n if limit is None else min(n, limit)
    return int(w * h * n)


def machine_info() -> dict[str, str]:
    """CPU model, core count, OS and library versions, for the report."""
    cpu = platform.processor() or "unknown"
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                if line.lower().startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    import numba
    import sklearn

    return {
        "cpu": cpu,
        "nproc": str(len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity")
                     else os.cpu_count()),
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "numpy": np.__version__,
        "opencv": cv2.__version__,
        "numba": numba.__version__,
        "scikit-learn": sklearn.__version__,
    }


def fmt(value, spec: str = "{:.2f}", none: str = "-") -> str:
    """A figure for a report table: formatted, or ``none`` when it was not measured."""
    return none if value is None else spec.format(value)
