"""Saving the compressed stream as it is produced: whole packets on disk at every moment,
a valid stream across parameter changes and source switches."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from livecodec.app import pipeline as pipeline_module
from livecodec.app.cli import main
from livecodec.app.streamsave import StreamSaveError, StreamSaver
from livecodec.codec import (FRAME_REFRESH, CodecParams, Encoder, FileHeader, PacketReader,
                             read_stream_info, recover_frames)
from livecodec.app.sources import DemoScene

from conftest import REPO, SMALL, pictures_with_repeats
from waiting import CHILD_START_S, wait_for

pytestmark = pytest.mark.usefixtures("warm_codec")


def encoded_packets(n: int, size=SMALL) -> list:
    scene = DemoScene(*size)
    encoder = Encoder(CodecParams(refresh_interval=10))
    return [encoder.encode(scene.read()) for _ in range(n)]


def read_items(path: Path) -> list:
    with open(path, "rb") as f:
        return list(PacketReader(f))


def test_saver_writes_a_stream_that_decodes_to_the_encoders_pictures(tmp_path) -> None:
    packets = encoded_packets(12)
    with StreamSaver(tmp_path / "s.lvc", 30.0) as saver:
        for p in packets:
            saver.write(p.data)
    frames = list(recover_frames(read_items(tmp_path / "s.lvc")))
    assert len(frames) == 12 and all(f.problem is None for f in frames)
    for frame, packet in zip(frames, packets):
        assert np.array_equal(frame.image, packet.reconstruction)


def test_a_new_stream_begins_a_segment_at_its_rate(tmp_path) -> None:
    first, second = encoded_packets(4), encoded_packets(3, size=(96, 64))
    with StreamSaver(tmp_path / "s.lvc", 30.0) as saver:
        for p in first:
            saver.write(p.data, fps=29.0)           # the rate of the first header, not a seam
        for i, p in enumerate(second):
            saver.write(p.data, new_stream=i == 0, fps=25.0)
    items = read_items(tmp_path / "s.lvc")
    info = read_stream_info(items)
    assert info.segments == 2 and info.total_frames == 7
    assert info.frame_sizes == [SMALL, (96, 64)] and info.damaged == 0
    assert [item.fps for item in items if isinstance(item, FileHeader)] == [25.0]
    with open(tmp_path / "s.lvc", "rb") as f:
        assert PacketReader(f).header.fps == 29.0


def test_an_existing_file_stays_until_the_first_packet(tmp_path) -> None:
    target = tmp_path / "old.lvc"
    target.write_bytes(b"precious")
    saver = StreamSaver(target, 30.0)
    assert target.read_bytes() == b"precious"
    saver.close()                   # no packet came: nothing replaced, no temporary file left
    assert target.read_bytes() == b"precious" and os.listdir(tmp_path) == ["old.lvc"]
    with StreamSaver(target, 30.0) as saver:
        saver.write(encoded_packets(1)[0].data)
        assert target.read_bytes().startswith(b"LVCF")     # on disk before close


def test_unwritable_paths_are_refused_before_anything_is_written(tmp_path) -> None:
    with pytest.raises(StreamSaveError, match="does not exist"):
        StreamSaver(tmp_path / "missing" / "s.lvc", 30.0)
    with pytest.raises(StreamSaveError, match="folder"):
        StreamSaver(tmp_path, 30.0)


def test_a_killed_window_leaves_a_stream_that_decodes_to_its_last_whole_packet(tmp_path) -> None:
    """kill -9 while the (headless) window saves: every packet on disk is a whole one, except
    at most a half-written last one, which the reader skips as damage."""
    target = tmp_path / "live.lvc"
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    child = subprocess.Popen(
        [sys.executable, "-m", "livecodec.app", "gui", "--source", "demo", "--size", "160x120",
         "--save", str(target)], cwd=REPO, env=env, stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL)
    try:
        wait_for(lambda: target.exists() and target.stat().st_size > 20_000, CHILD_START_S)
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=30)
    finally:
        child.kill()
    items = read_items(target)
    damaged = [i for i, item in enumerate(items) if isinstance(item, Exception)]
    assert damaged in ([], [len(items) - 1])
    frames = list(recover_frames(items))
    assert len(frames) >= 3 and all(f.problem is None for f in frames)


def test_the_pipeline_saves_from_a_refresh_across_a_source_switch(run, small_demo, tmp_path) -> None:
    """A save begun mid-stream starts at the refresh it asks for; a switch to a source of
    another size starts a new segment; the file decodes to exactly the pictures shown."""
    pipeline, seen = run(small_demo, CodecParams(refresh_interval=1000))
    wait_for(lambda: len(seen.frames) >= 5)
    target = tmp_path / "mid.lvc"
    saver = pipeline.start_saving(str(target))
    wait_for(lambda: saver.packets_written >= 8)
    pipeline.set_source(lambda: DemoScene(96, 64))
    wait_for(lambda: any(f.reconstruction.shape[:2] == (64, 96) for f in seen.frames))
    wait_for(lambda: sum(f.reconstruction.shape[:2] == (64, 96) for f in seen.frames) >= 4)
    pipeline.stop()
    items = read_items(target)
    info = read_stream_info(items)
    assert info.segments == 2 and info.frame_sizes == [SMALL, (96, 64)] and info.damaged == 0
    decoded = list(recover_frames(items))
    assert decoded[0].decoded.frame_type == FRAME_REFRESH
    assert all(f.problem is None for f in decoded)
    start = next(i for i, f in enumerate(seen.frames)
                 if np.array_equal(f.reconstruction, decoded[0].image))
    assert start >= 5
    expected = pictures_with_repeats(seen.frames[start:])
    assert len(expected) >= 12
    for frame, image in zip(decoded, expected):
        assert np.array_equal(frame.image, image)


def test_gui_save_path_is_checked_before_the_window(tmp_path, capsys) -> None:
    assert main(["gui", "--source", "demo", "--save", str(tmp_path / "no" / "x.lvc")]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert main(["gui", "--source", "demo", "--save", str(tmp_path / "x.avi")]) == 2
    assert "should end in .lvc" in capsys.readouterr().err


class SlowEncoder(pipeline_module.Encoder):
    """100 ms a frame: a 30 fps source makes the pipeline drop about two frames in three."""

    def encode(self, frame, **options):
        time.sleep(0.1)
        return super().encode(frame, **options)


def test_frames_the_encoder_dropped_are_repeats_in_the_saved_stream(monkeypatch, run,
                                                                     tmp_path) -> None:
    """The file keeps the source's timing: each dropped frame is a repeat of the picture
    before it (a few bytes), so the stream holds every frame slot."""
    monkeypatch.setattr(pipeline_module, "Encoder", SlowEncoder)
    pipeline, seen = run(lambda: DemoScene(*SMALL, fps=30), CodecParams(refresh_interval=1000))
    saver = pipeline.start_saving(str(tmp_path / "slow.lvc"))
    wait_for(lambda: saver.packets_written >= 40)
    pipeline.stop()
    assert pipeline.stats()["frames_dropped"] > 0
    decoded = list(recover_frames(read_items(tmp_path / "slow.lvc")))
    assert all(f.problem is None for f in decoded)
    start = next(i for i, f in enumerate(seen.frames)
                 if np.array_equal(f.reconstruction, decoded[0].image))
    expected = pictures_with_repeats(seen.frames[start:])
    # The file may end with a frame (and its repeats) that was encoded but not shown yet.
    assert len(decoded) > len(seen.frames) - start and len(expected) >= 30
    for frame, image in zip(decoded, expected):
        assert np.array_equal(frame.image, image)
