"""Playing a .lvc stream through the pipeline: what the stream says, not a re-encoding."""
from __future__ import annotations

import math
import time

import numpy as np
import pytest

from livecodec.app.cli import main
from livecodec.app.sources import Capture, DemoScene
from livecodec.codec import CodecParams, Decoder, Encoder, psnr, write_file_header

from conftest import SMALL
from waiting import wait_for

pytestmark = pytest.mark.usefixtures("warm_codec")

FRAMES = 24


@pytest.fixture(scope="module")
def stream(tmp_path_factory):
    """A 24-frame stream of the 160×120 demo scene, its packets and their decoded pictures."""
    scene = DemoScene(*SMALL)
    encoder = Encoder(CodecParams(refresh_interval=8))
    packets = [encoder.encode(scene.read()) for _ in range(FRAMES)]
    path = tmp_path_factory.mktemp("play") / "demo.lvc"
    path.write_bytes(write_file_header(30.0) + b"".join(p.data for p in packets))
    return path, packets


def test_a_stream_plays_with_its_own_frame_types_vectors_and_sizes(run, stream) -> None:
    path, packets = stream
    pipeline, seen = run(str(path), loop=False)
    wait_for(lambda: len(seen.frames) == FRAMES and not pipeline.source_active)
    decoder = Decoder()
    for frame, packet in zip(seen.frames, packets):
        assert np.array_equal(frame.reconstruction, decoder.decode(packet.data))
        assert frame.stats.frame_type == packet.frame_type
        assert frame.stats.nbytes == len(packet.data) and frame.stats.quality == packet.quality
        assert np.array_equal(frame.block_modes, packet.block_modes)
        if packet.motion_vectors is not None:
            assert np.array_equal(frame.motion_vectors, packet.motion_vectors)
        assert frame.original is None and math.isnan(frame.stats.psnr)
    stats = pipeline.stats()
    assert stats["frames_dropped"] == 0 and stats["psnr"] == 0.0


def test_a_reference_video_gives_psnr_against_it(run, stream) -> None:
    path, packets = stream
    pipeline, seen = run(str(path), loop=False, capture=Capture(reference="demo"))
    wait_for(lambda: len(seen.frames) == FRAMES)
    scene = DemoScene(*SMALL)
    for frame, packet in zip(seen.frames, packets):
        reference = scene.read()
        assert np.array_equal(frame.original, reference)
        assert frame.stats.psnr == pytest.approx(psnr(reference, packet.reconstruction), abs=0.01)


def test_a_damaged_stream_plays_on_concealed_and_says_so_once(run, stream, tmp_path) -> None:
    path, packets = stream
    data = bytearray(path.read_bytes())
    start = len(write_file_header(30.0)) + sum(len(p.data) for p in packets[:3])
    data[start + 20:start + 40] = bytes(20)           # frame 3 damaged; frame 8 is a refresh
    damaged = tmp_path / "damaged.lvc"
    damaged.write_bytes(bytes(data))
    pipeline, seen = run(str(damaged), loop=False)
    wait_for(lambda: len(seen.frames) >= FRAMES - 1 and not pipeline.source_active)
    warnings = [text for level, text in seen.messages if level == "warning"]
    assert len(warnings) == 1 and "concealing" in warnings[0]
    assert seen.said("info", "stream resumed")
    decoder = Decoder()
    assert np.array_equal(seen.frames[-1].reconstruction, _decode_from(decoder, packets, 8))


def _decode_from(decoder: Decoder, packets, start: int) -> np.ndarray:
    for packet in packets[start:]:
        image = decoder.decode(packet.data)
    return image


def test_pause_then_step_shows_one_frame_at_a_time(stream) -> None:
    from livecodec.app.pipeline import Pipeline
    from conftest import Collector

    path, packets = stream
    seen = Collector()
    pipeline = Pipeline(str(path), CodecParams(), loop=False, on_frame=seen.frame)
    pipeline.set_paused(True)
    pipeline.start()
    try:
        for step in range(1, 4):
            pipeline.step()
            wait_for(lambda: len(seen.frames) == step)
        time.sleep(0.3)                 # nothing more comes while paused
        assert len(seen.frames) == 3
        assert pipeline.source_info["coded"] and pipeline.source_info["fps"] == 30.0
        decoder = Decoder()
        for frame, packet in zip(seen.frames, packets):
            assert np.array_equal(frame.reconstruction, decoder.decode(packet.data))
    finally:
        pipeline.stop()


def test_a_stream_refuses_a_size_and_a_missing_reference(stream, capsys) -> None:
    path, _ = stream
    assert main(["gui", "--source", str(path), "--size", "640x480", "--quit-after", "1"]) == 2
    assert "plays at the size" in capsys.readouterr().err
    assert main(["gui", "--source", str(path), "--reference", "nosuch.mp4", "--quit-after", "1"]) == 2
    assert "nosuch.mp4" in capsys.readouterr().err


def test_a_stream_cut_short_loops_and_a_later_segment_plays_at_its_rate(stream, tmp_path) -> None:
    from livecodec.app.stream_source import StreamFileSource

    path, packets = stream
    data = path.read_bytes()
    cut = tmp_path / "cut.lvc"                  # as a crash leaves it: half of the last packet
    cut.write_bytes(data[:len(data) - len(packets[-1].data) // 2])
    source = StreamFileSource(cut, loop=True)
    indices = [source.read().items[-1].frame_index for _ in range(2 * FRAMES)]
    # The broken last packet is left out: the loop wraps after frame FRAMES - 2.
    assert indices == [i % (FRAMES - 1) for i in range(2 * FRAMES)]
    joined = tmp_path / "joined.lvc"
    joined.write_bytes(data + write_file_header(15.0) + b"".join(p.data for p in packets[:3]))
    source = StreamFileSource(joined)
    rates = [(source.read(), source.fps)[1] for _ in range(FRAMES + 2)]
    assert rates[:FRAMES] == [30.0] * FRAMES and rates[FRAMES:] == [15.0, 15.0]


class ArrivingStream:
    """A received stream as the pipeline sees it: frames come when they come, some given up."""

    is_live, coded, arrives = False, True, True
    name, fps, size = "test link", 30.0, (0, 0)

    def __init__(self, packets, lost) -> None:
        from livecodec.app.stream_source import CodedFrame

        self.asked = 0
        self._frames = [CodedFrame(() if i in lost else (p.data,), len(p.data), None, None,
                                   self.ask) for i, p in enumerate(packets)]

    def ask(self) -> bool:
        self.asked += 1
        return True

    def take(self, timeout: float):
        time.sleep(timeout / 5)
        return [self._frames.pop(0)] if self._frames else None

    def request_refresh(self) -> bool:
        return self.ask()

    def close(self) -> None:
        pass


def test_a_lossy_received_stream_conceals_asks_for_a_refresh_and_says_so_once(run, stream):
    """Frames the link gave up reach the decoder as gaps: one warning while it conceals, a
    refresh asked for, one 'resumed' at the next refresh (frame 8)."""
    _, packets = stream
    source = ArrivingStream(packets, lost={3, 4})
    pipeline, seen = run(lambda: source, loop=False)
    wait_for(lambda: not pipeline.source_active)
    wait_for(lambda: len(seen.frames) >= FRAMES - 2)
    assert [level for level, text in seen.messages if text.startswith("decoder:")] == \
        ["warning", "info"]
    assert source.asked >= 1
    decoder = Decoder()
    assert np.array_equal(seen.frames[-1].reconstruction, _decode_from(decoder, packets, 8))
