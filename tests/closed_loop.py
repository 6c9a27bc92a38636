"""Code frames through encoder and decoder, checking they agree: what RD tests measure."""
from __future__ import annotations

import numpy as np

from livecodec.codec import CodecParams, Decoder, Encoder, psnr


def code_and_measure(frames: list[np.ndarray], params: CodecParams) -> tuple[int, float]:
    """(stream bytes, mean PSNR) of ``frames`` coded with ``params``; asserts that every decoded
    picture is the encoder's own reconstruction (the closed loop)."""
    encoder, decoder = Encoder(params), Decoder()
    total, scores = 0, []
    for frame in frames:
        encoded = encoder.encode(frame)
        picture = decoder.decode(encoded.data)
        assert np.array_equal(picture, encoded.reconstruction)
        total += len(encoded.data)
        scores.append(psnr(frame, picture))
    return total, float(np.mean(scores))
