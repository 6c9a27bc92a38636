"""Tests of app/recorder.py: files OpenCV reads back, the MJPG fallback, and clear errors."""
from __future__ import annotations

import cv2
import numpy as np
import pytest

from livecodec.app.recorder import FALLBACK_FOURCC, Recorder, RecorderError, check_output_path


def frames(n: int, width: int = 64, height: int = 48) -> list[np.ndarray]:
    return [np.full((height, width, 3), 10 * i, np.uint8) for i in range(n)]


def read_back(path) -> tuple[int, tuple[int, int], float]:
    capture = cv2.VideoCapture(str(path))
    assert capture.isOpened()
    count = 0
    while capture.read()[0]:
        count += 1
    size = (int(capture.get(cv2.CAP_PROP_FRAME_WIDTH)), int(capture.get(cv2.CAP_PROP_FRAME_HEIGHT)))
    fps = capture.get(cv2.CAP_PROP_FPS)
    capture.release()
    return count, size, fps


class TestRecording:
    @pytest.mark.parametrize("fourcc", ["XVID", "MJPG"])
    def test_file_reads_back_with_size_count_and_rate(self, tmp_path, fourcc):
        path = tmp_path / "out.avi"
        with Recorder(path, 25.0, fourcc=fourcc) as recorder:
            for frame in frames(12):
                recorder.write(frame)
            assert recorder.fourcc == fourcc and not recorder.fell_back
            assert recorder.duration_s == pytest.approx(12 / 25)
        assert read_back(path) == (12, (64, 48), 25.0)

    def test_size_given_up_front_opens_at_once(self, tmp_path):
        recorder = Recorder(tmp_path / "out.avi", 30.0, size=(64, 48))
        assert recorder.size == (64, 48) and recorder.fourcc == "XVID"
        recorder.close()

    def test_missing_codec_falls_back_to_mjpg(self, tmp_path):
        path = tmp_path / "out.avi"
        with Recorder(path, 30.0, fourcc="ZZZZ") as recorder:
            recorder.write(frames(1)[0])
            assert recorder.fourcc == FALLBACK_FOURCC and recorder.fell_back
        assert read_back(path)[0] == 1

    def test_close_twice_is_harmless_and_write_after_close_fails(self, tmp_path):
        recorder = Recorder(tmp_path / "out.avi", 30.0)
        recorder.write(frames(1)[0])
        recorder.close()
        recorder.close()
        with pytest.raises(RecorderError, match="already finished"):
            recorder.write(frames(1)[0])


class TestErrors:
    def test_wrong_frame_size_is_refused_not_silently_dropped(self, tmp_path):
        with Recorder(tmp_path / "out.avi", 30.0) as recorder:
            recorder.write(frames(1)[0])
            with pytest.raises(RecorderError, match="32x24 differs from the recording's 64x48"):
                recorder.write(frames(1, 32, 24)[0])

    def test_wrong_frame_type(self, tmp_path):
        with Recorder(tmp_path / "out.avi", 30.0) as recorder:
            with pytest.raises(RecorderError, match="uint8"):
                recorder.write(np.zeros((48, 64), np.uint8))

    def test_missing_folder(self, tmp_path):
        with pytest.raises(RecorderError, match="folder .*nowhere does not exist"):
            Recorder(tmp_path / "nowhere" / "out.avi", 30.0)

    def test_path_is_a_folder(self, tmp_path):
        with pytest.raises(RecorderError, match="it is a folder"):
            check_output_path(tmp_path)

    @pytest.mark.parametrize("fourcc", ["XVI", "XVIDX", "ÄÄÄÄ"])
    def test_bad_fourcc(self, tmp_path, fourcc):
        with pytest.raises(RecorderError, match="4 ASCII characters"):
            Recorder(tmp_path / "out.avi", 30.0, fourcc=fourcc)

    def test_bad_rate(self, tmp_path):
        with pytest.raises(RecorderError, match="positive"):
            Recorder(tmp_path / "out.avi", 0.0)

    def test_messages_are_one_line(self, tmp_path):
        with pytest.raises(RecorderError) as info:
            Recorder(tmp_path / "nowhere" / "out.avi", 30.0)
        assert "\n" not in str(info.value)
