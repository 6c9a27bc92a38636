"""The window's stream controls (pytest-qt, offscreen): Save stream, Send to…, stepping, and a
played stream's decode-only view."""
from __future__ import annotations

import io

import pytest

from livecodec.app.link import LinkReceiver
from livecodec.app.window import MainWindow
from livecodec.codec import CodecParams, Encoder, PacketReader, recover_frames, write_file_header
from livecodec.app.sources import DemoScene

from conftest import SMALL

WAIT_MS = 20_000

pytestmark = pytest.mark.usefixtures("warm_codec")


def test_save_stream_button_writes_a_stream_that_decodes(open_window, qtbot, tmp_path) -> None:
    win = open_window(lambda: DemoScene(*SMALL))
    qtbot.waitUntil(lambda: win.frames_displayed >= 2, timeout=WAIT_MS)
    target = tmp_path / "window.lvc"
    assert win.start_saving(str(target))
    assert win.save_action.isChecked() and win.save_action.text() == "Stop saving"
    qtbot.waitUntil(lambda: win.pipeline.saver.packets_written >= 10, timeout=WAIT_MS)
    qtbot.waitUntil(lambda: "SAVE window.lvc" in win.record_label.text(), timeout=WAIT_MS)
    win.save_action.trigger()                           # the button stops it
    assert win.pipeline.saver is None and not win.save_action.isChecked()
    assert "stream saved to" in win.statusBar().currentMessage()
    frames = list(recover_frames(PacketReader(io.BytesIO(target.read_bytes()))))
    assert len(frames) >= 10 and all(f.problem is None for f in frames)


def test_save_stream_refuses_a_bad_path_and_keeps_running(open_window, qtbot, tmp_path) -> None:
    win = open_window(lambda: DemoScene(*SMALL))
    assert not win.start_saving(str(tmp_path / "missing" / "x.lvc"))
    assert not win.save_action.isChecked()
    assert "stream not saved" in win.statusBar().currentMessage()
    shown = win.frames_displayed
    qtbot.waitUntil(lambda: win.frames_displayed > shown + 2, timeout=WAIT_MS)


def test_send_to_reaches_a_receiver_and_stop_says_goodbye(open_window, qtbot) -> None:
    receiver = LinkReceiver(("127.0.0.1", 0))
    try:
        win = open_window(lambda: DemoScene(*SMALL))
        assert win.start_sending(f"127.0.0.1:{receiver.port}")
        assert win.send_action.text() == "Stop sending"
        got = []
        qtbot.waitUntil(lambda: got.extend(receiver.poll(0.01)) or len(got) >= 10,
                        timeout=WAIT_MS)
        assert all(frame.data is not None for frame in got)
        qtbot.waitUntil(lambda: win.readouts["link"].text().startswith(
            f"to 127.0.0.1:{receiver.port}"), timeout=WAIT_MS)
        win.stop_sending()
        assert not win.send_action.isChecked()
        qtbot.waitUntil(lambda: got.extend(receiver.poll(0.01)) or receiver.ended,
                        timeout=WAIT_MS)
    finally:
        receiver.close()
    assert not win.start_sending("not an address")
    assert "not sending" in win.statusBar().currentMessage()


def test_a_played_stream_steps_and_disables_the_codec_controls(qtbot, tmp_path) -> None:
    scene, encoder = DemoScene(*SMALL), Encoder()
    path = tmp_path / "play.lvc"
    path.write_bytes(write_file_header(30.0) + b"".join(encoder.encode(scene.read()).data
                                                        for _ in range(60)))
    win = MainWindow(str(path), CodecParams())
    qtbot.addWidget(win)
    win.show()
    win.set_paused(True)                                # paused from the start
    win.start()
    assert win.step_action.shortcut().toString() == "Right"
    for shown in (1, 2, 3):
        win.step_action.trigger()                       # each → shows one more frame
        qtbot.waitUntil(lambda: win.pipeline.stats()["frames_shown"] == shown, timeout=WAIT_MS)
    qtbot.waitUntil(lambda: not win.codec_box.isEnabled(), timeout=WAIT_MS)
    assert not win.send_action.isEnabled() and not win.save_action.isEnabled()
    assert win.readouts["psnr"].text() == "no reference"
    assert win.readouts["encode"].text() == "–"
    qtbot.wait(300)
    assert win.pipeline.stats()["frames_shown"] == 3    # nothing more while paused
    win.set_paused(False)
    win.step_action.trigger()                           # while playing, → pauses first
    assert win.pipeline.paused


def test_switching_to_a_played_stream_ends_the_save(open_window, qtbot, tmp_path) -> None:
    scene, encoder = DemoScene(*SMALL), Encoder()
    played = tmp_path / "play.lvc"
    played.write_bytes(write_file_header(30.0) + b"".join(encoder.encode(scene.read()).data
                                                          for _ in range(30)))
    win = open_window(lambda: DemoScene(*SMALL))
    assert win.start_saving(str(tmp_path / "saved.lvc"))
    qtbot.waitUntil(lambda: win.pipeline.saver.packets_written >= 3, timeout=WAIT_MS)
    win.set_source(str(played))
    qtbot.waitUntil(lambda: not win.save_action.isEnabled(), timeout=WAIT_MS)
    assert win.pipeline.saver is None and not win.save_action.isChecked()
    assert (tmp_path / "saved.lvc").stat().st_size > 0
