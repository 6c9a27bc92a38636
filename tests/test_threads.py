"""The thread count is the encoder's and decoder's business, never the stream's."""
from __future__ import annotations

import hashlib

import pytest

from livecodec.app.cli import main
from livecodec.app.sources import DemoScene
from livecodec.codec import (CodecParams, ConcealingDecoder, Decoder, Encoder, check_threads,
                             default_threads)
from livecodec.codec.encoder.analysis import choose_slice_count
from tests.cli_helpers import one_error_line


def stream(threads: int, params: CodecParams, size: tuple[int, int], frames: int) -> list[bytes]:
    scene = DemoScene(*size, n_frames=frames)
    encoder = Encoder(params, threads=threads)
    return [encoder.encode(scene.frame(i)).data for i in range(frames)]


# 480x272 at block 16 has two slices (130,560 luma samples); 1280x720 at block 32 has four,
# more than any thread count here, so the slices are shared out unevenly.
@pytest.mark.parametrize("size, params, frames, slices", [
    ((480, 272), CodecParams(refresh_interval=3), 5, 2),
    ((480, 272), CodecParams(block_size=8, quality=80, refresh_interval=4), 5, 2),
    ((1280, 720), CodecParams(block_size=32, quality=30, preset="fast"), 3, 4),
], ids=["block16", "block8-q80", "720p-4-slices"])
def test_the_stream_is_byte_identical_for_1_2_and_3_threads(size, params, frames, slices):
    bs = params.block_size
    assert choose_slice_count(-(-size[1] // bs), -(-size[0] // bs), bs) == slices
    streams = {threads: stream(threads, params, size, frames) for threads in (1, 2, 3)}
    assert streams[1] == streams[2] == streams[3]
    pictures = {}
    for threads in (1, 3):
        decoder = Decoder(threads=threads)
        pictures[threads] = hashlib.sha256(b"".join(
            decoder.decode(packet).tobytes() for packet in streams[1])).hexdigest()
    assert pictures[1] == pictures[3]


@pytest.mark.parametrize("bad", [0, -1, 65, 2.0, True, "2"])
def test_a_bad_thread_count_is_refused_naming_the_range(bad):
    for make in (lambda: Encoder(threads=bad), lambda: Decoder(threads=bad),
                 lambda: ConcealingDecoder(threads=bad)):
        with pytest.raises(ValueError, match="threads must be an integer in 1..64"):
            make()


def test_the_default_is_the_cores_this_process_may_use():
    assert check_threads(None) == default_threads() >= 1
    assert Encoder().threads == default_threads()


def test_cli_threads_option(tmp_path, capfd):
    one, three = tmp_path / "1.lvc", tmp_path / "3.lvc"
    for out, threads in ((one, "1"), (three, "3")):
        assert main(["encode", "demo", "--size", "480x272", "--frames", "3", "--threads", threads,
                     "-o", str(out)]) == 0
    assert one.read_bytes() == three.read_bytes()
    capfd.readouterr()
    assert main(["decode", str(one), "-o", str(tmp_path / "o.avi"), "--threads", "0"]) == 2
    assert "--threads" in one_error_line(capfd)
    assert not (tmp_path / "o.avi").exists()


@pytest.mark.parametrize("cores, expected", [(1, 1), (2, 1), (4, 3), (8, 7)])
def test_the_live_pipeline_leaves_a_core_to_its_other_stages(monkeypatch, cores, expected):
    import livecodec.app.pipeline as pipeline

    monkeypatch.setattr(pipeline, "default_threads", lambda: cores)
    assert pipeline.live_codec_threads() == expected
    assert pipeline.Pipeline("demo", CodecParams())._codec_threads == expected
    assert pipeline.Pipeline("demo", CodecParams(), threads=2)._codec_threads == 2
