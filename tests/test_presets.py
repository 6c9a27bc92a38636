"""Speed presets: validated, each a different encoder effort, all decoded by one decoder."""
from __future__ import annotations

import numpy as np
import pytest

from livecodec.app.sources import DemoScene
from livecodec.codec import PRESETS, CodecParams, Decoder, Encoder, psnr
from tests.media import read_frames


@pytest.mark.parametrize("bad", ["turbo", "", None, 1, "Fast"])
def test_an_unknown_preset_is_refused_naming_the_choices(bad):
    with pytest.raises(ValueError, match="preset must be one of fast, balanced, best"):
        CodecParams(preset=bad)


def test_presets_are_ordered_fastest_first():
    assert PRESETS == ("fast", "balanced", "best")
    assert CodecParams().preset == "balanced"


@pytest.fixture(scope="module")
def coded():
    frames = read_frames("carphone.mp4", 8)      # real footage: noise is what presets differ on
    out = {}
    for preset in PRESETS:
        encoder = Encoder(CodecParams(preset=preset, block_size=8))
        out[preset] = [encoder.encode(f) for f in frames]
    return frames, out


def test_every_preset_is_decoded_exactly_by_the_same_decoder(coded):
    frames, out = coded
    for preset, encoded in out.items():
        decoder = Decoder()
        for original, frame in zip(frames, encoded):
            picture = decoder.decode(frame.data)
            assert np.array_equal(picture, frame.reconstruction), preset
            assert psnr(original, picture) > 25, preset


def test_the_presets_make_different_decisions(coded):
    _, out = coded
    streams = {preset: b"".join(f.data for f in encoded) for preset, encoded in out.items()}
    assert len(set(streams.values())) == 3


def test_a_preset_change_applies_to_the_next_frame_without_a_refresh():
    scene = DemoScene(160, 120)
    encoder = Encoder(CodecParams(block_size=8))
    kinds = [encoder.encode(scene.frame(0)).frame_type, encoder.encode(scene.frame(1)).frame_type]
    encoder.set_params(encoder.params.with_changes(preset="fast"))
    kinds.append(encoder.encode(scene.frame(2)).frame_type)
    assert kinds == ["refresh", "predicted", "predicted"]
