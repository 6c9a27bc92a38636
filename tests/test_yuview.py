"""`livecodec info IN.lvc --yuview-stats OUT.csv`: the file follows YUView's statistics syntax,
holds every coded block with the decoder's own vectors and modes, counts concealed frames in
its POCs, and bad paths are refused in one line without touching anything."""
from __future__ import annotations

import io
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest

from livecodec.app import cli
from livecodec.app.cli import main
from livecodec.app.sources import DemoScene
from livecodec.app.stopsignals import raise_interrupt
from livecodec.app.yuview import (FRAME_TYPE_VALUES, TYPE_BITS, TYPE_FRAME, TYPE_MODE,
                                  TYPE_VECTOR, VECTOR_SCALE, write_yuview_stats)
from livecodec.codec import (MODE_PALETTE, MODE_SPLIT, CodecParams, DecodedFrame, Decoder, Encoder,
                             PacketReader, write_file_header)
from tests.cli_helpers import one_error_line

SIZE, BLOCK, FRAMES, REFRESH, FPS = (160, 120), 16, 16, 8, 30.0
GRID = (math.ceil(SIZE[1] / BLOCK), math.ceil(SIZE[0] / BLOCK))     # 8 x 10: last row padded


@dataclass
class Stats:
    """A YUView statistics file as YUView's reader sees it."""

    specs: list[str] = field(default_factory=list)
    kinds: dict[int, str] = field(default_factory=dict)           # type ID -> map/range/vector
    lines: dict[int, list[str]] = field(default_factory=dict)     # type ID -> its header lines
    rows: dict[int, dict[int, list[tuple[int, ...]]]] = field(default_factory=dict)  # POC, type

    def of(self, poc: int, type_id: int) -> list[tuple[int, ...]]:
        return self.rows.get(poc, {}).get(type_id, [])


def parse(path: Path) -> Stats:
    stats, current, pocs_done = Stats(), None, set()
    for text in path.read_text().splitlines():
        fields = text.split(";")
        if text.startswith("%"):
            assert not stats.rows, f"header line after data: {text}"
            if fields[1] == "type":
                current = int(fields[2])
                stats.kinds[current] = fields[4]
                stats.lines[current] = []
            elif fields[1] == "seq-specs":
                stats.specs = fields[2:]
            elif current is not None:
                stats.lines[current].append(fields[1])
            continue
        row = tuple(int(f) for f in fields)      # every field of a data row is an integer
        poc, type_id = row[0], row[5]
        assert type_id in stats.kinds, f"undeclared type {type_id}"
        assert len(row) == (8 if stats.kinds[type_id] == "vector" else 7), text
        if poc not in stats.rows:
            assert poc not in pocs_done and all(p < poc for p in stats.rows), "POCs not in order"
        pocs_done.add(poc)
        stats.rows.setdefault(poc, {}).setdefault(type_id, []).append(row[1:5] + row[6:])
    return stats


@pytest.fixture(scope="module")
def stream(tmp_path_factory) -> tuple[Path, list[bytes]]:
    scene = DemoScene(*SIZE, fps=FPS)
    encoder = Encoder(CodecParams(block_size=BLOCK, refresh_interval=REFRESH, split=True), fps=FPS)
    packets = [encoder.encode(scene.read()).data for _ in range(FRAMES)]
    path = tmp_path_factory.mktemp("yuview") / "demo.lvc"
    path.write_bytes(write_file_header(FPS) + b"".join(packets))
    return path, packets


@pytest.fixture(scope="module")
def written(stream, tmp_path_factory) -> tuple[int, Path]:
    out = tmp_path_factory.mktemp("stats") / "demo.csv"
    return main(["info", str(stream[0]), "--yuview-stats", str(out)]), out


def test_info_prints_its_summary_and_writes_the_file(stream, tmp_path, capsys):
    out = tmp_path / "s.csv"
    assert main(["info", str(stream[0]), "--yuview-stats", str(out)]) == 0
    captured = capsys.readouterr()
    assert f"frames:      {FRAMES} (2 refresh, {FRAMES - 2} predicted)" in captured.out
    assert f"{out}: YUView statistics of {FRAMES} frames (0 concealed)" in captured.err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.csv"]     # no temporary file left
    assert main(["info", str(stream[0])]) == 0                          # without: as before
    captured_plain = capsys.readouterr()
    assert captured_plain.out == captured.out and captured_plain.err == ""


def test_the_header_declares_every_type_used(written):
    status, out = written
    assert status == 0
    lines = out.read_text().splitlines()
    assert lines[0] == "% ;syntax-version;v1.22"
    stats = parse(out)
    assert stats.specs == ["demo.lvc", "0", str(SIZE[0]), str(SIZE[1]), "30"]
    assert stats.kinds == {TYPE_VECTOR: "vector", TYPE_MODE: "map", TYPE_FRAME: "map",
                           TYPE_BITS: "range"}
    assert stats.lines[TYPE_VECTOR] == ["vectorColor", "scaleFactor"]
    assert f"% ;scaleFactor;{VECTOR_SCALE}" in lines
    assert stats.lines[TYPE_MODE] == ["mapColor"] * 7     # skip, motion, split, palette, 3 intra
    assert stats.lines[TYPE_FRAME] == ["mapColor"] * 3
    assert stats.lines[TYPE_BITS] == ["range"]
    used = {t for per_poc in stats.rows.values() for t in per_poc}
    assert used == set(stats.kinds)
    assert all(" " not in line[2:] for line in lines)   # YUView's reader deletes spaces


def test_every_block_of_the_grid_is_there_clipped_to_the_picture(written):
    stats = parse(written[1])
    assert sorted(stats.rows) == list(range(FRAMES))
    for poc in range(FRAMES):
        blocks = stats.of(poc, TYPE_MODE)
        assert len(blocks) == GRID[0] * GRID[1]
        assert sum(w * h for x, y, w, h, _ in blocks) == SIZE[0] * SIZE[1]   # tiles the picture
        assert all(x + w <= SIZE[0] and y + h <= SIZE[1] for x, y, w, h, _ in blocks)
        kind = "refresh" if poc % REFRESH == 0 else "predicted"
        assert stats.of(poc, TYPE_FRAME) == [(0, 0, *SIZE, FRAME_TYPE_VALUES[kind])]


def _vector_rows(decoded: DecodedFrame) -> list[tuple[int, ...]]:
    """(x, y, w, h, vx, vy) of every vector the decoder reports, in block order: a block's own,
    or a split block's four quadrants' (raster order) as half-size blocks; clipped to the
    picture, quadrants wholly outside it left out."""
    rows = []
    half = BLOCK // 2
    for r, c in np.argwhere(decoded.block_modes != MODE_PALETTE):
        if decoded.block_modes[r, c] == MODE_SPLIT:
            parts = [((2 * c + q % 2) * half, (2 * r + q // 2) * half, half,
                      decoded.quadrant_vectors[r, c, q]) for q in range(4)]
        else:
            parts = [(c * BLOCK, r * BLOCK, BLOCK, decoded.motion_vectors[r, c])]
        rows += [(x, y, min(side, SIZE[0] - x), min(side, SIZE[1] - y), int(v[0]), int(v[1]))
                 for x, y, side, v in parts if x < SIZE[0] and y < SIZE[1]]
    return rows


def test_vectors_modes_and_bits_are_the_decoders(stream, written):
    path, packets = stream
    stats = parse(written[1])
    with open(path, "rb") as f:
        reader = PacketReader(f)
    decoder = Decoder()
    vectors_seen = split_seen = 0
    for poc, packet in enumerate(reader):
        decoded = decoder.decode_packet(packet)
        modes = decoded.block_modes
        rows = stats.of(poc, TYPE_MODE)
        assert [(y // BLOCK, x // BLOCK, m) for x, y, w, h, m in rows] == \
               [(r, c, modes[r, c]) for r in range(GRID[0]) for c in range(GRID[1])]
        vectors = [(x, y, w, h, vx // VECTOR_SCALE, vy // VECTOR_SCALE)
                   for x, y, w, h, vx, vy in stats.of(poc, TYPE_VECTOR)]
        if decoded.motion_vectors is None:
            assert vectors == []
        else:
            assert vectors == _vector_rows(decoded)
            vectors_seen += sum(v[4:] != (0, 0) for v in vectors)
            split_seen += int((modes == MODE_SPLIT).sum())
        assert stats.of(poc, TYPE_BITS) == [(0, 0, *SIZE, 8 * len(packets[poc]))]
    assert vectors_seen > 0          # the demo scene pans: the check compared real vectors
    assert split_seen > 0            # and split some blocks: it compared quadrants too
    range_line = next(line for line in written[1].read_text().splitlines() if ";range;" in line)
    assert range_line.split(";")[3] == str(8 * max(map(len, packets)))


def test_a_damaged_stream_still_writes_stats_counting_concealed_frames(stream, tmp_path, capfd):
    path, packets = stream
    data = bytearray(path.read_bytes())
    lost = 3                                            # a predicted frame; 3..7 are concealed
    start = 13 + sum(map(len, packets[:lost]))
    data[start + len(packets[lost]) // 2] ^= 0xFF       # its CRC fails
    damaged = tmp_path / "damaged.lvc"
    damaged.write_bytes(bytes(data))
    out = tmp_path / "damaged.csv"
    assert main(["info", str(damaged), "--yuview-stats", str(out)]) == 1
    captured = capfd.readouterr()
    assert "damaged:" in captured.out
    assert f"YUView statistics of {FRAMES} frames ({REFRESH - lost} concealed)" in captured.err
    stats = parse(out)
    assert sorted(stats.rows) == list(range(FRAMES))    # POCs line up with `livecodec decode`
    concealed = FRAME_TYPE_VALUES["concealed"]
    for poc in range(FRAMES):
        frame_type = stats.of(poc, TYPE_FRAME)
        if lost <= poc < REFRESH:
            assert frame_type == [(0, 0, *SIZE, concealed)]
            assert set(stats.rows[poc]) == {TYPE_FRAME}      # no blocks, no bits of its own
        else:
            assert frame_type[0][-1] != concealed
            assert len(stats.of(poc, TYPE_MODE)) == GRID[0] * GRID[1]


class TestBadPaths:
    @pytest.fixture
    def existing(self, tmp_path) -> Path:
        out = tmp_path / "old.csv"
        out.write_text("keep me\n")
        return out

    def _refused(self, argv, capfd) -> str:
        assert main(argv) == 2
        return one_error_line(capfd)

    def test_output_is_the_input(self, stream, tmp_path, capfd):
        copy = tmp_path / "same.csv"
        copy.write_bytes(stream[0].read_bytes())
        line = self._refused(["info", str(copy), "--yuview-stats",
                              str(tmp_path / "." / "same.csv")], capfd)
        assert "same file as the input" in line
        assert copy.read_bytes() == stream[0].read_bytes()

    @pytest.mark.parametrize("folder", ["missing", "a_file"])
    def test_unwritable_folder(self, stream, tmp_path, folder, capfd):
        (tmp_path / "a_file").write_text("x")
        line = self._refused(["info", str(stream[0]), "--yuview-stats",
                              str(tmp_path / folder / "s.csv")], capfd)
        assert "cannot write" in line
        assert sorted(p.name for p in tmp_path.iterdir()) == ["a_file"]

    def test_not_a_csv(self, stream, existing, capfd):
        line = self._refused(["info", str(stream[0]), "--yuview-stats",
                              str(existing.with_suffix(".txt"))], capfd)
        assert "should end in .csv" in line
        assert existing.read_text() == "keep me\n"

    def test_bad_input_leaves_an_existing_output(self, tmp_path, existing, capfd):
        line = self._refused(["info", str(tmp_path / "nope.lvc"), "--yuview-stats", str(existing)],
                             capfd)
        assert "no such file" in line
        assert existing.read_text() == "keep me\n"
        assert sorted(p.name for p in tmp_path.iterdir()) == ["old.csv"]

    def test_a_failed_write_keeps_the_old_file(self, stream, existing, capfd, monkeypatch):
        def full_disk(*args, **kwargs):
            raise OSError(28, "No space left on device")
        monkeypatch.setattr("livecodec.app.cli.write_yuview_stats", full_disk)
        line = self._refused(["info", str(stream[0]), "--yuview-stats", str(existing)], capfd)
        assert "No space left on device" in line
        assert existing.read_text() == "keep me\n"
        assert sorted(p.name for p in existing.parent.iterdir()) == ["old.csv"]

    def test_ctrl_c_keeps_the_old_file(self, stream, existing, capfd, monkeypatch):
        monkeypatch.setattr(cli.STOP, "check", raise_interrupt)      # stop at the first frame
        assert main(["info", str(stream[0]), "--yuview-stats", str(existing)]) == 1
        assert "livecodec: interrupted" in capfd.readouterr().err
        assert existing.read_text() == "keep me\n"
        assert sorted(p.name for p in existing.parent.iterdir()) == ["old.csv"]


def test_the_writer_takes_any_text_stream(stream):
    with open(stream[0], "rb") as f:
        reader = PacketReader(f)
    ticks = []
    buffer = io.StringIO()
    summary = write_yuview_stats(reader, buffer, name="my clip;1.lvc",
                                 on_frame=lambda: ticks.append(1))
    assert (summary.frames, summary.concealed, len(ticks)) == (FRAMES, 0, FRAMES)
    assert "% ;seq-specs;my_clip_1.lvc;0;160;120;30" in buffer.getvalue().splitlines()
