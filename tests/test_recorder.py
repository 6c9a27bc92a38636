"""Tests of app/recorder.py: files OpenCV reads back, the MJPG fallback, and clear errors."""
from __future__ import annotations

import cv2
import numpy as np
import pytest

from livecodec.app.recorder import (FALLBACK_FOURCC, Recorder, RecorderError, check_output_path,
                                    letterbox)


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


class TestOddSizes:
    @pytest.mark.parametrize("fourcc", ["XVID", "MJPG", "FFV1"])
    def test_odd_size_is_padded_to_even_by_repeating_the_edge(self, tmp_path, fourcc):
        """OpenCV's writer would cut 65x49 down to 64x48 without a word; the recorder pads."""
        path = tmp_path / "odd.avi"
        frame = np.zeros((49, 65, 3), np.uint8)
        frame[:, -1] = (0, 0, 255)      # last column red
        frame[-1, :] = (255, 0, 0)      # last row blue
        with Recorder(path, 30.0, fourcc=fourcc) as recorder:
            for _ in range(3):
                recorder.write(frame)
            assert recorder.size == (65, 49)
            assert recorder.size_note == f"65x49 padded to 66x50 for {fourcc}"
        capture = cv2.VideoCapture(str(path))
        ok, back = capture.read()
        capture.release()
        assert ok and back.shape == (50, 66, 3)
        assert np.abs(back[:49, :65].astype(int) - frame).mean() < 8
        # The padding repeats the last column and row (lossy codecs blur the edge a little).
        assert np.abs(back[10:40, 65].astype(int) - back[10:40, 64]).mean() < 12
        assert np.abs(back[49, 10:55].astype(int) - back[48, 10:55]).mean() < 12

    def test_even_size_has_no_note(self, tmp_path):
        with Recorder(tmp_path / "even.avi", 30.0, size=(64, 48)) as recorder:
            recorder.write(frames(1)[0])
            assert recorder.size_note is None


class TestTargetFile:
    def test_an_existing_file_is_replaced_only_when_the_recording_is_finished(self, tmp_path):
        path = tmp_path / "out.avi"
        path.write_bytes(b"the user's old file")
        recorder = Recorder(path, 30.0, fourcc="MJPG")
        for frame in frames(5):
            recorder.write(frame)
        assert path.read_bytes() == b"the user's old file"
        assert recorder.temp_path.parent == tmp_path and recorder.temp_path.suffix == ".avi"
        recorder.close()
        assert recorder.saved and read_back(path)[:2] == (5, (64, 48))
        assert sorted(p.name for p in tmp_path.iterdir()) == ["out.avi"]

    @pytest.mark.parametrize("existing", [False, True])
    def test_no_frame_leaves_no_file_and_keeps_an_existing_one(self, tmp_path, existing):
        path = tmp_path / "out.avi"
        if existing:
            path.write_bytes(b"keep me")
        recorder = Recorder(path, 30.0, size=(64, 48))  # the writer opens at once
        recorder.close()
        assert not recorder.saved and recorder.frames_written == 0
        assert sorted(p.name for p in tmp_path.iterdir()) == (["out.avi"] if existing else [])
        if existing:
            assert path.read_bytes() == b"keep me"


class TestLetterbox:
    def test_a_wider_picture_gets_bars_above_and_below(self):
        frame = np.full((32, 128, 3), 200, np.uint8)
        boxed = letterbox(frame, (64, 48))
        assert boxed.shape == (48, 64, 3)
        assert (boxed[:16] == 0).all() and (boxed[-16:] == 0).all()  # 64x16 picture in the middle
        assert (boxed[16:32] == 200).all()

    def test_a_taller_picture_gets_bars_left_and_right(self):
        frame = np.full((96, 32, 3), 90, np.uint8)
        boxed = letterbox(frame, (64, 48))
        assert boxed.shape == (48, 64, 3)
        assert (boxed[:, :24] == 0).all() and (boxed[:, 40:] == 0).all()  # 16x48 picture
        assert (boxed[:, 24:40] == 90).all()

    def test_the_same_size_is_returned_as_is(self):
        frame = frames(1)[0]
        assert letterbox(frame, (64, 48)) is frame


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
