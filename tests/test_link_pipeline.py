"""The live link between two pipelines (what two windows do), on loopback."""
from __future__ import annotations

import socket

import numpy as np
import pytest

from livecodec.app.cli import main
from livecodec.app.link import LinkSender
from livecodec.app.stream_source import ReceivedStreamSource
from livecodec.codec import FRAME_REFRESH, CodecParams

from conftest import pictures_with_repeats
from waiting import wait_for

pytestmark = pytest.mark.usefixtures("warm_codec")


@pytest.fixture
def receiving(run):
    """A pipeline that receives on a free loopback port; returns (pipeline, seen, source)."""
    opened: list[ReceivedStreamSource] = []

    def source() -> ReceivedStreamSource:
        opened.append(ReceivedStreamSource(("127.0.0.1", 0)))
        return opened[-1]

    pipeline, seen = run(source)
    wait_for(lambda: bool(opened) and bool(pipeline.source_info))
    return pipeline, seen, opened[-1]


def test_a_sending_pipeline_is_shown_by_a_receiving_one(run, small_demo, receiving) -> None:
    receiver, received, source = receiving
    sender_pipeline, sent = run(small_demo, CodecParams(refresh_interval=1000))
    wait_for(lambda: len(sent.frames) >= 3)       # the receiver joins a running stream
    link = LinkSender(("127.0.0.1", source.port), on_refresh_request=sender_pipeline.request_refresh)
    try:
        assert sender_pipeline.set_sender(link) is None
        wait_for(lambda: len(received.frames) >= 15)
        # It starts at the refresh the new sender asked for, and shows exactly what the sender
        # decoded, in order.
        assert received.frames[0].stats.frame_type == FRAME_REFRESH
        start = next(i for i, f in enumerate(sent.frames)
                     if np.array_equal(f.reconstruction, received.frames[0].reconstruction))
        # Frames the sender's encoder dropped arrive as repeats of the picture before.
        shown = pictures_with_repeats(sent.frames[start:])
        for frame, image in zip(received.frames[:15], shown):
            assert np.array_equal(frame.reconstruction, image)
            assert frame.original is None
        stats = receiver.stats()
        assert stats["receiving"]["frames_received"] >= 15
        assert stats["latency_ms"] > 0 and sender_pipeline.stats()["sending"]["frames_sent"] >= 15
        # A refresh asked by the receiver (as after a loss) reaches the sender's encoder.
        refreshes = sender_pipeline.stats()["refresh_frames"]
        seen_before = len(received.frames)
        wait_for(source.request_refresh)        # PLI, rate-limited: retried until it goes out
        wait_for(lambda: link.stats()["refresh_requests"] >= 1)
        wait_for(lambda: sender_pipeline.stats()["refresh_frames"] > refreshes)
        wait_for(lambda: any(f.stats.frame_type == FRAME_REFRESH
                             for f in received.frames[seen_before:]))
    finally:
        sender_pipeline.set_sender(None)
        link.close()
    # The goodbye ends the received stream, and its link counts stay readable.
    wait_for(lambda: not receiver.source_active)
    assert receiver.stats()["receiving"]["frames_received"] >= 15


def test_bad_link_options_are_one_line_before_the_window(tmp_path, capsys) -> None:
    assert main(["gui", "--source", "demo", "--send", "host.invalid:5004"]) == 2
    assert "cannot resolve host" in capsys.readouterr().err
    assert main(["gui", "--source", "receive:notaport"]) == 2
    assert "receive:notaport" in capsys.readouterr().err
    assert main(["gui", "--source", "receive:99999"]) == 2       # never wrapped to another port
    assert "1..65535" in capsys.readouterr().err
    short = tmp_path / "short.key"
    short.write_bytes(b"12345")
    assert main(["gui", "--source", "demo", "--key", str(short)]) == 2
    assert "at least" in capsys.readouterr().err


def test_receive_without_an_output_opens_the_window_when_there_is_a_display(monkeypatch) -> None:
    from livecodec.app import gui

    calls = []
    monkeypatch.setattr(gui, "display_problem", lambda: None)
    monkeypatch.setattr(gui, "run_gui", lambda **kwargs: calls.append(kwargs) or 0)
    assert main(["receive", "--listen", "127.0.0.1:5004", "--quit-after", "3"]) == 0
    assert calls[0]["source"] == "receive:127.0.0.1:5004" and calls[0]["quit_after"] == 3
    # Anything to write, or --json, keeps it a command-line receiver (here: nothing arrives).
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    assert main(["receive", "--listen", f"127.0.0.1:{port}", "--json", "--quit-after", "0.2"]) == 1
    assert len(calls) == 1


class RefusingSender:
    """A link that cannot carry any frame (as one larger than it takes)."""

    def __init__(self) -> None:
        self.calls = 0

    def send_frame(self, data: bytes, *, capture_time: float, refresh: bool) -> None:
        self.calls += 1
        raise ValueError("a frame of 9999999 bytes is larger than the link carries")

    def stats(self) -> dict:
        return {"frames_sent": 0}


def test_a_frame_the_link_refuses_is_reported_once_and_the_stream_goes_on(run, small_demo):
    pipeline, seen = run(small_demo, CodecParams(refresh_interval=1000))
    wait_for(lambda: len(seen.frames) >= 2)
    sender = RefusingSender()
    pipeline.set_sender(sender)
    wait_for(lambda: sender.calls >= 5)
    shown, refreshes = len(seen.frames), pipeline.stats()["refresh_frames"]
    wait_for(lambda: len(seen.frames) > shown + 5)
    link_warnings = [text for level, text in seen.messages if text.startswith("link:")]
    assert len(link_warnings) == 1 and "larger than the link carries" in link_warnings[0]
    assert pipeline.stats()["refresh_frames"] > refreshes      # it keeps asking for refreshes
    assert pipeline.running


def test_a_played_stream_cannot_be_saved_or_sent_again(tmp_path, capsys) -> None:
    played = tmp_path / "in.lvc"
    played.write_bytes(b"")
    for source, option in ((str(played), ["--save", str(tmp_path / "out.lvc")]),
                           (str(played), ["--send", "127.0.0.1:5004"]),
                           ("receive:5004", ["--send", "127.0.0.1:5005"])):
        assert main(["gui", "--source", source, *option]) == 2
        assert "is played, not encoded" in capsys.readouterr().err


def test_a_received_stream_can_be_saved_from_a_refresh_on(run, small_demo, receiving,
                                                           tmp_path) -> None:
    from livecodec.codec import PacketReader, recover_frames

    receiver, received, source = receiving
    sender_pipeline, _ = run(small_demo, CodecParams(refresh_interval=1000))
    link = LinkSender(("127.0.0.1", source.port), on_refresh_request=sender_pipeline.request_refresh)
    try:
        sender_pipeline.set_sender(link)
        wait_for(lambda: len(received.frames) >= 5)
        saver = receiver.start_saving(str(tmp_path / "received.lvc"))
        wait_for(lambda: saver.packets_written >= 10)      # from the refresh the PLI asked for
        receiver.stop_saving()
    finally:
        sender_pipeline.set_sender(None)
        link.close()
    with open(tmp_path / "received.lvc", "rb") as f:
        decoded = list(recover_frames(PacketReader(f)))
    assert len(decoded) >= 10 and all(f.problem is None for f in decoded)
    assert decoded[0].decoded.frame_type == FRAME_REFRESH
    start = next(i for i, f in enumerate(received.frames)
                 if np.array_equal(f.reconstruction, decoded[0].image))
    assert start >= 5
    for frame, shown in zip(decoded, received.frames[start:]):
        assert np.array_equal(frame.image, shown.reconstruction)
