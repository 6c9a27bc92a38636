"""Fuzzing the decoder with mutated real streams: only BitstreamError may ever come out.

Mutations (tests/fuzz_corpus.py): bit flips, truncation, insertion, duplication, junk
overwrites, and absurd values written into header fields and slice lengths with the CRC
recomputed (so they reach the deepest checks). The corpus has small one-slice streams and one
whose frames have two slices. ``make fuzz`` runs this file with FUZZ_EXAMPLES=100000;
``make test`` runs a few hundred.

The kernels are compiled (every intact stream decoded once) by a module fixture, before any
example runs, so the per-example deadline measures decoding and never numba's compilation.
Peak memory is measured in a child process of its own (tests/fuzz_memory.py), so nothing that
ran earlier in this pytest process counts.
"""
from __future__ import annotations

import io
import json
import os
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from livecodec.codec import BitstreamError, Decoder, PacketReader
from livecodec.codec.common.bitstream import (FILE_HEADER_SIZE, build_packet, parse_packet,
                                              read_leb128)
from livecodec.codec.decoder.recovery import recover_frames
from livecodec.codec.encoder.analysis import choose_slice_count
from tests.fuzz_corpus import (CORPUS, FIELD_VALUES, MAX_POSITION, MULTI_SLICE, SLICE_LENGTHS,
                               apply_mutations, build_streams, decode_everything, packet_offsets,
                               symbols_offset)

REPO = Path(__file__).resolve().parents[1]
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "300"))
#: One example decodes a few small packets; two seconds means a hang or a runaway loop.
DEADLINE_MS = 2000
#: The decoder's peak RSS may grow by at most this much over its warmed-up baseline while it
#: reads the mutated streams (the largest legal picture, 4096 x 4096, needs about 75 MB of
#: planes and levels).
MAX_RSS_GROWTH_KB = 400_000
#: Seeded random mutated streams in the memory child (plus its largest-frame-size cases).
MEMORY_CASES = 300
MEMORY_SEED = 20261201

STREAMS = build_streams()


@pytest.fixture(scope="module", autouse=True)
def compiled_kernels() -> None:
    """Decode every intact stream and a damaged one once: numba compiles (or loads) every
    decoding kernel here, outside the hypothesis deadline."""
    for data in STREAMS:
        decode_everything(data)
        decode_everything(data[: len(data) * 2 // 3])


position = st.integers(0, MAX_POSITION)
packet_choice = st.integers(0, 20)
mutation = st.one_of(
    st.tuples(st.just("flip"), position, st.integers(0, 7)),
    st.tuples(st.just("truncate"), position),
    st.tuples(st.just("insert"), position, st.binary(min_size=1, max_size=64)),
    st.tuples(st.just("duplicate"), position, st.integers(1, 400), position),
    st.tuples(st.just("junk"), position, st.binary(min_size=1, max_size=32)),
    st.tuples(st.just("field"), packet_choice, st.integers(0, 12), st.sampled_from(FIELD_VALUES)),
    st.tuples(st.just("payload"), packet_choice, position, st.binary(min_size=1, max_size=8)),
    st.tuples(st.just("slice"), packet_choice, st.sampled_from(SLICE_LENGTHS)),
)


@settings(max_examples=EXAMPLES, deadline=DEADLINE_MS, derandomize=EXAMPLES <= 1000,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(which=st.integers(0, len(STREAMS) - 1), mutations=st.lists(mutation, min_size=1, max_size=4))
def test_mutated_streams_raise_only_bitstream_errors(which: int, mutations: list) -> None:
    decode_everything(apply_mutations(STREAMS[which], mutations))


def test_fuzz_memory_stayed_bounded(tmp_path: Path) -> None:
    """The decoder's peak RSS, in a fresh process warmed up on the intact corpus, grows by less
    than the bound while it decodes the largest-frame-size mutations and MEMORY_CASES seeded
    mutated streams (tests/fuzz_memory.py); and nothing but BitstreamError came out of them."""
    paths = []
    for i, data in enumerate(STREAMS):
        paths.append(tmp_path / f"stream{i}.lvc")
        paths[-1].write_bytes(data)
    env = {k: v for k, v in os.environ.items() if k != "PYTEST_CURRENT_TEST"}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    result = subprocess.run(
        [sys.executable, "-m", "tests.fuzz_memory", str(MEMORY_CASES), str(MEMORY_SEED),
         *map(str, paths)],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stderr[-4000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["failures"] == [], json.dumps(report["failures"][:3], indent=1)
    assert report["cases"] >= MEMORY_CASES
    assert report["growth_kb"] < MAX_RSS_GROWTH_KB, (
        f"peak RSS grew by {report['growth_kb']} kB while decoding mutated streams: {report}")


@pytest.mark.parametrize("width,height", [(65535, 65535), (0, 10), (4097, 1)])
def test_absurd_frame_size_is_refused_before_decoding(width: int, height: int) -> None:
    data = STREAMS[0]
    first = parse_packet(data, FILE_HEADER_SIZE)
    payload = struct.pack("<HH", width, height) + first.payload[4:]
    with pytest.raises(BitstreamError, match="frame size"):
        Decoder().decode(build_packet(first.type, first.frame_index, payload))


def test_intact_streams_decode_without_problems() -> None:
    """The fuzz corpus itself is valid: every frame decodes and nothing is reported."""
    for data, (width, height, n_frames, _) in zip(STREAMS, CORPUS):
        problems: list[str] = []
        frames = list(recover_frames(PacketReader(io.BytesIO(data)), problems))
        assert len(frames) == n_frames and problems == []
        assert all(f.problem is None for f in frames)
        assert np.all([f.image.shape == (height, width, 3) for f in frames])
        assert {f.decoded.frame_type for f in frames} == {"refresh", "predicted"}


def test_one_corpus_stream_has_two_slices_per_frame() -> None:
    """The multi-slice stream really has slice tables for the mutations to hit: its padded
    frames are at the two-slice threshold, each of its payloads starts its symbols with the
    first slice's byte length, and the small streams' frames are one slice each."""
    slices = []
    for width, height, _, params in CORPUS:
        block = params["block_size"]
        slices.append(choose_slice_count(-(-height // block), -(-width // block), block))
    assert slices[MULTI_SLICE] == 2
    assert [n for i, n in enumerate(slices) if i != MULTI_SLICE] == [1] * (len(CORPUS) - 1)
    data = STREAMS[MULTI_SLICE]
    for offset in packet_offsets(data):
        packet = parse_packet(data, offset)
        start = symbols_offset(packet.type, packet.payload)
        length, after = read_leb128(packet.payload, start, "slice 0 length")
        assert 0 < length < len(packet.payload) - after     # slice 1 follows slice 0


def test_memory_child_does_not_count_its_parents_peak() -> None:
    """The child measures its own peak (VmHWM), not ru_maxrss, which after exec also holds the
    parent's peak: a parent that went through 800 MB must not show in the child's figure."""
    child = ("from tests.fuzz_memory import _peak_rss_kb\n"
             "print(_peak_rss_kb())\n")
    parent = ("import subprocess, sys\n"
              "import numpy as np\n"
              "block = np.ones(800 * 2**20, np.uint8)\n"
              "del block\n"
              f"sys.exit(subprocess.run([sys.executable, '-c', {child!r}]).returncode)\n")
    env = {k: v for k, v in os.environ.items() if k != "PYTEST_CURRENT_TEST"}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    result = subprocess.run([sys.executable, "-c", parent], cwd=REPO, env=env,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    assert int(result.stdout.split()[-1]) < 500_000
