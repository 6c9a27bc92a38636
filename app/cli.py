"""The ``livecodec`` command: the live window, and the codec on files from a terminal."""
from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
import time
from pathlib import Path
from typing import Callable, Sequence

import cv2
import numpy as np
from tqdm import tqdm

from livecodec.codec import (FRAME_PREDICTED, FRAME_REFRESH, PRESETS, SSIM_MIN_SIDE, CodecParams,
                             Decoder, Encoder, PacketReader, bits_per_pixel, check_threads,
                             default_threads, kbps, psnr, read_stream_info, recover_frames, ssim,
                             tools_in_effect, write_file_header)

from .outputs import OutputError, PendingOutput, check_not_input, check_writable
from .overload import AUTO_PRESET
from .pipeline import live_codec_threads
from .quantize import quantize_image
from .recorder import DEFAULT_FOURCC, Recorder, RecorderError, check_fourcc
from .sources import (Capture, DemoScene, FrameSource, SourceError, open_source, parse_size,
                      size_problem)
from .stopsignals import StopRequest, on_stop_signals
from .stream_source import read_stream_file
from .yuview import write_yuview_stats

__all__ = ["main", "build_parser"]

#: Containers `decode` writes (OpenCV's FFmpeg writer takes XVID, MJPG and FFV1 in both).
VIDEO_SUFFIXES = (".avi", ".mkv")
#: Frames encoded from the demo scene when --frames is not given (10 s at 30 fps).
DEMO_DEFAULT_FRAMES = 300
EXIT_OK, EXIT_FAILURE, EXIT_USAGE = 0, 1, 2
#: FFmpeg inside OpenCV prints its own diagnostics straight to stderr (e.g. "moov atom not
#: found" for a file that is not a video), around our one-line error. AV_LOG_QUIET (-8) hides
#: them; OpenCV reads this once, when it first opens a video file, so main() sets it first.
FFMPEG_LOG_LEVEL_ENV = ("OPENCV_FFMPEG_LOGLEVEL", "-8")


#: Set by Ctrl+C, SIGTERM or SIGHUP while a command runs; its loops stop at the next frame.
STOP = StopRequest()


class UsageError(Exception):
    """Bad usage or bad input: reported in one line, exit status 2."""


class _Parser(argparse.ArgumentParser):
    """argparse that reports a usage error in one line instead of usage text plus error."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(f"{message} (see '{self.prog} --help')")


def _add_codec_options(parser: argparse.ArgumentParser, live: bool = False) -> None:
    """Codec settings; ``live`` (the window) adds the preset "auto" and makes it the default."""
    defaults = CodecParams()
    group = parser.add_argument_group("codec options")
    choices = (AUTO_PRESET, *PRESETS) if live else PRESETS
    default = AUTO_PRESET if live else defaults.preset
    group.add_argument("--preset", choices=choices, default=default,
                       help="encoder effort: fast, balanced or best" +
                            (", or auto: balanced, fast while the encoder drops frames"
                             if live else "") + " (default %(default)s)")
    group.add_argument("--block-size", type=int, default=defaults.block_size,
                       help="coding block side: 4, 8, 16 or 32 (default %(default)s)")
    group.add_argument("--clusters", type=int, default=defaults.n_clusters,
                       help="palette size of refresh frames, 2-256 (default %(default)s)")
    group.add_argument("--refresh", type=int, default=defaults.refresh_interval,
                       help="at most this many frames between refresh frames, 1-1000 (default %(default)s)")
    group.add_argument("--quality", type=int, default=defaults.quality,
                       help="0 (no residual) to 100 (default %(default)s); refresh frames "
                            "are coded 9 points finer")
    group.add_argument("--search-range", type=int, default=defaults.search_range,
                       help="motion search range in pixels, 1-64 (default %(default)s)")
    group.add_argument("--kbps", type=float, default=None,
                       help="target bitrate: rate control picks the quality per frame "
                            "(--quality is then only the starting point)")


def _add_capture_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("capture options")
    group.add_argument("--size", metavar="WxH",
                       help="frame size: the demo scene renders at it, a camera is asked for it, "
                            "a video file is scaled to it (e.g. 1280x720)")
    group.add_argument("--fps", type=float, metavar="F",
                       help="frame rate asked of a camera or the demo scene")


def _add_threads_option(parser: argparse.ArgumentParser, *, live: bool = False,
                        note: str = "") -> None:
    default = (f"one core fewer than this process may use, {live_codec_threads()} here: capture, "
               f"the codec and the window run side by side" if live else
               f"the cores this process may use, {default_threads()} here{note}")
    parser.add_argument("--threads", type=int, metavar="N",
                        help=f"threads per frame (default: {default}); the stream is the same "
                             f"for any N")


def _threads(args: argparse.Namespace) -> int | None:
    """--threads checked; None when not given (each command's own default)."""
    if args.threads is None:
        return None
    try:
        return check_threads(args.threads)
    except ValueError as exc:
        raise UsageError(f"--threads: {exc}") from None


def _capture(args: argparse.Namespace, *, reference: str | None = None,
             link_key: bytes | None = None) -> Capture:
    """The capture options; the window also takes a reference video and the link's key."""
    try:
        width, height = parse_size(args.size) if args.size else (None, None)
        return Capture(width, height, args.fps, reference, link_key)
    except ValueError as exc:
        raise UsageError(f"--size/--fps: {exc}") from None


def _link_key(path: str | None) -> bytes | None:
    """The live link's shared secret from --key FILE (None without the option)."""
    if path is None:
        return None
    from .link import LinkError, read_key
    try:
        return read_key(path)
    except LinkError as exc:
        raise UsageError(str(exc)) from None


def _params(args: argparse.Namespace) -> CodecParams:
    try:
        preset = CodecParams().preset if args.preset == AUTO_PRESET else args.preset
        return CodecParams(block_size=args.block_size, n_clusters=args.clusters,
                           refresh_interval=args.refresh, quality=args.quality,
                           search_range=args.search_range, target_kbps=args.kbps, preset=preset)
    except ValueError as exc:
        raise UsageError(str(exc)) from None


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="livecodec", description=__doc__)
    sub = parser.add_subparsers(dest="command", parser_class=_Parser)

    gui = sub.add_parser("gui", help="the live window (default)")
    gui.add_argument("--source", default=None,
                     help="camera:N, demo, a stream URL (rtsp://, udp://, ...), a video file, or "
                          "a .lvc stream to play (default: camera:0, else demo)")
    _add_codec_options(gui, live=True)
    _add_capture_options(gui)
    _add_threads_option(gui, live=True)
    gui.add_argument("--reference", metavar="SRC",
                     help="with a .lvc source: the video it was coded from, for PSNR and the "
                          "error view")
    gui.add_argument("--record", metavar="AVI", help="record the reconstruction to this file")
    gui.add_argument("--save", metavar="OUT.lvc",
                     help="save the compressed stream to this file as it is produced")
    gui.add_argument("--send", metavar="HOST:PORT",
                     help="send the compressed stream over the live link (RTP over UDP) to "
                          "another livecodec receiving on that port")
    gui.add_argument("--key", metavar="FILE",
                     help="the live link's shared secret (at least 16 bytes), for --send and a "
                          "receive:PORT source: datagrams without its tag are dropped")
    gui.add_argument("--fourcc", default=DEFAULT_FOURCC, help="recording codec (default %(default)s)")
    gui.add_argument("--quit-after", type=float, metavar="S", help="close after S seconds")
    gui.add_argument("--screenshot", metavar="PNG", help="save the window just before quitting")

    enc = sub.add_parser("encode", help="encode a video to a .lvc stream")
    enc.add_argument("source", metavar="SRC", help="video file, camera:N, demo, or a stream URL")
    enc.add_argument("-o", "--output", required=True, metavar="OUT.lvc")
    _add_codec_options(enc)
    _add_capture_options(enc)
    _add_threads_option(enc)
    enc.add_argument("--frames", type=int, metavar="N", help="stop after N frames")

    dec = sub.add_parser("decode", help="decode a .lvc stream to a video file")
    dec.add_argument("input", metavar="IN.lvc")
    dec.add_argument("-o", "--output", required=True, metavar="OUT.avi")
    dec.add_argument("--fourcc", default=DEFAULT_FOURCC, help="XVID (default), MJPG, or FFV1 (lossless)")
    _add_threads_option(dec)

    info = sub.add_parser("info", help="describe a .lvc stream")
    info.add_argument("input", metavar="IN.lvc")
    info.add_argument("--yuview-stats", metavar="OUT.csv",
                      help="also decode the stream and write its motion vectors, block modes, "
                           "frame types and bits per frame as a YUView statistics file")

    ev = sub.add_parser("eval", help="encode and decode a source; report rate, quality, speed")
    ev.add_argument("source", metavar="SRC")
    _add_codec_options(ev)
    _add_capture_options(ev)
    _add_threads_option(ev)
    ev.add_argument("--frames", type=int, metavar="N", help="stop after N frames")
    ev.add_argument("--json", action="store_true", help="print one JSON object")

    qu = sub.add_parser("quantize", help="KMeans colour quantisation of a still image")
    qu.add_argument("image", metavar="IMAGE")
    qu.add_argument("-o", "--output", required=True, metavar="OUT.png")
    qu.add_argument("--clusters", type=int, required=True, metavar="K", help="colours, 2-256")

    from .link_commands import add_link_commands    # send, receive (it imports these helpers)
    add_link_commands(sub)
    from .compare_command import add_compare_command    # compare (it imports these helpers too)
    add_compare_command(sub)
    return parser


# -- helpers -----------------------------------------------------------------------------
def _open(spec: str, capture: Capture) -> FrameSource:
    """The source, checked: it opens and its frame size is one the stream can carry."""
    try:
        source = open_source(spec, width=capture.width, height=capture.height, fps=capture.fps)
    except SourceError as exc:
        raise UsageError(str(exc)) from None
    problem = size_problem(spec, source.size)
    if problem:
        source.close()
        raise UsageError(problem)
    return source


def _check_frames_option(args: argparse.Namespace) -> None:
    if args.frames is not None and args.frames < 1:
        raise UsageError(f"--frames must be at least 1, got {args.frames}")


def _frame_limit(args: argparse.Namespace, source: FrameSource) -> int | None:
    if args.frames is not None:
        return args.frames
    if isinstance(source, DemoScene):
        return DEMO_DEFAULT_FRAMES
    return None


def _frames(source: FrameSource, limit: int | None, label: str):
    """Frames of a source with a progress bar; a stop request (Ctrl+C, SIGTERM, SIGHUP) raises
    KeyboardInterrupt here, between frames, and the caller decides what to keep."""
    total = limit if limit is not None else getattr(source, "frame_count", None)
    bar = tqdm(total=total, desc=label, unit="frame", disable=None, leave=False)
    count = 0
    try:
        while limit is None or count < limit:
            STOP.check()
            frame = source.read()
            if frame is None:
                break
            yield frame
            count += 1
            bar.update()
    finally:
        bar.close()


def _interrupted(done: int, what: str) -> int:
    """After Ctrl+C (or SIGTERM, SIGHUP) with ``done`` frames finished: say so, exit 1."""
    print(f"livecodec: interrupted after {done} frames; {what}", file=sys.stderr)
    return EXIT_FAILURE


def _check_output(path: str, inputs: Sequence[str], suffixes: tuple[str, ...] | None = None) -> Path:
    """The output path once it is known to be writable and none of the input files; nothing
    is written yet (outputs go to a temporary file beside it and are renamed at the end)."""
    try:
        check_not_input(path, [p for p in inputs if Path(p).exists()])
        if suffixes and Path(path).suffix.lower() not in suffixes:
            raise UsageError(f"output {path} should end in {' or '.join(suffixes)}")
        return check_writable(path)
    except OutputError as exc:
        raise UsageError(str(exc)) from None


def _read_stream(path: str) -> PacketReader:
    try:
        return read_stream_file(path)
    except SourceError as exc:
        raise UsageError(str(exc)) from None


# -- commands ----------------------------------------------------------------------------
def cmd_gui(args: argparse.Namespace) -> int:
    from .gui import run_gui    # Qt is imported only for the window
    capture = _capture(args, reference=args.reference, link_key=_link_key(args.key))
    return run_gui(source=args.source, params=_params(args), capture=capture,
                   threads=_threads(args), auto_preset=args.preset == AUTO_PRESET,
                   record=args.record, fourcc=args.fourcc, save=args.save, send=args.send,
                   quit_after=args.quit_after, screenshot=args.screenshot)


def cmd_encode(args: argparse.Namespace) -> int:
    params, threads = _params(args), _threads(args)
    _check_frames_option(args)
    out = _check_output(args.output, [args.source])
    source = _open(args.source, _capture(args))
    encoder = Encoder(params, fps=source.fps, threads=threads)
    frames = total = 0
    interrupted = False
    try:
        with PendingOutput(out) as pending, open(pending.path, "wb") as f:
            f.write(write_file_header(source.fps))
            try:
                for frame in _frames(source, _frame_limit(args, source), f"encoding {out.name}"):
                    packet = encoder.encode(frame).data
                    f.write(packet)
                    frames += 1
                    total += len(packet)
            except KeyboardInterrupt:
                if frames == 0:
                    raise               # nothing encoded: the pending file goes, out stays
                interrupted = True      # keep the frames encoded so far, as a whole stream
            if frames == 0:
                raise UsageError(f"{args.source} gave no frames; {out} was not written")
    except OSError as exc:
        raise UsageError(f"cannot write {out}: {exc.strerror or exc}") from None
    finally:
        source.close()
    w, h = source.size
    print(f"{out}: {frames} frames {w}x{h}, {total} bytes, "
          f"{bits_per_pixel(total, frames, w, h):.3f} bpp, {kbps(total, frames, source.fps):.1f} kbps",
          file=sys.stderr)
    return _interrupted(frames, f"{out} holds them") if interrupted else EXIT_OK


def cmd_decode(args: argparse.Namespace) -> int:
    try:
        check_fourcc(args.fourcc)
    except RecorderError as exc:
        raise UsageError(str(exc)) from None
    threads = _threads(args)
    reader = _read_stream(args.input)
    out = _check_output(args.output, [args.input], suffixes=VIDEO_SUFFIXES)
    problems: list[str] = []
    recorder: Recorder | None = None
    written = concealed = 0
    size_change: str | None = None
    interrupted = False
    bar = tqdm(desc=f"decoding {Path(args.input).name}", unit="frame", disable=None, leave=False)
    try:
        for item in recover_frames(reader, problems, threads=threads):
            STOP.check()
            size = (item.image.shape[1], item.image.shape[0])
            if recorder is None:
                try:
                    recorder = Recorder(out, reader.header.fps, fourcc=args.fourcc, size=size)
                except RecorderError as exc:
                    raise UsageError(str(exc)) from None
            elif size != recorder.size:
                size_change = (f"the frame size changes from {recorder.size[0]}x{recorder.size[1]} "
                               f"to {size[0]}x{size[1]} at frame {item.frame_index} (segment "
                               f"{item.segment + 1}): decoding stopped after {written} frames "
                               f"(one video file holds one size)")
                break
            recorder.write(item.image)
            written += 1
            bar.update()
            if item.problem is not None:
                concealed += 1
                problems.append(f"frame {item.frame_index} concealed: {item.problem}")
    except KeyboardInterrupt:
        interrupted = True              # keep what was decoded, as a whole file
    except RecorderError as exc:        # e.g. the disk filled up
        recorder.abort()                # a failed run leaves an existing output as it was
        print(f"livecodec: error: {exc}", file=sys.stderr)
        return EXIT_FAILURE
    except BaseException:
        if recorder is not None:
            recorder.abort()
        raise
    finally:
        bar.close()
    if recorder is not None:
        try:
            recorder.close()            # renames the finished file into place
        except RecorderError as exc:
            print(f"livecodec: error: {exc}", file=sys.stderr)
            return EXIT_FAILURE
    for line in problems:
        print(f"livecodec: {line}", file=sys.stderr)
    if recorder is not None and recorder.fell_back:
        print(f"livecodec: {args.fourcc} is not available here; wrote MJPG instead", file=sys.stderr)
    if recorder is not None and recorder.size_note:
        print(f"livecodec: note: {recorder.size_note} (video files take even sizes)", file=sys.stderr)
    print(f"{out}: {written} frames ({concealed} concealed)", file=sys.stderr)
    if interrupted:
        return _interrupted(written, f"{out} holds them" if written else f"{out} was not written")
    if written == 0:
        print(f"livecodec: error: {args.input} holds no decodable frame", file=sys.stderr)
        return EXIT_FAILURE
    if size_change:
        print(f"livecodec: error: {size_change}", file=sys.stderr)
        return EXIT_FAILURE
    return EXIT_FAILURE if problems else EXIT_OK


def _write_yuview_stats(reader: PacketReader, out: Path, name: str) -> None:
    """--yuview-stats: decodes the whole stream, so it shows a progress bar and stops on Ctrl+C
    (keeping no partial file)."""
    bar = tqdm(desc=f"statistics of {name}", unit="frame", disable=None, leave=False)

    def frame_done() -> None:
        STOP.check()
        bar.update()

    try:
        with PendingOutput(out) as pending, open(pending.path, "w", encoding="utf-8") as f:
            summary = write_yuview_stats(reader, f, name=name, on_frame=frame_done)
    except OSError as exc:
        raise UsageError(f"cannot write {out}: {exc.strerror or exc}") from None
    finally:
        bar.close()
    print(f"{out}: YUView statistics of {summary.frames} frames ({summary.concealed} concealed)",
          file=sys.stderr)


def cmd_info(args: argparse.Namespace) -> int:
    reader = _read_stream(args.input)
    stats_out = (_check_output(args.yuview_stats, [args.input], suffixes=(".csv",))
                 if args.yuview_stats else None)
    info = read_stream_info(reader)
    fps = reader.header.fps
    print(f"file:        {args.input}")
    print(f"format:      livecodec stream version {reader.header.version}, {fps:g} fps")
    if info.segments > 1:
        print(f"segments:    {info.segments} streams joined one after another")
    if info.frame_sizes:
        print(f"frame size:  {', '.join(f'{w}x{h}' for w, h in info.frame_sizes)}")
    print(f"frames:      {info.total_frames} ({info.frames[FRAME_REFRESH]} refresh, "
          f"{info.frames[FRAME_PREDICTED]} predicted)")
    for kind, n in info.frames.items():
        if n:
            print(f"{kind + ':':<13}{info.bytes[kind]} bytes, {info.bytes[kind] / n:.0f} bytes/frame")
    if info.total_frames and info.frame_sizes:
        w, h = info.frame_sizes[0]
        print(f"bitrate:     {kbps(info.total_bytes, info.total_frames, fps):.1f} kbps"
              + (f", {bits_per_pixel(info.total_bytes, info.total_frames, w, h):.3f} bpp"
                 if len(info.frame_sizes) == 1 else ""))
    damaged = info.damaged + info.bad_headers
    if damaged:
        print(f"damaged:     {damaged} stretch(es) of bad bytes")
    if stats_out is not None:
        _write_yuview_stats(reader, stats_out, Path(args.input).name)
    return EXIT_FAILURE if damaged else EXIT_OK


def cmd_eval(args: argparse.Namespace) -> int:
    """Encode, decode and measure frame by frame: memory does not grow with the clip."""
    params, threads = _params(args), _threads(args)
    _check_frames_option(args)
    source = _open(args.source, _capture(args))
    encoder = Encoder(params, fps=source.fps, threads=threads)
    decoder = Decoder(threads=threads)
    n = total = 0
    enc_times: list[float] = []
    dec_times: list[float] = []
    psnrs: list[float] = []
    similarities: list[float] = []
    interrupted = False
    try:
        for frame in _frames(source, _frame_limit(args, source), "evaluating"):
            t0 = time.perf_counter()
            packet = encoder.encode(frame).data
            t1 = time.perf_counter()
            image = decoder.decode(packet)
            dec_times.append(time.perf_counter() - t1)
            enc_times.append(t1 - t0)
            psnrs.append(psnr(frame, image))
            if min(frame.shape[:2]) >= SSIM_MIN_SIDE:
                similarities.append(ssim(frame, image))
            n += 1
            total += len(packet)
    except KeyboardInterrupt:
        if n == 0:
            raise
        interrupted = True
    finally:
        source.close()
    if n == 0:
        raise UsageError(f"{args.source} gave no frames")
    w, h = source.size
    result = {
        "source": args.source, "frames": n, "width": w, "height": h, "fps": source.fps,
        "bytes": total, "bpp": bits_per_pixel(total, n, w, h), "kbps": kbps(total, n, source.fps),
        "psnr_mean": float(np.mean(psnrs)), "psnr_min": float(np.min(psnrs)),
        # None for pictures smaller than SSIM's window
        "ssim_mean": float(np.mean(similarities)) if similarities else None,
        "ssim_min": float(np.min(similarities)) if similarities else None,
        "encode_fps": 1.0 / float(np.median(enc_times)), "decode_fps": 1.0 / float(np.median(dec_times)),
        "params": {"block_size": params.block_size, "n_clusters": params.n_clusters,
                   "refresh_interval": params.refresh_interval, "quality": params.quality,
                   "search_range": params.search_range, "target_kbps": params.target_kbps,
                   "preset": params.preset, "deblock": params.deblock, "intra": params.intra,
                   "qpel": params.qpel, "split": params.split, "rdoq": params.rdoq,
                   "tskip": params.tskip},
        # What the stream used: the parameters less what the preset leaves out (fast).
        "tools": dataclasses.asdict(tools_in_effect(params)),
    }
    if args.json:
        print(json.dumps(result))
    else:
        print(f"{n} frames {w}x{h}: {result['bpp']:.3f} bpp, {result['kbps']:.1f} kbps, "
              f"PSNR {result['psnr_mean']:.2f} dB (min {result['psnr_min']:.2f}), "
              + (f"SSIM {result['ssim_mean']:.4f}; " if similarities else "no SSIM (too small); ") +
              f"encode {result['encode_fps']:.0f} fps, decode {result['decode_fps']:.0f} fps (medians)")
    return _interrupted(n, "the figures cover those") if interrupted else EXIT_OK


def cmd_quantize(args: argparse.Namespace) -> int:
    if not 2 <= args.clusters <= 256:
        raise UsageError(f"--clusters must be in 2..256, got {args.clusters}")
    if not Path(args.image).is_file():
        raise UsageError(f"no such file: {args.image}")
    out = _check_output(args.output, [args.image], suffixes=(".png",))
    image = cv2.imread(args.image, cv2.IMREAD_COLOR)   # grey becomes 3 channels, alpha is dropped
    if image is None:
        raise UsageError(f"not a readable image: {args.image}")
    result = quantize_image(image, args.clusters)
    STOP.check()
    try:
        with PendingOutput(out) as pending:
            result.save_png(pending.path)
    except OSError as exc:
        raise UsageError(f"cannot write {out}: {exc.strerror or exc}") from None
    h, w = image.shape[:2]
    size = out.stat().st_size
    colours = len(result.palette)
    print(f"{out}: indexed PNG, {colours} colour{'s' if colours > 1 else ''}, {size} bytes = "
          f"{8 * size / (w * h):.3f} bits/pixel (label map: {result.index_bits} bits/pixel raw, "
          f"{result.entropy:.3f} bits/pixel entropy); PSNR {psnr(image, result.picture()):.2f} dB")
    return EXIT_OK


def cmd_send(args: argparse.Namespace) -> int:
    from .link_commands import cmd_send as send     # app/link_commands.py
    return send(args)


def cmd_receive(args: argparse.Namespace) -> int:
    from .link_commands import cmd_receive as receive
    return receive(args)


def cmd_compare(args: argparse.Namespace) -> int:
    from .compare_command import cmd_compare as compare     # app/compare_command.py
    return compare(args)


COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {
    "gui": cmd_gui, "encode": cmd_encode, "decode": cmd_decode, "info": cmd_info,
    "eval": cmd_eval, "quantize": cmd_quantize, "send": cmd_send, "receive": cmd_receive,
    "compare": cmd_compare,
}


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the exit status (0 fine, 1 failure, 2 bad usage or input)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    os.environ.setdefault(*FFMPEG_LOG_LEVEL_ENV)     # a value the user set still wins
    parser = build_parser()
    try:
        args = parser.parse_args(argv or ["gui"])
        if args.command is None:
            args = parser.parse_args(["gui", *argv])
        if args.command == "gui":       # the window handles stop signals itself
            return COMMANDS[args.command](args)
        STOP.clear()
        with on_stop_signals(STOP):
            return COMMANDS[args.command](args)
    except BrokenPipeError:             # e.g. `livecodec info x.lvc | head`: the reader left
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_FAILURE
    except UsageError as exc:
        print(f"livecodec: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("livecodec: interrupted", file=sys.stderr)
        return EXIT_FAILURE
    except Exception as exc:  # a last line of defence: one line, never a traceback
        if os.environ.get("LIVECODEC_DEBUG"):
            raise
        print(f"livecodec: error: {type(exc).__name__}: {exc} (set LIVECODEC_DEBUG=1 for details)",
              file=sys.stderr)
        return EXIT_FAILURE
