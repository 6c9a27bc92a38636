"""The ``livecodec`` command end to end: encode -> info -> decode on real footage, eval, quantize,
and the error contract (one line on stderr, exit 2 for bad usage or input, no traceback)."""
from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from livecodec.app.cli import main
from livecodec.codec import FORMAT_VERSION, psnr
from tests.cli_helpers import decode_stream, one_error_line
from tests.media import media_path, read_video

REPO = Path(__file__).resolve().parents[1]
CARPHONE_FRAMES, CARPHONE_SIZE = 120, (176, 144)
EVAL_KEYS = {"frames", "width", "height", "fps", "bytes", "bpp", "kbps", "psnr_mean",
             "ssim_mean", "ssim_min", "encode_fps", "decode_fps"}


@pytest.fixture(scope="module")
def carphone() -> Path:
    return media_path("carphone.mp4")


@pytest.fixture(scope="module")
def carphone_lvc(carphone, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("cli") / "carphone.lvc"
    assert main(["encode", str(carphone), "-o", str(out), "--block-size", "16", "--clusters", "16",
                 "--refresh", "30", "--quality", "50"]) == 0
    return out


class TestEncodeInfoDecode:
    def test_encode_reports_and_writes_a_stream(self, carphone_lvc):
        data = carphone_lvc.read_bytes()
        assert data[:4] == b"LVCF"
        frames = decode_stream(carphone_lvc)
        assert len(frames) == CARPHONE_FRAMES
        assert frames[0].shape == (CARPHONE_SIZE[1], CARPHONE_SIZE[0], 3)

    def test_info(self, carphone_lvc, capsys):
        assert main(["info", str(carphone_lvc)]) == 0
        out = capsys.readouterr().out
        assert f"version {FORMAT_VERSION}," in out and "29.97 fps" in out
        assert re.search(r"frame size:\s+176x144", out)
        m = re.search(r"frames:\s+(\d+) \((\d+) refresh, (\d+) predicted\)", out)
        assert m and int(m[1]) == CARPHONE_FRAMES == int(m[2]) + int(m[3])
        assert int(m[2]) == 4                # refresh 30: frames 0, 30, 60, 90
        bpp = float(re.search(r"([\d.]+) bpp", out)[1])
        stream_bytes = carphone_lvc.stat().st_size - 13
        assert bpp == pytest.approx(8 * stream_bytes / (120 * 176 * 144), abs=1e-3)

    @pytest.mark.parametrize("fourcc", ["XVID", "MJPG", "FFV1"])
    def test_decode(self, carphone_lvc, fourcc, tmp_path, capsys):
        out = tmp_path / f"carphone_{fourcc}.avi"
        assert main(["decode", str(carphone_lvc), "-o", str(out), "--fourcc", fourcc]) == 0
        err = capsys.readouterr().err
        assert "instead" not in err                     # no fallback to another codec
        assert "120 frames (0 concealed)" in err
        frames = read_video(out)
        assert len(frames) == CARPHONE_FRAMES
        assert frames[0].shape == (CARPHONE_SIZE[1], CARPHONE_SIZE[0], 3)
        reference = decode_stream(carphone_lvc)
        quality = np.mean([psnr(a, b) for a, b in zip(reference, frames)])
        if fourcc == "FFV1":
            assert quality == 100                      # lossless: the decoder's exact pictures
        else:
            assert quality > 30

    def test_decode_default_fourcc(self, carphone_lvc, tmp_path):
        out = tmp_path / "default.avi"
        assert main(["decode", str(carphone_lvc), "-o", str(out)]) == 0
        assert len(read_video(out)) == CARPHONE_FRAMES

    def test_encode_frames_limit_from_demo(self, tmp_path, capsys):
        out = tmp_path / "demo.lvc"
        assert main(["encode", "demo", "-o", str(out), "--frames", "3", "--block-size", "32"]) == 0
        frames = decode_stream(out)
        assert len(frames) == 3 and frames[0].shape == (480, 640, 3)
        assert "3 frames 640x480" in capsys.readouterr().err


class TestEval:
    def test_json(self, carphone, capsys):
        assert main(["eval", str(carphone), "--frames", "20", "--json"]) == 0
        out = capsys.readouterr().out.strip()
        assert len(out.splitlines()) == 1
        result = json.loads(out)
        assert EVAL_KEYS <= set(result)
        assert (result["frames"], result["width"], result["height"]) == (20, 176, 144)
        assert result["fps"] == pytest.approx(29.97, abs=0.01)
        assert result["bytes"] > 0
        assert result["bpp"] == pytest.approx(8 * result["bytes"] / (20 * 176 * 144))
        assert result["kbps"] == pytest.approx(8 * result["bytes"] / (20 / result["fps"]) / 1000)
        assert 30 < result["psnr_mean"] < 60
        assert 0.8 < result["ssim_min"] <= result["ssim_mean"] < 1.0
        assert result["encode_fps"] > 0 and result["decode_fps"] > 0
        assert result["bpp"] < 1.5

    def test_quality_option_is_used(self, carphone, capsys):
        results = []
        for quality in ("10", "90"):
            assert main(["eval", str(carphone), "--frames", "5", "--json", "--quality", quality]) == 0
            results.append(json.loads(capsys.readouterr().out))
        assert results[0]["bytes"] < results[1]["bytes"]
        assert results[0]["psnr_mean"] < results[1]["psnr_mean"]
        assert results[0]["ssim_mean"] < results[1]["ssim_mean"]

    def test_preset_option_is_used(self, carphone, capsys):
        results = {}
        for preset in ("fast", "best"):
            assert main(["eval", str(carphone), "--frames", "6", "--json", "--preset", preset]) == 0
            results[preset] = json.loads(capsys.readouterr().out)
        assert [results[p]["params"]["preset"] for p in ("fast", "best")] == ["fast", "best"]
        assert results["fast"]["bytes"] != results["best"]["bytes"]
        # The tools the stream used: fast leaves the deblocking filter, quarter pels, split
        # blocks and transform skip out.
        assert results["fast"]["tools"] == {"deblock": False, "intra": True, "qpel": False,
                                            "split": False, "tskip": False}
        assert results["best"]["tools"] == {"deblock": True, "intra": True, "qpel": True,
                                            "split": True, "tskip": True}

    def test_human_readable(self, carphone, capsys):
        assert main(["eval", str(carphone), "--frames", "3"]) == 0
        out = capsys.readouterr().out
        assert "3 frames 176x144" in out and "bpp" in out and "PSNR" in out and "SSIM" in out


class TestQuantize:
    @staticmethod
    def colours(path: Path) -> int:
        image = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
        return len(np.unique(image.reshape(-1, image.shape[2] if image.ndim == 3 else 1), axis=0))

    @pytest.mark.parametrize("kind", ["colour", "grey", "rgba"])
    @pytest.mark.parametrize("k", [2, 7])
    def test_at_most_k_colours(self, kind, k, tmp_path, capsys):
        yy, xx = np.mgrid[0:40, 0:56]
        colour = np.stack([xx * 4, yy * 6, (xx + yy) * 2], axis=-1).astype(np.uint8)
        image = {"colour": colour, "grey": colour[:, :, 1],
                 "rgba": np.dstack([colour, np.full((40, 56), 200, np.uint8)])}[kind]
        src, out = tmp_path / f"{kind}.png", tmp_path / "out.png"
        assert cv2.imwrite(str(src), image)
        assert main(["quantize", str(src), "-o", str(out), "--clusters", str(k)]) == 0
        result = cv2.imread(str(out), cv2.IMREAD_COLOR)
        assert result.shape == (40, 56, 3)
        assert 2 <= self.colours(out) <= k
        reported = capsys.readouterr().out
        assert "colours" in reported and "PSNR" in reported and "bits/pixel" in reported

    def test_fewer_colours_than_k_are_kept_exactly(self, tmp_path):
        image = np.zeros((30, 30, 3), np.uint8)
        image[10:, :] = (0, 0, 255)
        image[:, 20:] = (10, 200, 30)
        src, out = tmp_path / "three.png", tmp_path / "out.png"
        cv2.imwrite(str(src), image)
        assert main(["quantize", str(src), "-o", str(out), "--clusters", "8"]) == 0
        assert np.array_equal(cv2.imread(str(out)), image)


class TestErrors:
    @pytest.mark.parametrize("command", [
        ["encode", "{missing}", "-o", "{tmp}/o.lvc"],
        ["eval", "{missing}"],
        ["decode", "{missing}", "-o", "{tmp}/o.avi"],
        ["info", "{missing}"],
        ["quantize", "{missing}", "-o", "{tmp}/o.png", "--clusters", "4"],
    ], ids=lambda c: c[0])
    def test_missing_file(self, command, tmp_path, capfd):
        args = [a.format(missing=tmp_path / "nope.mp4", tmp=tmp_path) for a in command]
        assert main(args) == 2
        assert "nope.mp4" in one_error_line(capfd)

    @pytest.mark.parametrize("option, named", [
        (["--quality", "101"], "quality"), (["--quality", "-1"], "quality"),
        (["--clusters", "1"], "n_clusters"), (["--clusters", "257"], "n_clusters"),
        (["--block-size", "12"], "block_size"), (["--refresh", "0"], "refresh_interval"),
        (["--search-range", "65"], "search_range"), (["--frames", "0"], "--frames"),
        (["--quality", "high"], "invalid int"),
    ], ids=lambda v: " ".join(v) if isinstance(v, list) else "")
    def test_out_of_range_options(self, option, named, tmp_path, capfd):
        assert main(["encode", "demo", "-o", str(tmp_path / "o.lvc"), *option]) == 2
        assert named in one_error_line(capfd)

    @pytest.mark.parametrize("command", ["encode", "eval"])
    def test_an_unknown_preset_or_auto_off_the_window_is_one_line(self, command, tmp_path, capfd):
        for preset in ("turbo", "auto"):
            args = [command, "demo", "--preset", preset]
            args += ["-o", str(tmp_path / "o.lvc")] if command == "encode" else []
            assert main(args) == 2
            assert "--preset" in one_error_line(capfd)
        assert not (tmp_path / "o.lvc").exists()

    def test_eval_out_of_range_quality(self, capfd):
        assert main(["eval", "demo", "--quality", "101"]) == 2
        assert "quality" in one_error_line(capfd)

    @pytest.mark.parametrize("clusters", ["1", "300"])
    def test_quantize_out_of_range_clusters(self, clusters, tmp_path, capfd):
        src = tmp_path / "a.png"
        cv2.imwrite(str(src), np.zeros((4, 4, 3), np.uint8))
        assert main(["quantize", str(src), "-o", str(tmp_path / "b.png"), "--clusters", clusters]) == 2
        assert "clusters" in one_error_line(capfd)

    def test_unwritable_output(self, carphone, carphone_lvc, tmp_path, capfd):
        a_file = tmp_path / "a_file"
        a_file.write_text("not a folder")
        png = tmp_path / "in.png"
        cv2.imwrite(str(png), np.zeros((4, 4, 3), np.uint8))
        for args in (["encode", str(carphone), "-o", str(a_file / "o.lvc"), "--frames", "2"],
                     ["decode", str(carphone_lvc), "-o", str(a_file / "o.avi")],
                     ["quantize", str(png), "-o", str(a_file / "o.png"), "--clusters", "2"],
                     ["encode", str(carphone), "-o", str(tmp_path), "--frames", "2"]):
            assert main(args) == 2, args
            assert "cannot write" in one_error_line(capfd)

    def test_not_a_stream(self, carphone, tmp_path, capfd):
        for command in ("info", "decode"):
            extra = ["-o", str(tmp_path / "o.avi")] if command == "decode" else []
            assert main([command, str(carphone), *extra]) == 2
            assert "not a livecodec stream" in one_error_line(capfd)

    def test_unknown_command(self, capfd):
        assert main(["transcode"]) == 2
        one_error_line(capfd)

    def test_not_a_video_file(self, tmp_path):
        """In a fresh process, as a user runs it: FFmpeg inside OpenCV must not add its own
        diagnostics (e.g. 'moov atom not found') to our one line."""
        fake = tmp_path / "fake.mp4"
        fake.write_text("this is not a video\n")
        for command in (["encode", str(fake), "-o", str(tmp_path / "o.lvc")],
                        ["quantize", str(fake), "-o", str(tmp_path / "o.png"), "--clusters", "3"]):
            proc = subprocess.run([sys.executable, "-m", "livecodec.app", *command], cwd=REPO,
                                  capture_output=True, text=True, timeout=120)
            assert proc.returncode == 2, proc.stderr
            lines = proc.stderr.splitlines()
            assert len(lines) == 1, proc.stderr
            assert lines[0].startswith("livecodec: error: ") and "fake.mp4" in lines[0]


class TestDamagedStream:
    def test_damaged_middle_still_decodes_every_frame(self, carphone_lvc, tmp_path, capfd):
        data = bytearray(carphone_lvc.read_bytes())
        middle = len(data) // 2
        for i in range(middle, middle + 16):
            data[i] ^= 0xA5
        damaged = tmp_path / "damaged.lvc"
        damaged.write_bytes(bytes(data))
        out = tmp_path / "damaged.avi"
        assert main(["decode", str(damaged), "-o", str(out), "--fourcc", "FFV1"]) == 1
        err = capfd.readouterr().err
        assert "Traceback" not in err
        concealed = sorted({int(n) for n in re.findall(r"frame (\d+) concealed", err)})
        assert concealed, err
        frames = read_video(out)
        assert len(frames) == CARPHONE_FRAMES
        # Frames before the damage are intact; concealment repeats the last good picture; the
        # stream is whole again from the next refresh (every 30 frames).
        reference = decode_stream(carphone_lvc)
        first = concealed[0]
        assert all(np.array_equal(frames[i], reference[i]) for i in range(first))
        assert np.array_equal(frames[first], frames[first - 1])
        assert concealed[-1] < (first // 30 + 1) * 30
        resume = (first // 30 + 1) * 30
        assert all(np.array_equal(frames[i], reference[i]) for i in range(resume, CARPHONE_FRAMES))
        # info tells about the damage too
        assert main(["info", str(damaged)]) == 1
        assert "damaged" in capfd.readouterr().out

    def test_truncated_file(self, carphone_lvc, tmp_path, capfd):
        cut = tmp_path / "cut.lvc"
        data = carphone_lvc.read_bytes()
        cut.write_bytes(data[:len(data) - 50])
        out = tmp_path / "cut.avi"
        assert main(["decode", str(cut), "-o", str(out), "--fourcc", "MJPG"]) == 1
        assert "Traceback" not in capfd.readouterr().err
        assert len(read_video(out)) >= CARPHONE_FRAMES - 1
