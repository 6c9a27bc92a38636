"""The command line never loses a user's data: outputs are checked before anything is written,
an output that is an input is refused, failed runs leave an existing file as it was, joined
streams decode whole, eval runs in constant memory, quantize writes what it claims."""
from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import tracemalloc
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from livecodec.app.cli import main
from livecodec.app.quantize import QuantizedImage
from livecodec.app.recorder import Recorder
from livecodec.codec import CodecParams, Encoder, write_file_header
from tests.cli_helpers import decode_stream, one_error_line
from tests.media import media_path, read_video, wide_clip, write_clip
from tests.waiting import signal_when

OLD = b"precious: must survive a failed run"


@pytest.fixture(scope="module")
def carphone() -> Path:
    return media_path("carphone.mp4")


def encode(source: Path | str, out: Path, *options: str) -> Path:
    assert main(["encode", str(source), "-o", str(out), *options]) == 0
    return out


def leftovers(folder: Path) -> list[str]:
    """Temporary files a run left beside its output."""
    return sorted(p.name for p in folder.iterdir() if ".part" in p.name)


class TestExistingOutputSurvivesFailure:
    @pytest.mark.parametrize("command", [
        ["encode", "{clip}", "-o", "{out}", "--frames", "0"],
        ["encode", "{clip}", "-o", "{out}", "--quality", "101"],
        ["encode", "{tmp}/missing.mp4", "-o", "{out}"],
        ["decode", "{tmp}/missing.lvc", "-o", "{out}"],
        ["decode", "{clip}", "-o", "{out}"],                      # not a stream
        ["decode", "{tmp}/s.lvc", "-o", "{out}", "--fourcc", "TOOLONG"],
        ["quantize", "{tmp}/a.png", "-o", "{out}", "--clusters", "1"],
        ["quantize", "{clip}", "-o", "{out}", "--clusters", "4"],  # not an image
    ], ids=lambda c: " ".join(c[:1] + c[3:]))
    def test_bad_input_or_option(self, command, carphone, tmp_path, capfd):
        out = tmp_path / ("keep.png" if command[0] == "quantize" else "keep.lvc")
        out.write_bytes(OLD)
        (tmp_path / "s.lvc").write_bytes(write_file_header(30.0))
        cv2.imwrite(str(tmp_path / "a.png"), np.zeros((8, 8, 3), np.uint8))
        args = [a.format(clip=carphone, out=out, tmp=tmp_path) for a in command]
        assert main(args) == 2
        one_error_line(capfd)
        assert out.read_bytes() == OLD
        assert leftovers(tmp_path) == []

    def test_a_source_without_frames(self, tmp_path, capfd):
        empty = write_clip(tmp_path / "empty.avi", (32, 32), frames=1)
        out = tmp_path / "keep.lvc"
        out.write_bytes(OLD)
        main(["encode", str(empty), "-o", str(out), "--frames", "1"])   # the one frame: fine
        assert out.read_bytes()[:4] == b"LVCF"
        out.write_bytes(OLD)
        cut = tmp_path / "cut.avi"
        cut.write_bytes(empty.read_bytes()[:400])       # header only: opens, gives no frame
        code = main(["encode", str(cut), "-o", str(out)])
        capfd.readouterr()
        assert code == 2
        assert out.read_bytes() == OLD
        assert leftovers(tmp_path) == []

    def test_success_replaces_the_file_and_leaves_nothing_else(self, carphone, tmp_path):
        out = tmp_path / "keep.lvc"
        out.write_bytes(OLD)
        encode(carphone, out, "--frames", "3")
        assert len(decode_stream(out)) == 3
        assert sorted(p.name for p in tmp_path.iterdir()) == ["keep.lvc"]
        assert oct(out.stat().st_mode & 0o777) != oct(0o600)   # not mkstemp's private mode


class TestOutputIsAnInput:
    @pytest.mark.parametrize("how", ["same", "relative", "symlink", "hardlink"])
    def test_encode_refuses(self, how, carphone, tmp_path, capfd, monkeypatch):
        video = tmp_path / "self.mp4"
        video.write_bytes(carphone.read_bytes())
        (tmp_path / "sub").mkdir()
        monkeypatch.chdir(tmp_path / "sub")
        target = {"same": str(video), "relative": "../self.mp4", "symlink": str(tmp_path / "link.mp4"),
                  "hardlink": str(tmp_path / "hard.mp4")}[how]
        if how == "symlink":
            os.symlink(video, target)
        if how == "hardlink":
            os.link(video, target)
        assert main(["encode", "../self.mp4", "-o", target, "--frames", "3"]) == 2
        assert "is the same file as the input" in one_error_line(capfd)
        assert video.read_bytes() == carphone.read_bytes()

    def test_decode_and_quantize_refuse(self, carphone, tmp_path, capfd):
        stream = encode(carphone, tmp_path / "s.lvc", "--frames", "2")
        capfd.readouterr()
        before = stream.read_bytes()
        assert main(["decode", str(stream), "-o", str(stream)]) == 2
        assert "is the same file as the input" in one_error_line(capfd)
        assert stream.read_bytes() == before
        png = tmp_path / "p.png"
        cv2.imwrite(str(png), np.full((8, 8, 3), 90, np.uint8))
        before = png.read_bytes()
        assert main(["quantize", str(png), "-o", str(png), "--clusters", "2"]) == 2
        assert "is the same file as the input" in one_error_line(capfd)
        assert png.read_bytes() == before


@pytest.fixture(scope="module")
def parts(carphone, tmp_path_factory) -> tuple[Path, Path]:
    """Two streams of the same size, coded differently."""
    folder = tmp_path_factory.mktemp("joined")
    a = encode(carphone, folder / "a.lvc", "--frames", "12", "--refresh", "5")
    b = encode(carphone, folder / "b.lvc", "--frames", "9", "--quality", "20", "--refresh", "4")
    return a, b


class TestJoinedStreams:
    def decode_ffv1(self, stream: Path, capfd) -> tuple[int, list[np.ndarray], str]:
        out = stream.with_suffix(".avi")
        code = main(["decode", str(stream), "-o", str(out), "--fourcc", "FFV1"])
        return code, read_video(out), capfd.readouterr().err

    @pytest.mark.parametrize("join", ["cat", "self", "no second header"])
    def test_every_part_decodes_exactly(self, join, parts, tmp_path, capfd):
        a, b = parts
        second = a if join == "self" else b
        tail = second.read_bytes()[13:] if join == "no second header" else second.read_bytes()
        joined = tmp_path / "ab.lvc"
        joined.write_bytes(a.read_bytes() + tail)
        code, frames, err = self.decode_ffv1(joined, capfd)
        expected = decode_stream(a) + decode_stream(second)
        assert code == 0, err
        assert "implausible" not in err and "(0 concealed)" in err and "concealed:" not in err
        assert len(frames) == len(expected) == 12 + (12 if join == "self" else 9)
        assert all(np.array_equal(f, e) for f, e in zip(frames, expected))

    @pytest.mark.parametrize("header", [True, False], ids=["cat", "no second header"])
    def test_info_counts_the_parts(self, header, parts, tmp_path, capsys):
        a, b = parts
        joined = tmp_path / "ab.lvc"
        joined.write_bytes(a.read_bytes() + b.read_bytes()[0 if header else 13:])
        assert main(["info", str(joined)]) == 0
        out = capsys.readouterr().out
        assert re.search(r"segments:\s+2", out)
        assert re.search(r"frames:\s+21 ", out)

    def test_a_new_frame_size_stops_after_the_first_part(self, parts, tmp_path, capfd):
        a, _ = parts
        encoder = Encoder(CodecParams(block_size=8))
        other = b"".join(encoder.encode(np.full((48, 64, 3), 40 * i, np.uint8)).data for i in range(3))
        joined = tmp_path / "sizes.lvc"
        joined.write_bytes(a.read_bytes() + write_file_header(30.0) + other)
        code, frames, err = self.decode_ffv1(joined, capfd)
        assert code == 1
        line = [l for l in err.splitlines() if l.startswith("livecodec: error:")]
        assert len(line) == 1 and "176x144 to 64x48" in line[0] and "12 frames" in line[0], err
        assert len(frames) == 12 and frames[0].shape == (144, 176, 3)
        assert main(["info", str(joined)]) == 0
        assert "176x144, 64x48" in capfd.readouterr().out


def test_an_odd_frame_size_is_kept_whole_and_said(tmp_path, capfd):
    encoder = Encoder(CodecParams(block_size=8))
    frames = [np.random.default_rng(i).integers(0, 255, (479, 641, 3), np.uint8) for i in range(2)]
    stream = tmp_path / "odd.lvc"
    stream.write_bytes(write_file_header(30.0) + b"".join(encoder.encode(f).data for f in frames))
    out = tmp_path / "odd.avi"
    assert main(["decode", str(stream), "-o", str(out), "--fourcc", "FFV1"]) == 0
    assert "641x479 padded to 642x480" in capfd.readouterr().err
    decoded = read_video(out)
    assert len(decoded) == 2 and decoded[0].shape == (480, 642, 3)
    assert np.array_equal(decoded[0][:479, :641], decode_stream(stream)[0])


class TestUnsupportedFrameSize:
    def test_refused_in_one_line_before_writing(self, tmp_path, capfd):
        wide = wide_clip(tmp_path)
        out = tmp_path / "keep.lvc"
        out.write_bytes(OLD)
        for command in (["encode", str(wide), "-o", str(out)], ["eval", str(wide)]):
            assert main(command) == 2
            line = one_error_line(capfd)
            assert "4200x16" in line and "not supported" in line and "4096" in line
        assert out.read_bytes() == OLD and leftovers(tmp_path) == []


class TestEvalMemory:
    @staticmethod
    def peak_traced_bytes(frames: int, capsys) -> int:
        tracemalloc.start()
        try:
            assert main(["eval", "demo", "--frames", str(frames), "--json"]) == 0
            return tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
            capsys.readouterr()

    def test_peak_memory_does_not_grow_with_the_clip(self, capsys):
        """40 more 640x480 frames kept (originals and decoded) would be ~70 MB more."""
        assert main(["eval", "demo", "--frames", "2"]) == 0     # compile and warm up first
        short = self.peak_traced_bytes(5, capsys)
        long = self.peak_traced_bytes(45, capsys)
        assert long - short < 8 << 20, f"peak grew by {(long - short) / 2**20:.1f} MB for 40 frames"


class TestQuantizeOutput:
    def test_writes_an_indexed_png_and_reports_its_real_size(self, tmp_path, capsys):
        from skimage import data
        rgb = data.astronaut()
        src, out = tmp_path / "astronaut.png", tmp_path / "q.png"
        cv2.imwrite(str(src), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
        assert main(["quantize", str(src), "-o", str(out), "--clusters", "64"]) == 0
        report = capsys.readouterr().out
        with Image.open(out) as png:
            assert png.mode == "P"
            assert len(png.getcolors(256)) <= 64
        size = out.stat().st_size
        assert f"{size} bytes" in report
        assert f"{8 * size / (512 * 512):.3f} bits/pixel" in report
        assert re.search(r"\d\.\d{3} bits/pixel entropy", report)
        quantised = cv2.imread(str(out), cv2.IMREAD_COLOR)
        rgb_png = tmp_path / "rgb.png"
        cv2.imwrite(str(rgb_png), quantised)             # the same picture as 24-bit RGB
        assert size < rgb_png.stat().st_size / 2

    def test_one_colour_reports_zero_entropy(self, tmp_path, capsys):
        src, out = tmp_path / "flat.png", tmp_path / "q.png"
        cv2.imwrite(str(src), np.full((16, 16, 3), 77, np.uint8))
        assert main(["quantize", str(src), "-o", str(out), "--clusters", "4"]) == 0
        report = capsys.readouterr().out
        assert "-0.000" not in report and "0.000 bits/pixel entropy" in report

    def test_unknown_output_type_is_refused_first(self, tmp_path, capfd):
        src = tmp_path / "a.png"
        cv2.imwrite(str(src), np.zeros((8, 8, 3), np.uint8))
        assert main(["quantize", str(src), "-o", str(tmp_path / "q.xyz"), "--clusters", "2"]) == 2
        assert ".png" in one_error_line(capfd)
        assert sorted(p.name for p in tmp_path.iterdir()) == ["a.png"]


class TestInterruptedAndFailedRuns:
    def test_sigterm_keeps_what_was_encoded_and_leaves_no_temporary_file(self, tmp_path):
        """A real process, as a service manager or `timeout` stops it: the stream written so
        far becomes the output, whole, and nothing else is left behind."""
        out = tmp_path / "live.lvc"
        child = subprocess.Popen(
            [sys.executable, "-m", "livecodec.app", "encode", "demo", "-o", str(out),
             "--frames", "100000", "--block-size", "32"],
            cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        _, err = signal_when(
            child, lambda: any(p.stat().st_size > 20_000 for p in tmp_path.glob(".live.*.part.lvc")),
            signal.SIGTERM)
        assert child.returncode == 1, err
        assert "interrupted after" in err and "Traceback" not in err
        assert sorted(p.name for p in tmp_path.iterdir()) == ["live.lvc"]
        frames = decode_stream(out)
        assert len(frames) >= 2 and f"{len(frames)} frames" in err

    def test_ctrl_c_before_the_first_frame_keeps_the_old_file(self, tmp_path, capfd, monkeypatch):
        out = tmp_path / "keep.lvc"
        out.write_bytes(OLD)

        def interrupted(*args, **kwargs):
            raise KeyboardInterrupt
        monkeypatch.setattr(Encoder, "encode", interrupted)
        assert main(["encode", "demo", "-o", str(out), "--frames", "5"]) == 1
        assert "interrupted" in capfd.readouterr().err
        assert out.read_bytes() == OLD and leftovers(tmp_path) == []

    def test_a_decode_that_fails_midway_keeps_the_old_file(self, parts, tmp_path, capfd, monkeypatch):
        out = tmp_path / "keep.avi"
        out.write_bytes(OLD)
        calls = {"n": 0}
        write = Recorder.write

        def failing_write(self, frame):
            calls["n"] += 1
            if calls["n"] == 4:
                raise RuntimeError("the disk went away")
            write(self, frame)
        monkeypatch.setattr(Recorder, "write", failing_write)
        assert main(["decode", str(parts[0]), "-o", str(out)]) == 1
        assert "the disk went away" in capfd.readouterr().err
        assert out.read_bytes() == OLD and leftovers(tmp_path) == []

    def test_ctrl_c_while_saving_a_png_keeps_the_old_file(self, tmp_path, capfd, monkeypatch):
        src, out = tmp_path / "a.png", tmp_path / "keep.png"
        cv2.imwrite(str(src), np.full((8, 8, 3), 60, np.uint8))
        out.write_bytes(OLD)

        def interrupted_save(self, path):
            Path(path).write_bytes(b"\x89PNG half")
            raise KeyboardInterrupt
        monkeypatch.setattr(QuantizedImage, "save_png", interrupted_save)
        assert main(["quantize", str(src), "-o", str(out), "--clusters", "2"]) == 1
        capfd.readouterr()
        assert out.read_bytes() == OLD and leftovers(tmp_path) == []


class TestReplacedFiles:
    def test_a_symlinked_output_stays_a_link_and_its_target_is_written(self, carphone, tmp_path):
        store = tmp_path / "store"
        store.mkdir()
        (store / "real.lvc").write_bytes(OLD)
        link = tmp_path / "out.lvc"
        link.symlink_to(store / "real.lvc")
        encode(carphone, link, "--frames", "2")
        assert link.is_symlink() and len(decode_stream(store / "real.lvc")) == 2
        assert leftovers(tmp_path) == [] and leftovers(store) == []

    def test_a_replaced_file_keeps_its_permissions(self, carphone, tmp_path):
        out = tmp_path / "shared.lvc"
        out.write_bytes(OLD)
        out.chmod(0o640)
        encode(carphone, out, "--frames", "2")
        assert out.stat().st_mode & 0o777 == 0o640

    def test_decode_refuses_a_file_type_that_is_not_a_video_before_reading(self, parts, tmp_path,
                                                                           capfd):
        assert main(["decode", str(parts[0]), "-o", str(tmp_path / "frames.png")]) == 2
        assert ".avi or .mkv" in one_error_line(capfd)
        assert list(tmp_path.iterdir()) == []


def test_the_window_will_not_record_over_the_video_it_plays(carphone, tmp_path, capfd):
    from livecodec.app.gui import run_gui
    from livecodec.app.pipeline import Pipeline
    from livecodec.app.recorder import RecorderError
    video = tmp_path / "clip.mp4"
    video.write_bytes(carphone.read_bytes())
    for target in (video, tmp_path / "." / "clip.mp4"):
        assert run_gui(str(video), CodecParams(), quit_after=30, record=str(target)) == 2
        assert "is the same file as the input" in one_error_line(capfd)
    pipeline = Pipeline(str(video), CodecParams())      # the Record button, via the pipeline
    with pytest.raises(RecorderError, match="same file as the input"):
        pipeline.start_recording(str(video))
    assert video.read_bytes() == carphone.read_bytes()
