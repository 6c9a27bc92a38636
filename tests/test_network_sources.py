"""Network stream sources on loopback: a real ffmpeg sends MPEG-TS over UDP to 127.0.0.1, and
livecodec reads it like a camera (opens, scales, reports a silent URL in one line, and the
live pipeline reconnects when the sender stops and comes back)."""
from __future__ import annotations

import shutil
import socket
import subprocess
from collections.abc import Iterator

import pytest

from livecodec.app.cli import main
from livecodec.app.pipeline import Pipeline
from livecodec.app.sources import NetworkSource, SourceError, is_live_spec, is_url, open_source
from livecodec.codec import CodecParams, PacketReader, read_stream_info
from tests.cli_helpers import one_error_line
from tests.waiting import wait_for

FFMPEG = shutil.which("ffmpeg")
needs_ffmpeg = pytest.mark.skipif(FFMPEG is None, reason="ffmpeg is not installed: no stream to "
                                  "receive (.ci/run installs it; apt-get install ffmpeg)")
#: The sender's picture: 320x240 test pattern at 30 fps, a key frame every 10 frames so a
#: receiver that joins mid-stream decodes within a third of a second.
SENT_SIZE = (320, 240)
#: Longest a test lets the sender run (it is killed at the end of each test anyway).
SENDER_SECONDS = 60


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Sender:
    """ffmpeg sending MPEG-TS to udp://127.0.0.1:port in real time; start() and stop() again."""

    def __init__(self, port: int) -> None:
        self.url = f"udp://127.0.0.1:{port}"
        self._process: subprocess.Popen | None = None

    def start(self) -> None:
        width, height = SENT_SIZE
        self._process = subprocess.Popen(
            [FFMPEG, "-nostdin", "-loglevel", "error", "-re", "-f", "lavfi",
             "-i", f"testsrc=size={width}x{height}:rate=30", "-t", str(SENDER_SECONDS),
             "-c:v", "mpeg2video", "-g", "10", "-f", "mpegts", f"{self.url}?pkt_size=1316"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def stop(self) -> None:
        if self._process is not None:
            self._process.kill()
            self._process.wait(timeout=10)
            self._process = None


@pytest.fixture
def sender() -> Iterator[Sender]:
    stream = Sender(free_udp_port())
    stream.start()
    try:
        yield stream
    finally:
        stream.stop()


@pytest.mark.parametrize("spec, url, live", [
    ("rtsp://cam.local/stream", True, True), ("UDP://127.0.0.1:5000", True, True),
    ("https://example.org/live.m3u8", True, True), ("camera:0", False, True),
    ("demo", False, False), ("clips/a.mp4", False, False), ("file://x.mp4", False, False)])
def test_which_specs_are_streams(spec, url, live):
    assert is_url(spec) is url and is_live_spec(spec) is live


def test_a_password_in_the_url_never_appears_in_messages():
    with pytest.raises(SourceError) as err:
        open_source("tcp://alice:secret@127.0.0.1:1/stream")
    assert "secret" not in str(err.value) and "tcp://127.0.0.1:1/stream" in str(err.value)


@needs_ffmpeg
def test_a_udp_stream_opens_reads_and_scales(sender):
    source = open_source(sender.url)
    try:
        assert isinstance(source, NetworkSource) and source.is_live
        assert source.size == SENT_SIZE and source.fps == 30.0
        frames = [source.read() for _ in range(5)]
        assert all(f.shape == (240, 320, 3) for f in frames)
    finally:
        source.close()
    scaled = open_source(sender.url, width=160)
    try:
        assert scaled.size == (160, 120) and scaled.read().shape == (120, 160, 3)
    finally:
        scaled.close()


@needs_ffmpeg
def test_encode_from_a_stream(sender, tmp_path):
    out = tmp_path / "net.lvc"
    assert main(["encode", sender.url, "-o", str(out), "--frames", "6"]) == 0
    with open(out, "rb") as f:
        info = read_stream_info(PacketReader(f))
    assert info.total_frames == 6 and info.frame_sizes == [SENT_SIZE]


def test_a_silent_url_is_one_line_naming_it(tmp_path, capfd):
    url = f"udp://127.0.0.1:{free_udp_port()}"       # nobody sends there
    assert main(["encode", url, "-o", str(tmp_path / "o.lvc")]) == 2
    line = one_error_line(capfd)
    assert url in line and "no video arrived within 5 s" in line
    assert list(tmp_path.iterdir()) == []


@needs_ffmpeg
def test_the_pipeline_reconnects_when_the_sender_comes_back(sender):
    messages: list[str] = []
    pipeline = Pipeline(sender.url, CodecParams(), on_message=lambda level, text: messages.append(text))
    pipeline.start()
    try:
        wait_for(lambda: pipeline.stats()["frames_shown"] >= 3, timeout=240)
        sender.stop()
        wait_for(lambda: any("retrying" in m for m in messages), timeout=60)
        sender.start()
        wait_for(lambda: any("reconnected" in m for m in messages), timeout=120)
        shown = pipeline.stats()["frames_shown"]
        wait_for(lambda: pipeline.stats()["frames_shown"] > shown + 3, timeout=60)
        assert pipeline.running and pipeline.source_info["size"] == SENT_SIZE
    finally:
        pipeline.stop()


def test_the_window_asks_for_a_url_and_shows_it_without_its_password(qtbot, monkeypatch):
    from PyQt6.QtWidgets import QInputDialog

    from livecodec.app.controls import SourceSelector
    selector = SourceSelector()
    qtbot.addWidget(selector)
    url = "rtsp://bob:hunter2@192.0.2.7:554/live"
    monkeypatch.setattr(QInputDialog, "getText", staticmethod(lambda *args, **kwargs: (url, True)))
    with qtbot.waitSignal(selector.source_chosen) as chosen:
        selector.activated.emit(selector.findText("Network stream…"))
    assert chosen.args == [url]
    assert selector.currentData() == url
    assert selector.currentText() == "rtsp://192.0.2.7:554/live"
