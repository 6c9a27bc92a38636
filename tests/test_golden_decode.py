"""Golden decoded output: committed streams must keep decoding to the same pictures.

``tests/data/golden_demo.lvc`` is a 4.8 KB stream of 5 demo-scene frames at 84x52 (padded to
88x56 with 8-pixel blocks; refresh, predicted, predicted, refresh, predicted; quality 40, so
palette, motion, skip and residual all occur), and ``tests/data/golden_demo.decoded.sha256``
the SHA-256 of its decoded frames. ``tests/test_codec.py``'s golden checksum guards the bytes
the encoder writes; this file guards what the decoder makes of fixed bytes, so a change made to
both the encoder and the decoder (which the closed-loop round trips cannot see) fails here.
``golden_demo_v1.lvc`` is the same clip as format version 1 wrote it (before refresh headers
stated their slice count), ``golden_demo_v2.lvc`` as version 2 wrote it (before the deblocking
filter and the tools byte), ``golden_demo_v3.lvc`` as version 3 wrote it (half-pel vectors
only, refresh frames at the predicted frames' quality), ``golden_demo_v4.lvc`` as version 4
wrote it (before split blocks), ``golden_demo_v5.lvc`` as version 5 wrote it (context model 1:
one-speed probabilities, no neighbour contexts), ``golden_demo_v6.lvc`` as version 6 wrote it
(before transform skip): old files must keep decoding, so they are never regenerated.

A deliberate change of the format or of the decoder's output regenerates the current files with
``LIVECODEC_UPDATE_GOLDEN=1 python -m pytest tests/test_golden_decode.py`` (the variable that
regenerates tests/data/golden_stream.sha256 too); say so in the commit message. Without the
variable the test only reads the committed files.
"""
from __future__ import annotations

import hashlib
import os
from pathlib import Path

import numpy as np
import pytest

from livecodec.codec import FORMAT_VERSION, Decoder, FileHeader, read_file_header
from livecodec.codec.common.bitstream import FILE_HEADER_SIZE, parse_packet

DATA = Path(__file__).with_name("data")
STREAM = DATA / "golden_demo.lvc"
DIGEST = DATA / "golden_demo.decoded.sha256"
#: Written by format versions 1 to 6; kept as they are.
OLD_VERSIONS = {version: (DATA / f"golden_demo_v{version}.lvc",
                          DATA / f"golden_demo_v{version}.decoded.sha256")
                for version in (1, 2, 3, 4, 5, 6)}
#: What the committed stream holds (checked, so a regeneration cannot silently lose coverage).
WIDTH, HEIGHT, FRAMES, FPS = 84, 52, 5, 30.0
FRAME_TYPES = ["refresh", "predicted", "predicted", "refresh", "predicted"]
UPDATE = os.environ.get("LIVECODEC_UPDATE_GOLDEN") == "1"


def encode_golden_stream() -> tuple[bytes, list[np.ndarray]]:
    """The stream as it was made (only run to regenerate it): file header and packets, and the
    encoder's reconstructions."""
    from livecodec.app.sources import DemoScene
    from livecodec.codec import CodecParams, Encoder, write_file_header

    scene = DemoScene(WIDTH, HEIGHT)
    encoder = Encoder(CodecParams(block_size=8, n_clusters=6, refresh_interval=3, quality=40), fps=FPS)
    frames = [encoder.encode(scene.frame(40 + i)) for i in range(FRAMES)]
    return (write_file_header(FPS) + b"".join(f.data for f in frames),
            [f.reconstruction for f in frames])


def decode_stream(data: bytes, version: int = FORMAT_VERSION):
    """Every packet of a file decoded in order with a plain Decoder (raises on any error)."""
    assert read_file_header(data[:FILE_HEADER_SIZE]) == FileHeader(version, FPS)
    decoder, decoded, pos = Decoder(), [], FILE_HEADER_SIZE
    while pos < len(data):
        packet = parse_packet(data, pos)
        decoded.append(decoder.decode_packet(packet))
        pos += packet.size
    return decoded


def frames_digest(images: list[np.ndarray]) -> str:
    """SHA-256 over each frame's shape and BGR bytes, in order."""
    digest = hashlib.sha256()
    for image in images:
        digest.update(np.asarray(image.shape, "<u4").tobytes())
        digest.update(np.ascontiguousarray(image, np.uint8).tobytes())
    return digest.hexdigest()


@pytest.fixture(scope="module", params=["current", "v1", "v2", "v3", "v4", "v5", "v6"])
def golden(request) -> tuple[bytes, list]:
    if request.param != "current":
        version = int(request.param[1:])
        stream, digest = OLD_VERSIONS[version]
        data = stream.read_bytes()
        return data, decode_stream(data, version=version), digest
    if UPDATE:
        data, reconstructions = encode_golden_stream()
        decoded = decode_stream(data)
        assert all(np.array_equal(d.image, r) for d, r in zip(decoded, reconstructions))
        DATA.mkdir(exist_ok=True)
        STREAM.write_bytes(data)
        DIGEST.write_text(f"{frames_digest([d.image for d in decoded])}  {STREAM.name} decoded\n")
    assert STREAM.is_file() and DIGEST.is_file(), (
        f"{STREAM} or {DIGEST} is missing: run with LIVECODEC_UPDATE_GOLDEN=1 once to create them")
    data = STREAM.read_bytes()
    return data, decode_stream(data), DIGEST


def test_golden_stream_decodes_to_the_committed_frames(golden) -> None:
    """The format and decoder guard; see the module docstring for a deliberate regeneration."""
    data, decoded, digest_file = golden
    digest = frames_digest([d.image for d in decoded])
    expected = digest_file.read_text().split()[0]
    assert digest == expected, (
        f"{digest_file.name}: the stream decodes to different pictures (sha256 {digest}, golden {expected}); if "
        f"the format or the decoder changed on purpose, regenerate with LIVECODEC_UPDATE_GOLDEN=1")


def test_golden_stream_covers_refresh_predicted_and_residual(golden) -> None:
    """The committed stream exercises what it claims to: both frame types, every block mode of
    its version, residual (quality > 0), a frame size that is not a multiple of the block
    size."""
    data, decoded, digest_file = golden
    assert len(data) < 8192
    assert [d.frame_type for d in decoded] == FRAME_TYPES
    assert all(d.image.shape == (HEIGHT, WIDTH, 3) for d in decoded)
    assert WIDTH % decoded[0].block_size and HEIGHT % decoded[0].block_size
    modes = np.concatenate([d.block_modes.ravel() for d in decoded if d.frame_type == "predicted"])
    from livecodec.codec import MODE_INTER, MODE_PALETTE, MODE_SKIP, MODE_SPLIT
    assert {MODE_SKIP, MODE_INTER, MODE_PALETTE} <= set(modes.tolist())
    if digest_file in (DIGEST, OLD_VERSIONS[5][1], OLD_VERSIONS[6][1]):    # split: version 5 on
        assert MODE_SPLIT in modes
    assert any(np.any(d.motion_vectors) for d in decoded if d.motion_vectors is not None)
    pos = FILE_HEADER_SIZE
    qualities = []
    while pos < len(data):
        packet = parse_packet(data, pos)
        qualities.append(packet.payload[6] & 0x7F if packet.type == 0 else packet.payload[0])
        pos += packet.size
    assert min(qualities) > 0      # every frame carries residual


def test_each_golden_stream_states_the_tools_of_its_version() -> None:
    """Version 7 may skip the transform of a tile, version 6 codes with context model 2,
    version 5 may split blocks into quadrants,
    version 4 codes quarter-pel vectors and carries contexts from picture to picture, version 3
    added the tools byte (deblocking, intra, half-pel vectors, fresh contexts); versions 1 and 2
    had none, and their pictures (above) show the decoder does not filter them."""
    from livecodec.codec.common.framing import unpack_refresh_header

    def tools(data: bytes) -> list[tuple[bool, bool, bool, bool, bool, int, bool]]:
        found, pos = [], FILE_HEADER_SIZE
        while pos < len(data):
            packet = parse_packet(data, pos)
            if packet.type == 0:
                header = unpack_refresh_header(packet.payload)[0]
                found.append((header.deblock, header.intra, header.qpel, header.carry_contexts,
                              header.split, header.context_model, header.tskip))
            pos += packet.size
        return found

    assert tools(STREAM.read_bytes()) == [(True, True, True, True, True, 2, True)] * 2
    assert tools(OLD_VERSIONS[6][0].read_bytes()) == [(True, True, True, True, True, 2, False)] * 2
    assert tools(OLD_VERSIONS[5][0].read_bytes()) == [(True, True, True, True, True, 1, False)] * 2
    assert tools(OLD_VERSIONS[4][0].read_bytes()) == [(True, True, True, True, False, 1, False)] * 2
    assert (tools(OLD_VERSIONS[3][0].read_bytes())
            == [(True, True, False, False, False, 1, False)] * 2)
    assert all(tools(OLD_VERSIONS[v][0].read_bytes())
               == [(False, False, False, False, False, 1, False)] * 2 for v in (1, 2))


def test_current_golden_stream_has_transform_skipped_tiles() -> None:
    """Coverage of version 7's tool: the first refresh picture of the committed stream,
    decoded through the slice layer (which reports how each tile is coded), skips the
    transform of some tiles, so the golden digest covers that reconstruction too."""
    from livecodec.codec.common.blocks import padded_size
    from livecodec.codec.common.framing import unpack_refresh_header
    from livecodec.codec.common.slices import SliceContexts, decode_slices, slice_rows
    from livecodec.codec.common.syntax import label_bits
    from livecodec.codec.common.transform import TILE_SKIP, zero_levels

    packet = parse_packet(STREAM.read_bytes(), FILE_HEADER_SIZE)
    header, offset = unpack_refresh_header(packet.payload)
    bs = header.block_size
    wp, hp = padded_size(header.width, header.height, bs)
    levels = zero_levels(hp, wp, bs)
    tiles = tuple(np.zeros(lev.shape[:2], np.uint8) for lev in levels)
    bands = slice_rows(hp // bs, header.slices)
    k = len(header.palette)
    decode_slices(np.frombuffer(packet.payload, np.uint8, offset=offset), True, wp // bs, k,
                  label_bits(k), levels, bs, bands, SliceContexts().start(len(bands), False),
                  header.intra, False, header.context_model, tiles, header.tskip)
    assert header.tskip and any((plane == TILE_SKIP).any() for plane in tiles)
