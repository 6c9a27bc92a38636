"""``livecodec compare``: the BD-rate table against every anchor, the RD plot and the JSON on a
few frames of real footage; JPEG alone (and one line saying why) without ffmpeg; bad outputs
refused in one line before any coding, leaving an existing file as it was; an ffmpeg failure
in one line, with nothing written."""
from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
from PIL import Image

from livecodec.app import compare_command
from livecodec.app.cli import main
from livecodec.app.evaluation import anchors
from livecodec.app.evaluation.rd import ANCHORS, METHODS
from tests.cli_helpers import one_error_line
from tests.media import media_path

OLD = b"precious: must survive a refused run"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _check_png(path: Path) -> None:
    assert path.read_bytes()[:8] == PNG_MAGIC
    with Image.open(path) as image:
        image.verify()
        assert image.format == "PNG" and min(image.size) > 100


def _bd_rows(out: str) -> dict[str, str]:
    """Anchor label -> its row of the BD-rate table."""
    return {label: line for line in out.splitlines() for label in METHODS.values()
            if line.startswith(label) and "%" in line}


@pytest.fixture(scope="module")
def carphone() -> Path:
    return media_path("carphone.mp4")


@pytest.mark.skipif(shutil.which("ffmpeg") is None,
                    reason="ffmpeg is not installed: the MPEG-4 Part 2 and x264 anchors need it")
def test_table_plot_and_json_with_every_anchor(carphone, tmp_path, capsys):
    if "libx264" not in anchors.ffmpeg_encoders():
        pytest.skip("this ffmpeg has no libx264")
    plot, report = tmp_path / "rd.png", tmp_path / "rd.json"
    assert main(["compare", str(carphone), "--quick", "--frames", "3", "--out", str(plot),
                 "--json", str(report)]) == 0
    out = capsys.readouterr().out
    assert "carphone.mp4: 3 frames 176x144" in out and "quick sweeps" in out
    rows = _bd_rows(out)
    assert set(rows) == {METHODS[key] for key in ANCHORS}
    _check_png(plot)
    data = json.loads(report.read_text())
    assert set(data["bd"]) == set(ANCHORS) and data["frames"] == 3
    for key, bd in data["bd"].items():       # the JSON holds the numbers the table shows
        assert set(bd) == {"bd_rate", "bd_psnr", "psnr_lo", "psnr_hi"}
        if bd["bd_rate"] is not None:
            assert f"{bd['bd_rate']:+.1f} %" in rows[METHODS[key]]
    assert data["bd"]["mjpeg"]["bd_rate"] < 0        # livecodec beats MJPEG on any footage
    assert [p["setting"] for p in data["sweeps"]["livecodec"]] == [20, 50, 80]
    assert data["ceiling"] > 30 and data["notes"] == []
    # one RD point per setting of every sweep, under the table
    assert len(re.findall(r"^x264 medium zerolatency +crf \d+ ", out, re.M)) == 3


def test_without_ffmpeg_jpeg_still_runs_and_one_line_says_why(monkeypatch, tmp_path, capfd):
    monkeypatch.setattr(anchors, "ffmpeg_path", lambda: None)
    plot, report = tmp_path / "demo.png", tmp_path / "demo.json"
    assert main(["compare", "demo", "--size", "96x64", "--frames", "2", "--quick",
                 "--out", str(plot), "--json", str(report)]) == 0
    captured = capfd.readouterr()
    assert list(_bd_rows(captured.out)) == [METHODS["mjpeg"]]
    notes = [line for line in captured.err.splitlines() if "skipped" in line]
    assert len(notes) == 1 and notes[0].startswith("livecodec: note: ffmpeg is not installed")
    _check_png(plot)
    data = json.loads(report.read_text())
    assert list(data["bd"]) == ["mjpeg"] and data["ceiling"] is None
    assert list(data["sweeps"]) == ["livecodec", "mjpeg"]


class TestRefusedBeforeAnyCoding:
    @pytest.fixture(autouse=True)
    def no_work(self, monkeypatch):
        """Nothing is coded: outputs and the source are checked first."""
        def boom(*args, **kwargs):
            raise AssertionError("compare started the long work")
        monkeypatch.setattr(compare_command, "_measure", boom)

    @pytest.mark.parametrize("case", ["missing folder", "source", "same as json", "not png",
                                      "missing source"])
    def test_bad_output_one_line_existing_file_untouched(self, case, carphone, tmp_path, capfd):
        source = tmp_path / "clip.mp4"
        shutil.copyfile(carphone, source)
        keep = tmp_path / "keep.png"
        keep.write_bytes(OLD)
        args = {"missing folder": [str(source), "--out", str(tmp_path / "no" / "rd.png")],
                "source": [str(source), "--out", str(source)],
                "same as json": [str(source), "--out", str(keep), "--json", str(keep)],
                "not png": [str(source), "--out", str(tmp_path / "rd.jpg")],
                "missing source": [str(tmp_path / "missing.mp4"), "--out", str(keep)]}[case]
        before = source.read_bytes()
        assert main(["compare", *args, "--quick"]) == 2
        line = one_error_line(capfd)
        assert {"missing folder": "does not exist", "source": "same file as the input",
                "same as json": "both name", "not png": "should end in .png",
                "missing source": "missing.mp4"}[case] in line
        assert keep.read_bytes() == OLD and source.read_bytes() == before
        assert sorted(p.name for p in tmp_path.iterdir()) == ["clip.mp4", "keep.png"]


@pytest.mark.skipif(shutil.which("ffmpeg") is None,
                    reason="ffmpeg is not installed: no ffmpeg anchor to fail")
def test_an_ffmpeg_failure_is_one_line_and_writes_nothing(monkeypatch, tmp_path, capfd):
    if "mpeg4" not in anchors.ffmpeg_encoders():
        pytest.skip("this ffmpeg has no mpeg4 encoder")

    def fail(*args, **kwargs):
        raise anchors.FfmpegError("ffmpeg encode failed (1): Unknown encoder\n"
                                  "  command: ffmpeg ...")
    monkeypatch.setattr(anchors, "mpeg4_point", fail)
    plot = tmp_path / "rd.png"
    assert main(["compare", "demo", "--size", "96x64", "--frames", "2", "--quick",
                 "--out", str(plot)]) == 1
    assert "ffmpeg encode failed (1): Unknown encoder" in one_error_line(capfd)
    assert list(tmp_path.iterdir()) == []
