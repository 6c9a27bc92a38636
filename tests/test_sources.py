"""Tests of app/sources.py: the demo scene's ground truth, the file source, and the errors."""
from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]
# The project is not pip-installed in every checkout, and plain `pytest` (unlike
# `python -m pytest`) does not put the repository root on sys.path.
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from livecodec.app.sources import (CameraSource, DemoScene, FrameSource, SourceError, VideoFileSource,
                         open_source)  # noqa: E402

CARPHONE = REPO.parent / "shared" / "media" / "carphone.mp4"
needs_carphone = pytest.mark.skipif(not CARPHONE.exists(),
                                    reason=f"test clip {CARPHONE} is not on this machine")

#: Mean |a - b| of two independent N(0, 2) noises is 2*sqrt(2)*sqrt(2/pi) ~ 2.26 levels.
NOISE_MAE = 2.26


@pytest.fixture(scope="module")
def scene() -> DemoScene:
    return DemoScene()


def warp_previous(scene: DemoScene, index: int) -> np.ndarray:
    """frame(index - 1) sampled where reference_offset says each pixel of frame(index) came from."""
    offset = scene.reference_offset(index)
    h, w = offset.shape[:2]
    xx, yy = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
    return cv2.remap(scene.frame(index - 1), xx + offset[..., 0], yy + offset[..., 1],
                     cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


def background_mask(scene: DemoScene, index: int, margin: int = 8) -> np.ndarray:
    """Pixels away from the frame border and from every object in this frame and the last."""
    w, h = scene.size
    keep = np.zeros((h, w), bool)
    keep[margin:h - margin, margin:w - margin] = True
    for x, y, bw, bh in scene.object_boxes(index) + scene.object_boxes(index - 1):
        keep[max(0, y - margin):y + bh + margin, max(0, x - margin):x + bw + margin] = False
    return keep


def mae(a: np.ndarray, b: np.ndarray, mask: np.ndarray) -> float:
    return float(np.abs(a.astype(np.int16) - b.astype(np.int16))[mask].mean())


class TestDemoScene:
    def test_frames_are_bgr_uint8_contiguous(self, scene: DemoScene) -> None:
        for index in (0, 1, 400):
            frame = scene.frame(index)
            assert frame.shape == (480, 640, 3) and frame.dtype == np.uint8
            assert frame.flags.c_contiguous
        small = DemoScene(width=160, height=120)
        assert small.size == (160, 120) and small.frame(7).shape == (120, 160, 3)

    def test_same_index_same_frame_noise_included(self, scene: DemoScene) -> None:
        other = DemoScene()
        for index in (0, 17, 390):
            assert np.array_equal(scene.frame(index), other.frame(index))
        assert not np.array_equal(scene.frame(5), DemoScene(seed=1).frame(5))
        noiseless = DemoScene(noise_sigma=0)
        noise = scene.frame(5).astype(np.int16) - noiseless.frame(5)
        assert 1.5 < noise.std() < 2.5

    def test_read_counts_frames_then_ends(self) -> None:
        demo = DemoScene(width=64, height=48, n_frames=3)
        frames = list(demo)
        assert len(frames) == 3 and demo.read() is None
        assert all(np.array_equal(f, demo.frame(i)) for i, f in enumerate(frames))
        assert isinstance(demo, FrameSource) and not demo.is_live and demo.fps == 30.0
        demo.close()
        demo.close()

    def test_timeline_starts_with_the_documented_pan_legs(self, scene: DemoScene) -> None:
        assert not scene.reference_offset(0).any()
        for index, expected in ((30, (2, 1)), (90, (0, 2)), (150, (-3, 0)), (210, (-1, -2)),
                                (270, (2, -1)), (320, (0, 0))):
            field = scene.reference_offset(index)[background_mask(scene, index)]
            assert (field == expected).all(), index
        first_300 = np.stack([scene.reference_offset(i) for i in range(1, 300, 7)])
        assert np.array_equal(first_300, np.rint(first_300)), "translation only: integer motion"

    @pytest.mark.parametrize("index", [1, 31, 95, 154, 240, 299, 500, 700, DemoScene.PERIOD])
    def test_offset_predicts_background_within_noise(self, scene: DemoScene, index: int) -> None:
        keep = background_mask(scene, index)
        current = scene.frame(index)
        assert mae(current, warp_previous(scene, index), keep) < NOISE_MAE + 0.5
        if scene.reference_offset(index)[keep].any():  # the check is not vacuous
            assert mae(current, scene.frame(index - 1), keep) > 3 * NOISE_MAE

    @pytest.mark.parametrize("index", [345, 361, 421, 440])  # 361, 421: fastest zoom
    def test_offset_predicts_zoom(self, index: int) -> None:
        noiseless = DemoScene(noise_sigma=0)
        assert np.ptp(noiseless.reference_offset(index)[..., 0]) > 1, "a zoom frame"
        keep = background_mask(noiseless, index, margin=16)
        current = noiseless.frame(index)
        # Bilinear resampling twice blurs a little: a fraction of a level, not a misfit.
        fitted = mae(current, warp_previous(noiseless, index), keep)
        assert fitted < 1.5
        assert mae(current, noiseless.frame(index - 1), keep) > 3 * fitted

    def test_objects_move_by_their_velocity(self, scene: DemoScene) -> None:
        width, height = scene.size
        steps: set[tuple[int, int]] = set()  # (object, step seen), to prove they bounce
        for index in range(1, 300):
            for k, ((x0, y0, w, h), (x, y, _, _), (vx, vy)) in enumerate(zip(
                    scene.object_boxes(index - 1), scene.object_boxes(index),
                    scene.object_velocities)):
                for before, after, v, free in ((x0, x, vx, width - w), (y0, y, vy, height - h)):
                    assert 0 <= after <= free
                    if abs(v) <= before <= free - abs(v):  # no edge in reach: no bounce
                        assert after - before in (v, -v)
                        steps.add((k, after - before))
        for k, (vx, vy) in enumerate(scene.object_velocities):
            assert {(k, vx), (k, -vx)} <= steps or {(k, vy), (k, -vy)} <= steps, k

    def test_offset_inside_objects_is_their_motion(self, scene: DemoScene) -> None:
        checked = 0
        for index in range(1, 120):
            boxes, before = scene.object_boxes(index), scene.object_boxes(index - 1)
            if _objects_overlap(boxes, before):
                continue
            field, current, previous = (scene.reference_offset(index), scene.frame(index),
                                        scene.frame(index - 1))
            for (x, y, w, h), (x0, y0, _, _) in zip(boxes, before):
                # The central half of the box is inside the ellipse too.
                cy, cx, ch, cw = y + h // 4, x + w // 4, h // 2, w // 2
                assert (field[cy:cy + ch, cx:cx + cw] == (x0 - x, y0 - y)).all()
                now = current[cy:cy + ch, cx:cx + cw]
                then = previous[cy + y0 - y:cy + y0 - y + ch, cx + x0 - x:cx + x0 - x + cw]
                assert mae(now, then, np.ones(now.shape[:2], bool)) < NOISE_MAE + 0.5
            checked += 1
        assert checked > 20

    def test_frame_is_fast(self, scene: DemoScene) -> None:
        # The brief asks < 4 ms at 640x480 (measured ~0.8 ms pan, ~1.6 ms zoom); this bound
        # only catches a gross regression. Each index's best of 5 calls (after one untimed
        # call, so nothing lazy is counted) is its cost without the time other processes of a
        # shared machine took from it.
        best = []
        for index in (10, 20, 30, 380, 390, 400):
            scene.frame(index)
            times = []
            for _ in range(5):
                start = time.perf_counter()
                scene.frame(index)
                times.append(time.perf_counter() - start)
            best.append(min(times))
        assert np.median(best) < 0.015, best

    def test_bad_arguments_name_the_field(self) -> None:
        with pytest.raises(ValueError, match="width"):
            DemoScene(width=4)
        with pytest.raises(ValueError, match="fps"):
            DemoScene(fps=0)
        with pytest.raises(ValueError, match="index"):
            DemoScene(width=64, height=48).frame(-1)

    def test_builds_without_network_or_download_cache(self, tmp_path: Path) -> None:
        """Only photographs bundled in the scikit-image wheel may be used (no pooch download)."""
        code = ("import socket\n"
                "def refuse(*a, **k): raise OSError('network disabled by the test')\n"
                "socket.socket.connect = refuse\n"
                "socket.create_connection = refuse\n"
                "from livecodec.app.sources import DemoScene\n"
                "assert DemoScene(width=64, height=48).frame(1).shape == (48, 64, 3)\n")
        env = {k: v for k, v in os.environ.items() if k != "PYTEST_CURRENT_TEST"}
        env.update(SKIMAGE_DATADIR=str(tmp_path), XDG_CACHE_HOME=str(tmp_path),
                   PYTHONPATH=os.pathsep.join([str(REPO), env.get("PYTHONPATH", "")]))
        result = subprocess.run([sys.executable, "-c", code], env=env, cwd=REPO,
                                capture_output=True, text=True, timeout=60)
        assert result.returncode == 0, result.stderr


def _objects_overlap(boxes: list[tuple[int, int, int, int]],
                     before: list[tuple[int, int, int, int]]) -> bool:
    """Whether two different objects touch, counting where each is now and was before."""
    def hit(a: tuple[int, int, int, int], b: tuple[int, int, int, int]) -> bool:
        return (a[0] < b[0] + b[2] and b[0] < a[0] + a[2]
                and a[1] < b[1] + b[3] and b[1] < a[1] + a[3])

    return any(hit(a, b) for j in range(len(boxes)) for k in range(j + 1, len(boxes))
               for a in (boxes[j], before[j]) for b in (boxes[k], before[k]))


@needs_carphone
class TestVideoFileSource:
    def test_reads_every_frame_at_the_declared_size_and_rate(self) -> None:
        with open_source(str(CARPHONE)) as source:
            assert isinstance(source, VideoFileSource) and isinstance(source, FrameSource)
            assert source.name == "carphone.mp4" and not source.is_live
            assert source.size == (176, 144) and source.fps == pytest.approx(29.97, abs=0.01)
            frames = list(source)
        assert len(frames) == 120
        assert all(f.shape == (144, 176, 3) and f.dtype == np.uint8 and f.flags.c_contiguous
                   for f in frames)
        assert source.read() is None  # closed by `with`

    def test_loop_wraps_to_the_first_frame(self) -> None:
        source = open_source(str(CARPHONE), loop=True)
        frames = [source.read() for _ in range(122)]
        source.close()
        source.close()
        assert all(f is not None for f in frames)
        assert np.array_equal(frames[120], frames[0]) and np.array_equal(frames[121], frames[1])

    def test_resizes_to_the_requested_size(self) -> None:
        with open_source(str(CARPHONE), width=88) as source:
            assert source.size == (88, 72) and source.read().shape == (72, 88, 3)


class TestErrors:
    def test_missing_file(self, tmp_path: Path) -> None:
        path = tmp_path / "foo.mp4"
        with pytest.raises(SourceError, match=f"no such file: {path}"):
            open_source(str(path))

    def test_text_file_is_not_a_video(self, tmp_path: Path) -> None:
        path = tmp_path / "notes.txt"
        path.write_text("not a video\n")
        with pytest.raises(SourceError, match=f"not a readable video: {path}"):
            open_source(str(path))
        with pytest.raises(SourceError, match="directory"):
            open_source(str(tmp_path))

    @pytest.mark.parametrize("spec", ["camera:x", "camera:", "camera:-1", ""])
    def test_bad_spec(self, spec: str) -> None:
        expected = "expected camera:N, demo, a stream URL or a video file path"
        with pytest.raises(SourceError, match=expected) as err:
            open_source(spec)
        assert repr(spec) in str(err.value)

    def test_missing_camera_is_named_quickly(self) -> None:
        start = time.monotonic()
        with pytest.raises(SourceError, match="camera 7") as err:
            open_source("camera:7")
        assert time.monotonic() - start < 5
        assert "\n" not in str(err.value)
        with pytest.raises(SourceError, match="camera 9"):
            CameraSource(9, backend=cv2.CAP_V4L2)

    def test_demo_spec(self) -> None:
        with open_source(" Demo ", width=320, height=240) as source:
            assert isinstance(source, DemoScene) and source.size == (320, 240)
            assert source.read().shape == (240, 320, 3)
