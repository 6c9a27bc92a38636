"""Capture size and rate: --size and --fps on the demo scene, files and the pipeline."""
from __future__ import annotations

import re

import pytest

from livecodec.app.cli import main
from livecodec.app.pipeline import Pipeline
from livecodec.app.sources import Capture, parse_size
from livecodec.codec import CodecParams, PacketReader, read_stream_info
from tests.cli_helpers import one_error_line
from tests.media import media_path
from tests.waiting import wait_for


@pytest.mark.parametrize("text, size", [("1280x720", (1280, 720)), ("640X480", (640, 480)),
                                        (" 320 x 240 ", (320, 240)), ("1920×1080", (1920, 1080))])
def test_parse_size(text, size):
    assert parse_size(text) == size


@pytest.mark.parametrize("text", ["1280", "1280x", "x720", "-4x4", "axb", "0x10", "1x2x3", "99999x9"])
def test_parse_size_refuses_with_the_expected_form(text):
    with pytest.raises(ValueError, match="WIDTHxHEIGHT|must be in"):
        parse_size(text)


def test_capture_refuses_an_impossible_rate():
    with pytest.raises(ValueError, match="fps"):
        Capture(fps=0)


def stream_info(path):
    with open(path, "rb") as f:
        reader = PacketReader(f)
    return reader.header.fps, read_stream_info(reader)


def test_encode_renders_the_demo_scene_at_the_size_and_rate_asked(tmp_path):
    out = tmp_path / "d.lvc"
    assert main(["encode", "demo", "-o", str(out), "--size", "320x180", "--fps", "15",
                 "--frames", "3"]) == 0
    fps, info = stream_info(out)
    assert fps == 15.0 and info.frame_sizes == [(320, 180)] and info.total_frames == 3


def test_eval_scales_a_file_and_keeps_its_rate(capsys):
    clip = media_path("carphone.mp4")
    assert main(["eval", str(clip), "--size", "352x288", "--frames", "2", "--json"]) == 0
    report = capsys.readouterr().out
    assert '"width": 352, "height": 288' in report and re.search(r'"fps": 29\.97', report)


@pytest.mark.parametrize("options, named", [
    (["--size", "big"], "WIDTHxHEIGHT"), (["--size", "0x480"], "width"),
    (["--fps", "0"], "fps"), (["--fps", "25", "FILE"], "plays at its own rate")])
def test_bad_capture_options_are_one_line(options, named, tmp_path, capfd):
    source = "demo"
    if "FILE" in options:
        options, source = options[:-1], str(media_path("carphone.mp4"))
    assert main(["encode", source, "-o", str(tmp_path / "o.lvc"), *options]) == 2
    assert named in one_error_line(capfd)
    assert list(tmp_path.iterdir()) == []


def test_the_pipeline_opens_its_sources_at_the_size_asked():
    pipeline = Pipeline("demo", CodecParams(), capture=Capture(192, 108, 12.0))
    pipeline.start()
    try:
        wait_for(lambda: pipeline.stats()["frames_shown"] >= 1, timeout=240)
        info = pipeline.source_info
        assert info["size"] == (192, 108) and info["fps"] == 12.0
    finally:
        pipeline.stop()


def test_the_pipeline_reopens_its_source_at_a_new_size():
    pipeline = Pipeline("demo", CodecParams(), capture=Capture(160, 120))
    pipeline.start()
    try:
        wait_for(lambda: pipeline.source_info.get("size") == (160, 120), timeout=240)
        pipeline.set_capture(Capture(128, 96))
        wait_for(lambda: pipeline.source_info.get("size") == (128, 96), timeout=240)
        shown = pipeline.stats()["frames_shown"]
        wait_for(lambda: pipeline.stats()["frames_shown"] > shown)     # frames flow again
    finally:
        pipeline.stop()


def test_the_window_size_menu_asks_the_source_and_shows_what_it_delivers(qtbot):
    from livecodec.app.controls import CAPTURE_SIZES
    from livecodec.app.window import MainWindow
    window = MainWindow("demo", CodecParams(), capture=Capture(160, 120))
    qtbot.addWidget(window)
    window.start()
    try:
        selector = window.size_selector
        assert selector.current_size() == (160, 120)     # an entry for the size asked
        qtbot.waitUntil(lambda: "160×120" in window.readouts["stream"].text(), timeout=240_000)
        assert [selector.size_at(i) for i in range(len(CAPTURE_SIZES))] == list(CAPTURE_SIZES)
        selector.activated.emit(CAPTURE_SIZES.index((640, 480)))
        assert window.pipeline.capture == Capture(640, 480)
        qtbot.waitUntil(lambda: "640×480" in window.readouts["stream"].text(), timeout=240_000)
        assert "Asking the source for 640×480" in window.statusBar().currentMessage()
    finally:
        window.close()
