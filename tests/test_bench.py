"""The benchmark's own arithmetic and plumbing: BD-rate on curves with known answers, the anchors
on a tiny synthetic clip, and a smoke run of the report."""
from __future__ import annotations

import math
import time

import numpy as np
import pytest

from livecodec.app.evaluation import anchors
from livecodec.app.evaluation.bdrate import (BDResult, bd_psnr, bd_rate, compare, frontier,
                                             pchip_integral, pchip_slopes)

PSNRS = np.array([30.0, 32.5, 34.0, 36.8, 38.0, 41.0])
RATES = np.array([0.02, 0.035, 0.05, 0.09, 0.12, 0.25])


# -- BD-rate ---------------------------------------------------------------------------------
@pytest.mark.parametrize("method", ["pchip", "poly"])
@pytest.mark.parametrize("factor", [0.5, 0.8, 1.0, 1.37])
def test_rate_scaled_by_a_constant_gives_exactly_that_bd_rate(method, factor):
    got = bd_rate(RATES, PSNRS, RATES * factor, PSNRS, method=method)
    assert got == pytest.approx(100.0 * (factor - 1.0), abs=1e-9)


@pytest.mark.parametrize("method", ["pchip", "poly"])
def test_psnr_shifted_by_a_constant_gives_exactly_that_bd_psnr(method):
    assert bd_psnr(RATES, PSNRS, RATES, PSNRS + 0.75, method=method) == pytest.approx(0.75, abs=1e-9)
    assert bd_psnr(RATES, PSNRS, RATES, PSNRS - 1.5, method=method) == pytest.approx(-1.5, abs=1e-9)


def test_bd_rate_of_straight_lines_with_partial_overlap_matches_the_closed_form():
    # anchor: ln r = a + b p on p in [30, 40]; test: ln r = c + d p on p in [33, 45].
    a, b, c, d = -8.0, 0.15, -9.0, 0.17
    pa, pt = np.linspace(30, 40, 6), np.linspace(33, 45, 7)
    ra, rt = np.exp(a + b * pa), np.exp(c + d * pt)
    lo, hi = 33.0, 40.0
    expected = 100.0 * (math.exp((c - a) + (d - b) * (lo + hi) / 2) - 1.0)
    for method in ("pchip", "poly"):
        assert bd_rate(ra, pa, rt, pt, method=method) == pytest.approx(expected, rel=1e-9)
    res = compare((ra, pa), (rt, pt))
    assert (res.psnr_lo, res.psnr_hi) == (lo, hi)


def test_swapping_the_curves_inverts_the_ratio():
    rt = RATES * np.linspace(0.6, 0.9, len(RATES))
    forward, backward = bd_rate(RATES, PSNRS, rt, PSNRS), bd_rate(rt, PSNRS, RATES, PSNRS)
    assert (1 + forward / 100) * (1 + backward / 100) == pytest.approx(1.0, rel=1e-12)


def test_no_overlap_is_reported_not_extrapolated():
    assert bd_rate(RATES, PSNRS, RATES, PSNRS + 20) is None
    assert bd_psnr(RATES, PSNRS, RATES * 100, PSNRS) is None
    res = compare((RATES, PSNRS), (RATES * 100, PSNRS + 20))
    assert res == BDResult(None, None, None, None)
    # Same rates, far better PSNR: no common PSNR range for BD-rate, but BD-PSNR is defined.
    assert compare((RATES, PSNRS), (RATES, PSNRS + 20)).bd_rate is None
    assert res.rate_text() == "n/a (no overlap)"


def test_too_few_points_for_the_fit():
    assert bd_rate(RATES[:1], PSNRS[:1], RATES, PSNRS) is None
    assert bd_rate(RATES[:3], PSNRS[:3], RATES, PSNRS, method="poly") is None
    assert bd_rate(RATES[:2], PSNRS[:2], RATES[:2] * 0.9, PSNRS[:2]) == pytest.approx(-10.0)


def test_frontier_drops_dominated_and_invalid_points_and_sorts():
    r, p = frontier([0.3, 0.1, 0.2, 0.25, 0.4, -1.0, np.nan, 0.1],
                    [40.0, 30.0, 35.0, 34.0, 39.0, 50.0, 45.0, 31.0])
    assert r.tolist() == [0.1, 0.2, 0.3]
    assert p.tolist() == [31.0, 35.0, 40.0]


def test_dominated_point_does_not_change_the_bd_rate():
    noisy_r = np.append(RATES, 0.2)     # 0.2 bpp for less PSNR than 0.12 bpp gives
    noisy_p = np.append(PSNRS, 37.0)
    assert bd_rate(RATES, PSNRS, noisy_r * 0.7, noisy_p) == pytest.approx(-30.0)


def test_pchip_matches_an_independent_implementation():
    interpolate = pytest.importorskip("scipy.interpolate")
    x = np.array([28.0, 30.5, 31.0, 34.0, 36.5, 41.0, 42.0])
    y = np.log([0.01, 0.02, 0.022, 0.07, 0.1, 0.4, 0.41])
    ref = interpolate.PchipInterpolator(x, y)
    assert pchip_slopes(x, y) == pytest.approx(ref.derivative()(x), rel=1e-9, abs=1e-12)
    for lo, hi in ((28.0, 42.0), (29.3, 40.1), (31.0, 31.0), (33.3, 33.9)):
        assert pchip_integral(x, y, lo, hi) == pytest.approx(ref.integrate(lo, hi), rel=1e-9, abs=1e-12)


def test_pchip_is_monotone_between_the_points():
    x = np.array([30.0, 31.0, 40.0, 41.0])
    y = np.array([0.0, 1.0, 1.1, 5.0])
    # Integrals over thin slices approximate the interpolant: it never leaves [y_k, y_k+1].
    edges = np.linspace(30, 41, 221)
    vals = [pchip_integral(x, y, a, b) / (b - a) for a, b in zip(edges[:-1], edges[1:])]
    assert np.all(np.diff(vals) >= -1e-12)
    assert min(vals) >= 0.0 and max(vals) <= 5.0


def test_poly_fit_integrates_a_cubic_exactly():
    p = np.linspace(30, 40, 8)
    coeff = [0.001, -0.09, 2.8, -31.0]
    assert bd_rate(np.exp(np.polyval(coeff, p)), p, 0.9 * np.exp(np.polyval(coeff, p)), p,
                   method="poly") == pytest.approx(-10.0)


# -- anchors on a tiny clip ------------------------------------------------------------------
def _tiny_clip(n=6, w=64, h=48):
    yy, xx = np.mgrid[0:h, 0:w]
    frames = []
    for i in range(n):
        f = np.empty((h, w, 3), np.uint8)
        f[..., 0] = (xx * 3 + i * 2) % 256
        f[..., 1] = (yy * 4) % 256
        f[..., 2] = 128 + 60 * np.sin((xx + 2 * i) / 7.0)
        f[10 + i:22 + i, 8 + 2 * i:24 + 2 * i] = (30, 200, 90)
        frames.append(f)
    return frames


def test_jpeg_anchor_counts_bytes_and_psnr():
    frames = _tiny_clip()
    low, high = anchors.jpeg_point(frames, 20), anchors.jpeg_point(frames, 95)
    assert 0 < low.bytes < high.bytes
    assert 20 < low.psnr < high.psnr <= 100
    assert 0 < low.ssim < high.ssim <= 1 and low.as_dict()["ssim"] == low.ssim
    assert low.bpp == pytest.approx(8 * low.bytes / (6 * 64 * 48))
    assert low.as_dict()["setting"] == 20


needs_ffmpeg = pytest.mark.skipif(anchors.ffmpeg_path() is None, reason="ffmpeg not installed")


@needs_ffmpeg
def test_ffmpeg_anchors_round_trip_every_frame_under_the_yuv420_ceiling():
    frames = _tiny_clip()
    ceiling = anchors.yuv420_ceiling(frames, 30.0)
    assert ceiling.bytes == 6 * 64 * 48 * 3 // 2       # raw yuv420p
    assert ceiling.psnr > 30
    m_hi, m_lo = anchors.mpeg4_point(frames, 30.0, 2), anchors.mpeg4_point(frames, 30.0, 31)
    assert 0 < m_lo.bytes < m_hi.bytes and m_lo.psnr < m_hi.psnr <= ceiling.psnr + 0.5
    assert 0 < m_lo.ssim < m_hi.ssim <= ceiling.ssim + 0.01
    if "libx264" in anchors.ffmpeg_encoders():
        x_hi, x_lo = anchors.x264_point(frames, 29.97, 18), anchors.x264_point(frames, 29.97, 45)
        assert 0 < x_lo.bytes < x_hi.bytes and x_lo.psnr < x_hi.psnr <= ceiling.psnr + 0.5


@needs_ffmpeg
def test_every_x264_preset_is_swept_as_its_own_anchor():
    from livecodec.app.evaluation import rd

    if "libx264" not in anchors.ffmpeg_encoders():
        pytest.skip("this ffmpeg has no libx264")
    sweeps, _, _ = rd.run_anchors(_tiny_clip(3), 30.0, jpeg_q=(50,),
                                  mpeg4_q=(5,), x264_crf=(30,))
    assert {"x264", "x264_veryfast", "x264_medium"} <= set(sweeps) <= {"mjpeg", "mpeg4", *rd.ANCHORS}
    assert all(sweeps[key][0]["bytes"] > 0 for key in rd.X264_KEYS.values())
    lines = anchors.command_lines()
    for preset in anchors.X264_PRESETS:
        assert f"-preset {preset} -tune zerolatency" in lines[f"x264 {preset} encode"]


@needs_ffmpeg
def test_ffmpeg_anchor_rejects_odd_sizes():
    with pytest.raises(ValueError, match="even"):
        anchors.mpeg4_point([f[:47] for f in _tiny_clip()], 30.0, 5)


def test_anchors_skip_ffmpeg_with_a_note_when_it_is_absent(monkeypatch):
    from livecodec.app.evaluation import rd

    monkeypatch.setattr(anchors, "ffmpeg_path", lambda: None)
    sweeps, ceiling, notes = rd.run_anchors(_tiny_clip(3), 30.0, jpeg_q=(50,),
                                            mpeg4_q=(5,), x264_crf=(30,))
    assert list(sweeps) == ["mjpeg"] and ceiling is None
    assert any("ffmpeg is not installed" in n for n in notes)


def test_livecodec_point_on_a_tiny_clip():
    from livecodec.app.evaluation.rd import livecodec_point

    frames = _tiny_clip(4)
    lo, hi = livecodec_point(frames, 10), livecodec_point(frames, 90)
    assert 0 < lo["bytes"] < hi["bytes"] and lo["psnr"] < hi["psnr"]
    assert 0 < lo["ssim"] < hi["ssim"] <= 1
    assert lo["frames"] == 4 and lo["refresh_frames"] >= 1
    assert lo["bpp"] == pytest.approx(8 * lo["bytes"] / (4 * 64 * 48))


def test_stage_timers_restore_the_codec_functions():
    import livecodec.codec.encoder.encoder as emod
    from bench.speed import stage_timers

    before = dict(vars(emod))
    with stage_timers() as (enc_timer, _):
        assert emod.diamond_search is not before["diamond_search"]
        from livecodec.codec import Encoder

        Encoder().encode(_tiny_clip(1)[0])
        assert sum(enc_timer.take().values()) > 0
    assert all(vars(emod)[k] is v for k, v in before.items())


def test_quick_report_on_one_small_clip(tmp_path):
    pytest.importorskip("matplotlib")
    from bench.common import CLIPS
    from bench.run_all import main

    if not CLIPS["carphone"].available():
        pytest.skip("../shared/media/carphone.mp4 not present")
    assert main(["--quick", "--clips", "carphone", "--frames", "3", "--no-speed", "--jobs", "1",
                 "--out", str(tmp_path)]) == 0
    text = (tmp_path / "BENCHMARKS.md").read_text()
    assert "## BD-rate summary" in text and "rd_carphone.png" in text
    assert (tmp_path / "rd_carphone.png").stat().st_size > 1000


def test_stage_timer_times_only_the_calling_thread_and_outermost_calls():
    import threading

    from bench.speed import ENCODER_STAGES, StageTimer

    timer = StageTimer(ENCODER_STAGES)
    inner = timer.wrap("forward_quantise", lambda: time.sleep(0.01))
    outer = timer.wrap("diamond_search", lambda: inner())
    outer()
    worker = threading.Thread(target=inner)
    worker.start()
    worker.join()
    got = timer.take()
    assert set(got) == {"motion search"} and got["motion search"] >= 0.009
    assert timer.functions == {"forward_quantise": "residual transform + quantisation",
                               "diamond_search": "motion search"}


def test_tools_table_has_each_switchable_tool_for_each_clip():
    from bench.common import CLIPS
    from bench.presets import TOOLS_OFF, run_variants

    if not CLIPS["carphone"].available():
        pytest.skip("../shared/media/carphone.mp4 not present")
    curves = run_variants(["carphone"], 3, {"all": {}, **TOOLS_OFF}, (20, 80), jobs=1)
    assert list(curves["carphone"]) == ["all", *TOOLS_OFF]
    (rates_on, psnr_on), (rates_off, psnr_off) = (curves["carphone"]["all"],
                                                  curves["carphone"]["deblocking filter"])
    assert len(rates_on) == len(rates_off) == 2 and rates_on[0] < rates_on[1]
    assert psnr_on[0] != psnr_off[0]       # at quality 20 the filter changes the pictures


def test_entropy_report_counts_every_stream_of_a_short_clip():
    from bench.common import CLIPS, load_frames
    from bench.entropy_report import measure
    from livecodec.codec import CodecParams

    if not CLIPS["carphone"].available():
        pytest.skip("../shared/media/carphone.mp4 not present")
    streams = measure(load_frames(CLIPS["carphone"], 3)[0], CodecParams())
    assert set(streams) == {"labels", "motion", "residual"}
    assert all(s["coded_bytes"] > 0 and s["h0_bytes"] > 0 for s in streams.values())


def test_every_codec_function_the_encoder_and_decoder_call_has_its_own_stage():
    """A function the stage rules do not know lands in "other codec functions"; the coding
    tools' own kernels are named stages (the intra coder once landed in entropy coding)."""
    import livecodec.codec.decoder.decoder as dmod
    import livecodec.codec.encoder.encoder as emod
    from bench.speed import DECODER_STAGES, ENCODER_STAGES, _codec_callables, classify

    assert classify("code_intra", ENCODER_STAGES).startswith("intra refresh coding")
    assert classify("deblock", ENCODER_STAGES) == classify("deblock", DECODER_STAGES) == \
        "deblocking filter"
    assert classify("reconstruct_intra", DECODER_STAGES).startswith("reconstruction")
    for module, rules in ((emod, ENCODER_STAGES), (dmod, DECODER_STAGES)):
        assert "deblock" in _codec_callables(module)


def test_presets_section_reports_each_preset_against_x264_medium():
    from bench.run_all import _presets_section

    presets = {"frames": 60, "compression": {"bikes": {"fast": 20.0, "balanced": 0.0,
                                                       "best": -2.0}},
               "x264_medium": {"bikes": {"fast": 55.5, "balanced": 28.0, "best": None}},
               "speed": [], "verdicts": []}
    text = "\n".join(_presets_section(presets))
    assert "against x264 medium zerolatency" in text
    assert "| bikes | +55.5 % | +28.0 % | - |" in text
    without = "\n".join(_presets_section({**presets, "x264_medium": {}}))
    assert "x264 medium" not in without
