"""Encoder / decoder round trips: bit-exact closed loop, parameter changes, odd sizes, quality,
scene cuts, stream errors, and the golden checksum that guards the format.

The golden checksum: ``tests/data/golden_stream.sha256`` holds the SHA-256 of the packets of a
fixed synthetic clip encoded with default parameters. A deliberate format or encoder change
regenerates it with ``LIVECODEC_UPDATE_GOLDEN=1 python -m pytest tests/test_codec.py -k golden``
(and says so in its commit message); any other change of the bytes fails the test.
"""
from __future__ import annotations

import hashlib
import os
from pathlib import Path

import cv2
import numpy as np
import pytest

from livecodec.app.sources import DemoScene
from livecodec.codec import (BitstreamError, ChecksumError, CodecParams, Decoder, Encoder,
                             FrameGapError, MissingReferenceError, bits_per_pixel, psnr,
                             refresh_quality)
from livecodec.codec.common.bitstream import (PACKET_PREDICTED, PACKET_REFRESH, build_packet,
                                              parse_packet)
from livecodec.codec.common.modes import (MODE_INTER, MODE_INTRA_DC, MODE_INTRA_H, MODE_INTRA_V,
                                          MODE_PALETTE, MODE_SKIP, MODE_SPLIT)
from tests.media import iter_frames, read_frames

GOLDEN = Path(__file__).with_name("data") / "golden_stream.sha256"
PARTS = {"header", "palette", "labels", "motion", "residual"}


def demo_frames(width: int, height: int, n: int, start: int = 0) -> list[np.ndarray]:
    scene = DemoScene(width, height)
    return [scene.frame(start + i) for i in range(n)]


def round_trip(frames, encoder: Encoder, decoder: Decoder | None = None, changes=None):
    """Encode and decode every frame, asserting bit-exactness; returns the EncodedFrames."""
    decoder = decoder or Decoder()
    changes = changes or {}
    out = []
    for i, frame in enumerate(frames):
        if i in changes:
            encoder.set_params(changes[i])
        ef = encoder.encode(frame)
        decoded = decoder.decode(ef.data)
        assert decoded.shape == frame.shape and decoded.dtype == np.uint8
        assert np.array_equal(decoded, ef.reconstruction), f"frame {i} ({ef.frame_type}) drifted"
        assert sum(ef.bytes_by_part.values()) == len(ef.data)
        out.append(ef)
    return out


@pytest.fixture(scope="module")
def small_clip() -> list[np.ndarray]:
    """Shared by several tests: read-only, so none can change what the next one sees."""
    frames = demo_frames(96, 64, 10, start=20)
    for frame in frames:
        frame.setflags(write=False)
    return frames


class TestRoundTrip:
    @pytest.mark.parametrize("params", [
        CodecParams(block_size=4), CodecParams(block_size=8), CodecParams(block_size=16),
        CodecParams(block_size=32), CodecParams(n_clusters=2), CodecParams(n_clusters=256),
        CodecParams(quality=0), CodecParams(quality=1), CodecParams(quality=100),
        CodecParams(refresh_interval=1), CodecParams(search_range=1),
        CodecParams(block_size=4, n_clusters=256, quality=100, search_range=64),
        CodecParams(block_size=32, n_clusters=2, quality=0, refresh_interval=1000),
    ], ids=repr)
    def test_bit_exact(self, small_clip, params):
        efs = round_trip(small_clip, Encoder(params))
        assert efs[0].frame_type == "refresh"
        for ef in efs:
            expected = (refresh_quality(params.quality) if ef.frame_type == "refresh"
                        else params.quality)
            assert ef.block_size == params.block_size and ef.quality == expected
            rows, cols = -(-64 // params.block_size), -(-96 // params.block_size)
            assert ef.block_modes.shape == (rows, cols)
            if ef.frame_type == "refresh":
                assert ef.motion_vectors is None    # intra blocks only: palette or spatial
                assert set(np.unique(ef.block_modes)) <= {MODE_PALETTE, MODE_INTRA_DC,
                                                          MODE_INTRA_V, MODE_INTRA_H}
            else:
                assert ef.motion_vectors.shape == (rows, cols, 2)
                assert ef.quadrant_vectors.shape == (rows, cols, 4, 2)
                assert set(np.unique(ef.block_modes)) <= {MODE_SKIP, MODE_INTER, MODE_SPLIT,
                                                          MODE_PALETTE}

    @pytest.mark.parametrize("size", [(1, 1), (2, 3), (31, 1), (33, 17), (17, 33)])
    @pytest.mark.parametrize("block", [4, 32])
    def test_odd_small_sizes(self, size, block):
        w, h = size
        grey = min(w, h) < DemoScene.MIN_SIDE
        if grey:
            # Random grey pixels: 4:2:0 keeps grey exact (random colours it could not).
            rng = np.random.default_rng(w * 100 + h)
            base = np.repeat(rng.integers(0, 256, (h, w, 1), dtype=np.uint8), 3, axis=2)
            frames = [np.roll(base, i, axis=1) ^ np.uint8(i) for i in range(6)]
        else:
            frames = demo_frames(w, h, 6, start=40)
        for params in (CodecParams(block_size=block), CodecParams(block_size=block, quality=100)):
            efs = round_trip(frames, Encoder(params))
            assert [e.frame_index for e in efs] == list(range(len(frames)))
        if grey:       # at quality 100 a tiny grey picture is nearly lossless
            assert psnr(frames[-1], efs[-1].reconstruction) > 45

    def test_641x479(self):
        frames = demo_frames(641, 479, 3, start=60)
        for block in (4, 32):
            round_trip(frames, Encoder(CodecParams(block_size=block)))

    def test_parameter_changes_mid_stream(self):
        frames = demo_frames(160, 120, 40, start=100)
        base = CodecParams(refresh_interval=1000)
        changes = {
            8: base.with_changes(quality=85),                         # quality: at once
            14: base.with_changes(quality=85, search_range=4),
            20: base.with_changes(block_size=8, n_clusters=64, quality=30),
            28: base.with_changes(block_size=32, n_clusters=2, quality=0),
            34: base.with_changes(block_size=4, n_clusters=256, quality=100),
        }
        efs = round_trip(frames, Encoder(base), changes=changes)
        types = "".join(e.frame_type[0] for e in efs)
        # Block size and palette size take effect with a refresh sent at once; quality and
        # search range changes do not need one (no scene cut in this stretch of the demo).
        assert types[:20] == "r" + "p" * 19
        assert types[20] == types[28] == types[34] == "r"
        assert types[21:28] == "p" * 7
        assert [e.quality for e in efs[7:9]] == [50, 85]
        assert efs[19].block_size == 16 and efs[20].block_size == 8
        assert efs[28].block_size == 32 and efs[34].block_size == 4
        assert all(e.bytes_by_part["residual"] == 0 for e in efs[28:34])

    def test_decoder_reports_the_encoder_decisions(self, small_clip):
        encoder, decoder = Encoder(CodecParams(block_size=8)), Decoder()
        for frame in small_clip:
            ef = encoder.encode(frame)
            df = decoder.decode_packet(parse_packet(ef.data))
            assert df.frame_type == ef.frame_type and df.frame_index == ef.frame_index
            assert df.block_size == ef.block_size
            assert np.array_equal(df.block_modes, ef.block_modes)
            if ef.motion_vectors is None:
                assert df.motion_vectors is None
            else:
                inter = ef.block_modes != MODE_PALETTE
                assert np.array_equal(df.motion_vectors[inter], ef.motion_vectors[inter])
            assert decoder.last_frame_index == ef.frame_index

    def test_long_sequence_with_refreshes_stays_exact(self):
        frames = demo_frames(96, 64, 60, start=280)      # pan, stop, start of the zoom
        efs = round_trip(frames, Encoder(CodecParams(refresh_interval=7, block_size=8)))
        assert sum(e.frame_type == "refresh" for e in efs) >= 60 // 7


class TestEncoderBehaviour:
    def test_refresh_interval_is_the_distance_between_refreshes(self):
        frames = demo_frames(64, 48, 13, start=5)
        for interval in (1, 2, 3, 5):
            encoder = Encoder(CodecParams(refresh_interval=interval))
            refreshes = [i for i, f in enumerate(frames)
                         if encoder.encode(f).frame_type == "refresh"]
            assert refreshes == list(range(0, len(frames), interval)), interval

    def test_request_refresh(self, small_clip):
        encoder = Encoder(CodecParams(refresh_interval=1000))
        types = []
        for i, frame in enumerate(small_clip):
            if i == 4:
                encoder.request_refresh()
            types.append(encoder.encode(frame).frame_type)
        assert types == ["refresh"] + ["predicted"] * 3 + ["refresh"] + ["predicted"] * 5

    def test_frame_size_change_starts_with_a_refresh(self):
        a, b = demo_frames(64, 48, 3), demo_frames(40, 24, 3)
        efs = round_trip(a + b + a, Encoder())
        assert [e.frame_type[0] for e in efs] == list("rpprpprpp")

    def test_static_picture_costs_next_to_nothing(self):
        frame = demo_frames(160, 120, 1)[0]
        efs = round_trip([frame] * 5, Encoder(CodecParams(deblock=False)))
        assert [e.frame_type for e in efs] == ["refresh"] + ["predicted"] * 4
        assert (efs[1].block_modes == MODE_SKIP).mean() > 0.9
        assert all((e.block_modes == MODE_SKIP).all() for e in efs[2:])
        assert all(len(e.data) < 30 for e in efs[1:])
        assert len(efs[0].data) > 10 * len(efs[1].data)

    def test_static_picture_with_the_deblocking_filter_settles_in_a_few_frames(self):
        """The filter smooths the refresh's tile edges, and the edges of every block a
        predicted frame corrects, which touches that block's neighbours: a static picture
        takes a few frames of a few dozen bytes to settle, then every block is skipped."""
        frame = demo_frames(160, 120, 1)[0]
        efs = round_trip([frame] * 8, Encoder())
        assert [e.frame_type for e in efs] == ["refresh"] + ["predicted"] * 7
        assert (efs[1].block_modes == MODE_SKIP).mean() > 0.9
        assert all(len(e.data) < 40 for e in efs[1:])
        assert all((e.block_modes == MODE_SKIP).all() and len(e.data) < 30 for e in efs[6:])
        assert len(efs[0].data) > 10 * sum(len(e.data) for e in efs[1:6])

    def test_bytes_by_part(self, small_clip):
        for params in (CodecParams(), CodecParams(quality=0, n_clusters=5)):
            for ef in round_trip(small_clip, Encoder(params)):
                parts = ef.bytes_by_part
                assert set(parts) == PARTS and all(v >= 0 for v in parts.values())
                assert sum(parts.values()) == len(ef.data)
                if ef.frame_type == "refresh":
                    # 3 bytes per palette colour, at least 2 colours in this picture
                    assert parts["palette"] % 3 == 0
                    assert 6 <= parts["palette"] <= 3 * params.n_clusters
                    assert parts["labels"] > 0
                else:
                    assert parts["palette"] == 0
                if params.quality == 0:
                    assert parts["residual"] == 0

    @pytest.mark.parametrize("bad", [
        np.zeros((4, 4), np.uint8), np.zeros((4, 4, 4), np.uint8), np.zeros((4, 4, 3), np.float32),
        np.zeros((0, 4, 3), np.uint8), np.zeros((4, 0, 3), np.uint8),
        np.zeros((4097, 1, 3), np.uint8), [[[0, 0, 0]]],
    ], ids=["2d", "4ch", "float", "no-rows", "no-cols", "too-tall", "list"])
    def test_bad_frames_rejected(self, bad):
        with pytest.raises(ValueError, match="frame"):
            Encoder().encode(bad)

    def test_non_contiguous_frame_accepted(self):
        frame = demo_frames(64, 48, 1)[0]
        view = frame[:, ::-1]
        ef = Encoder().encode(view)
        assert np.array_equal(Decoder().decode(ef.data), ef.reconstruction)

    def test_set_params_type_checked(self):
        with pytest.raises(ValueError, match="CodecParams"):
            Encoder().set_params({"quality": 10})


class TestQuality:
    def test_higher_quality_more_psnr_and_bytes(self):
        frames = read_frames("carphone.mp4", 20)
        results = []
        for quality in (0, 20, 50, 80, 100):
            efs = round_trip(frames, Encoder(CodecParams(quality=quality)))
            size = sum(len(e.data) for e in efs)
            quality_db = np.mean([psnr(f, e.reconstruction) for f, e in zip(frames, efs)])
            results.append((quality, size, quality_db))
        for (q0, s0, p0), (q1, s1, p1) in zip(results, results[1:]):
            assert s1 > s0, f"quality {q1} spent fewer bytes than {q0}"
            assert p1 > p0, f"quality {q1} gave lower PSNR than {q0}"
        assert results[-1][2] > 40      # 4:2:0 chroma caps it well below lossless

    def test_refresh_frames_coded_finer(self):
        """A fixed quality codes refresh frames at refresh_quality(q): a finer step for the
        pictures every following predicted frame copies from; rate control is not bent."""
        assert refresh_quality(0) == 0 and refresh_quality(100) == 100
        assert 50 < refresh_quality(50) <= 60 and refresh_quality(99) == 100
        frames = read_frames("carphone.mp4", 4)
        efs = round_trip(frames, Encoder(CodecParams(quality=50, refresh_interval=2)))
        assert [(e.frame_type, e.quality) for e in efs] == [
            ("refresh", refresh_quality(50)), ("predicted", 50)] * 2

    def test_carphone_target(self):
        """Issue 2's bar: block 16, 16 clusters, refresh 30, quality 50: > 30 dB at < 1 bpp."""
        frames = read_frames("carphone.mp4")
        assert len(frames) == 120
        params = CodecParams(block_size=16, n_clusters=16, refresh_interval=30, quality=50)
        efs = round_trip(frames, Encoder(params))
        h, w = frames[0].shape[:2]
        bpp = bits_per_pixel(sum(len(e.data) for e in efs), len(frames), w, h)
        mean_psnr = np.mean([psnr(f, e.reconstruction) for f, e in zip(frames, efs)])
        assert mean_psnr > 30 and bpp < 1, (mean_psnr, bpp)
        assert [i for i, e in enumerate(efs) if e.frame_type == "refresh"] == [0, 30, 60, 90]


def colour_histogram(frame: np.ndarray) -> np.ndarray:
    h = cv2.calcHist([frame], [0, 1, 2], None, [8, 8, 8], [0, 256] * 3).ravel()
    return h / h.sum()


def histogram_cuts(hists: list[np.ndarray]) -> list[int]:
    """Frames whose colour histogram differs sharply from the previous frame's."""
    diff = np.array([0.0] + [0.5 * np.abs(b - a).sum() for a, b in zip(hists, hists[1:])])
    threshold = max(0.1, 8 * np.median(diff))
    return [int(i) for i in np.flatnonzero(diff > threshold)]


class TestSceneCuts:
    def test_refresh_at_every_cut(self):
        # One frame at a time: the whole 1280x272 clip would be 261 MB.
        encoder = Encoder(CodecParams(refresh_interval=1000))
        hists, refreshes = [], []
        for i, frame in enumerate(iter_frames("scene_cuts.mp4")):
            hists.append(colour_histogram(frame))
            if encoder.encode(frame).frame_type == "refresh":
                refreshes.append(i)
        cuts = histogram_cuts(hists)
        assert len(cuts) >= 3, f"expected several hard cuts in scene_cuts.mp4, found {cuts}"
        for cut in cuts:
            assert any(abs(r - cut) <= 1 for r in refreshes), f"no refresh at cut {cut}: {refreshes}"
        # and not a refresh on every frame: the rest of the clip is predicted
        assert len(refreshes) <= 2 * len(cuts) + 1


@pytest.fixture(scope="module")
def packets() -> list[bytes]:
    """Six small packets: refresh, predicted, predicted, refresh, predicted, predicted."""
    frames = demo_frames(32, 24, 6, start=30)
    encoder = Encoder(CodecParams(block_size=8, refresh_interval=3))
    return [encoder.encode(f).data for f in frames]


class TestStreamErrors:
    @staticmethod
    def decode_all(packets) -> list[np.ndarray]:
        decoder = Decoder()
        return [decoder.decode(p) for p in packets]

    def test_packet_types(self, packets):
        assert [parse_packet(p).type for p in packets] == [PACKET_REFRESH, PACKET_PREDICTED,
                                                           PACKET_PREDICTED] * 2

    def test_predicted_without_reference(self, packets):
        with pytest.raises(MissingReferenceError, match="frame 1"):
            Decoder().decode(packets[1])

    def test_start_at_a_later_refresh(self, packets):
        full = self.decode_all(packets)
        late = self.decode_all(packets[3:])
        assert all(np.array_equal(a, b) for a, b in zip(full[3:], late))

    def test_gap(self, packets):
        decoder = Decoder()
        decoder.decode(packets[0])
        with pytest.raises(FrameGapError, match="expected 1"):
            decoder.decode(packets[2])

    def test_repeat(self, packets):
        decoder = Decoder()
        decoder.decode(packets[0])
        decoder.decode(packets[1])
        with pytest.raises(FrameGapError, match="expected 2"):
            decoder.decode(packets[1])

    def test_after_an_error_resume_at_the_next_refresh(self, packets):
        full = self.decode_all(packets)
        decoder = Decoder()
        decoder.decode(packets[0])
        with pytest.raises(BitstreamError):
            decoder.decode(packets[2])
        assert decoder.last_frame_index is None
        with pytest.raises(MissingReferenceError):    # the reference was dropped
            decoder.decode(packets[2])
        assert np.array_equal(decoder.decode(packets[3]), full[3])
        assert np.array_equal(decoder.decode(packets[4]), full[4])

    def test_every_truncation(self, packets):
        for packet in (packets[0], packets[1]):
            for n in range(len(packet)):
                with pytest.raises(BitstreamError):
                    Decoder().decode(packet[:n])

    def test_stray_bytes(self, packets):
        with pytest.raises(BitstreamError, match="stray"):
            Decoder().decode(packets[0] + b"\x00")

    def test_every_bit_flip(self, packets):
        for packet, prior in ((packets[0], []), (packets[1], [packets[0]])):
            assert len(packet) < 700         # keep the exhaustive loop small
            for bit in range(len(packet) * 8):
                decoder = Decoder()
                for p in prior:
                    decoder.decode(p)
                bad = bytearray(packet)
                bad[bit // 8] ^= 1 << (bit % 8)
                with pytest.raises(BitstreamError):
                    decoder.decode(bytes(bad))

    def test_crc_error_type(self, packets):
        bad = bytearray(packets[0])
        bad[len(bad) // 2] ^= 0x10
        with pytest.raises(ChecksumError):
            Decoder().decode(bytes(bad))

    def test_corrupt_payload_with_valid_crc(self, packets):
        """Damage the CRC cannot see (e.g. a buggy sender): the decoder raises BitstreamError
        or returns a picture of the right size, and never any other exception."""
        rng = np.random.default_rng(0)
        shape = self.decode_all(packets[:1])[0].shape
        outcomes = {"error": 0, "picture": 0}
        for trial in range(400):
            prior = [] if trial % 2 == 0 else [packets[0]]
            packet = parse_packet(packets[trial % 2])
            payload = bytearray(packet.payload)
            how = trial % 4
            if how == 0:
                payload[rng.integers(len(payload))] ^= 1 << int(rng.integers(8))
            elif how == 1:
                payload = payload[:rng.integers(len(payload))]
            elif how == 2:
                payload[rng.integers(len(payload))] = int(rng.integers(256))
            else:
                payload += bytes(rng.integers(0, 256, int(rng.integers(1, 50)), dtype=np.uint8))
            decoder = Decoder()
            for p in prior:
                decoder.decode(p)
            try:
                image = decoder.decode(build_packet(packet.type, packet.frame_index, bytes(payload)))
            except BitstreamError:
                outcomes["error"] += 1
            else:
                outcomes["picture"] += 1
                if packet.type == PACKET_PREDICTED:
                    assert image.shape == shape
        assert outcomes["error"] > 0

    def test_refresh_header_fields_checked(self, packets):
        packet = parse_packet(packets[0])
        payload = bytearray(packet.payload)
        cases = {
            "frame size": lambda p: p.__setitem__(slice(0, 2), b"\x00\x00"),       # width 0
            "outside": lambda p: p.__setitem__(slice(2, 4), (5000).to_bytes(2, "little")),
            "block size code": lambda p: p.__setitem__(4, 9),
            "quality": lambda p: p.__setitem__(6, 101),
            "palette": lambda p: p.__setitem__(5, 255),                            # 256 colours
        }
        for message, damage in cases.items():
            bad = bytearray(payload)
            damage(bad)
            with pytest.raises(BitstreamError):
                Decoder().decode(build_packet(PACKET_REFRESH, 0, bytes(bad)))
        with pytest.raises(BitstreamError, match="empty"):
            decoder = Decoder()
            decoder.decode(packets[0])
            decoder.decode(build_packet(PACKET_PREDICTED, 1, b""))


def golden_clip() -> list[np.ndarray]:
    """8 frames 64x48: a diagonal colour gradient panning right, a square moving down-left,
    and seeded texture; fewer distinct block colours than the default palette size, so the
    stream does not depend on KMeans' floating point."""
    yy, xx = np.mgrid[0:48, 0:160]
    background = np.stack([(xx * 1.5) % 256, (yy * 5 + xx) % 256, 255 - (xx + yy) % 256],
                          axis=-1).astype(np.uint8)
    texture = np.random.default_rng(2024).integers(-6, 7, (48, 160, 3))
    background = np.clip(background.astype(int) + texture, 0, 255).astype(np.uint8)
    frames = []
    for i in range(8):
        frame = background[:, 3 * i:3 * i + 64].copy()
        x, y = 40 - 2 * i, 5 + 3 * i
        frame[y:y + 12, x:x + 12] = (30, 200, 240)
        frames.append(frame)
    return frames


def test_golden_stream_checksum():
    """The format guard; see the module docstring for the deliberate regeneration."""
    encoder, decoder = Encoder(), Decoder()
    stream = b""
    for frame in golden_clip():
        ef = encoder.encode(frame)
        assert np.array_equal(decoder.decode(ef.data), ef.reconstruction)
        stream += ef.data
    digest = hashlib.sha256(stream).hexdigest()
    if os.environ.get("LIVECODEC_UPDATE_GOLDEN") == "1":
        GOLDEN.parent.mkdir(exist_ok=True)
        GOLDEN.write_text(f"{digest}\n")
    assert GOLDEN.is_file(), (f"{GOLDEN} is missing: run with LIVECODEC_UPDATE_GOLDEN=1 once "
                              f"to create it")
    expected = GOLDEN.read_text().split()[0]
    assert digest == expected, (
        f"the encoded stream changed (sha256 {digest}, golden {expected}); if the format or the "
        f"encoder changed on purpose, regenerate with LIVECODEC_UPDATE_GOLDEN=1")


def test_a_repeat_frame_is_the_previous_picture_again_in_a_few_bytes() -> None:
    scene = DemoScene(320, 240)
    encoder, decoder = Encoder(CodecParams(refresh_interval=100)), Decoder()
    with pytest.raises(ValueError, match="no frame to repeat"):
        encoder.repeat()
    first = decoder.decode(encoder.encode(scene.read()).data)
    repeat = encoder.repeat()
    assert repeat.frame_type == "predicted" and len(repeat.data) < 64
    assert np.array_equal(decoder.decode(repeat.data), first)
    following = encoder.encode(scene.read())    # predicted from the repeated picture
    assert following.frame_type == "predicted"
    assert np.array_equal(decoder.decode(following.data), following.reconstruction)


@pytest.mark.parametrize("width,height,block", [(84, 52, 8), (101, 77, 16), (33, 19, 4),
                                                (50, 30, 32), (640, 480, 16)])
def test_planes_are_opencvs_padded_ycrcb_with_area_halved_chroma(width, height, block) -> None:
    """frame_to_planes' own split-and-halve pass gives what padding, converting and resizing
    with OpenCV give (the encoder's input must not change with how it is computed)."""
    from livecodec.codec.common.blocks import frame_to_planes, padded_size

    frame = np.random.default_rng(width).integers(0, 256, (height, width, 3), dtype=np.uint8)
    wp, hp = padded_size(width, height, block)
    padded = cv2.copyMakeBorder(frame, 0, hp - height, 0, wp - width, cv2.BORDER_REPLICATE)
    ycrcb = cv2.cvtColor(padded, cv2.COLOR_BGR2YCrCb)
    half = cv2.resize(ycrcb, (wp // 2, hp // 2), interpolation=cv2.INTER_AREA)
    planes = frame_to_planes(frame, block)
    assert np.array_equal(planes.y, ycrcb[:, :, 0])
    assert np.array_equal(planes.cr, half[:, :, 1])
    assert np.array_equal(planes.cb, half[:, :, 2])
