"""``livecodec send`` and ``livecodec receive``: the codec's packets live over the network
(RTP over UDP, app/link and docs/LINK.md)."""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Callable

import numpy as np
from tqdm import tqdm

from livecodec.codec import FRAME_REFRESH, CodecParams, ConcealingDecoder, Encoder, kbps

from .cli import (EXIT_FAILURE, EXIT_OK, STOP, VIDEO_SUFFIXES, UsageError, _add_capture_options,
                  _add_codec_options, _add_threads_option, _capture, _check_frames_option,
                  _check_output, _frames, _link_key, _open, _params, _threads)
from .link import (FrameTooLargeError, LinkError, LinkReceiver, LinkSender, ReceivedFrame,
                   parse_endpoint)
from .headless import recording_outcome
from .link.endpoints import resolve
from .outputs import OutputError
from .recorder import DEFAULT_FOURCC, Recorder, RecorderError, check_fourcc, letterbox
from .sources import RECEIVE_PREFIX, Capture
from .streamsave import StreamSaveError, StreamSaver, check_stream_path, saved_path_note

__all__ = ["add_link_commands", "cmd_send", "cmd_receive", "decode_received"]

#: The receiver stops when media stops this long after the stream began.
SILENCE_S = 5.0
#: Frames received before the output files open, so their frame rate is the stream's.
RATE_FRAMES = 5
#: Common frame rates a measured one is snapped to when it is this close (relative).
COMMON_RATES = (15.0, 24000 / 1001, 24.0, 25.0, 30000 / 1001, 30.0, 50.0, 60000 / 1001, 60.0)
RATE_SNAP = 0.01
POLL_S = 0.05


def add_link_commands(sub: argparse._SubParsersAction) -> None:
    """The send and receive parsers."""
    send = sub.add_parser("send", help="encode a source and send it live (RTP over UDP)")
    send.add_argument("source", metavar="SRC", help="video file, camera:N, demo, or a stream URL")
    send.add_argument("--to", required=True, metavar="HOST:PORT", help="the receiver")
    _add_codec_options(send)
    _add_capture_options(send)
    _add_threads_option(send)
    send.add_argument("--frames", type=int, metavar="N", help="stop after N frames")
    send.add_argument("--save", metavar="OUT.lvc", help="also save the packets sent")
    send.add_argument("--key", metavar="FILE", help="shared secret (16+ bytes): tag every datagram")
    send.add_argument("--port", type=int, default=0, metavar="LOCAL",
                      help="local UDP port to send from and read feedback on (default: any)")

    receive = sub.add_parser("receive", help="receive a live stream from `livecodec send` (in "
                                             "the window when there is a display and no -o, "
                                             "--json or --from)")
    receive.add_argument("--listen", required=True, metavar="[HOST:]PORT",
                         help="UDP port (and address) to listen on")
    receive.add_argument("-o", "--output", metavar="OUT.avi",
                         help="write every frame slot (lost ones concealed) to this video")
    receive.add_argument("--fourcc", default=DEFAULT_FOURCC, help="video codec (default %(default)s)")
    receive.add_argument("--save", metavar="OUT.lvc", help="also save the packets received")
    receive.add_argument("--quit-after", type=float, metavar="S", help="stop after S seconds")
    receive.add_argument("--json", action="store_true", help="print one JSON line of statistics")
    receive.add_argument("--key", metavar="FILE", help="shared secret: drop untagged datagrams")
    receive.add_argument("--from", dest="sender_host", metavar="HOST",
                         help="take media only from this host")
    _add_threads_option(receive, note="; one fewer when it opens the window")


def _save_path(path: str | None, inputs: list[str]) -> Path | None:
    if path is None:
        return None
    _check_output(path, inputs)
    try:
        return check_stream_path(path)
    except OutputError as exc:
        raise UsageError(str(exc)) from None


# -- send ------------------------------------------------------------------------------------
def cmd_send(args: argparse.Namespace) -> int:
    """Encode and send in real time (files and the demo scene paced at their frame rate);
    Ctrl+C ends the stream like --frames does: BYE, exit 0. A frame too large for the link is
    skipped (said once, counted at the end) and a refresh asked for; --save still keeps it."""
    params, threads = _params(args), _threads(args)
    _check_frames_option(args)
    key = _link_key(args.key)
    if not 0 <= args.port <= 65535:
        raise UsageError(f"--port must be in 0..65535, got {args.port}")
    save = _save_path(args.save, [args.source])
    try:
        to = parse_endpoint(args.to)
        resolve(*to)                    # before the source opens or a file is begun
    except LinkError as exc:
        raise UsageError(f"--to: {exc}") from None
    source = _open(args.source, _capture(args))
    encoder = Encoder(params, fps=source.fps, threads=threads)
    try:
        saver = StreamSaver(save, source.fps) if save else None
    except StreamSaveError as exc:
        source.close()
        raise UsageError(str(exc)) from None
    try:
        sender = LinkSender(to, key=key, local_port=args.port,
                            on_refresh_request=encoder.request_refresh)
    except LinkError as exc:
        source.close()
        if saver is not None:
            saver.close()               # nothing written: no file
        raise UsageError(str(exc)) from None
    frames = refreshes = sent_bytes = too_large = 0
    save_failed = False
    started = time.monotonic()
    try:
        previous = None
        for frame in _frames(source, args.frames, f"sending to {args.to}"):
            if not source.is_live:                  # a file or the demo: in real time
                time.sleep(max(0.0, started + frames / source.fps - time.monotonic()))
            captured = time.time()
            coded = encoder.encode(frame, duration=None if previous is None or not source.is_live
                                   else captured - previous)
            previous = captured
            refresh = coded.frame_type == FRAME_REFRESH
            try:
                sender.send_frame(coded.data, capture_time=captured, refresh=refresh)
            except FrameTooLargeError as exc:
                if not too_large:
                    print(f"livecodec: warning: frame {frames} not sent: {exc}; lower --quality "
                          f"or --size", file=sys.stderr)
                too_large += 1
                encoder.request_refresh()       # the receiver's next frame has no reference
            if saver is not None:
                saver.write(coded.data)
            frames += 1
            refreshes += refresh
            sent_bytes += len(coded.data)
    except KeyboardInterrupt:
        pass                                        # the receiver still gets its BYE
    except StreamSaveError as exc:        # the stream was sent until then; say so, exit 1
        print(f"livecodec: error: {exc}", file=sys.stderr)
        save_failed = True
    finally:
        source.close()
        sender.close()
        if saver is not None:
            saver.close()
            print(f"livecodec: {saved_path_note(saver)}", file=sys.stderr)
    if save_failed:
        return EXIT_FAILURE
    if frames == 0:
        raise UsageError(f"{args.source} gave no frames")
    stats = sender.stats()
    w, h = source.size
    print(f"sent {frames} frames {w}x{h} to {to[0]}:{to[1]} from port {sender.local_port}: "
          f"{kbps(sent_bytes, frames, source.fps):.1f} kbps of codec packets; {refreshes} refresh "
          f"frames ({stats['refresh_requests']} requested), {stats['retransmissions']} packets "
          f"sent again for {stats['nacks_received']} NACKs"
          + (f"; {too_large} frames too large for the link not sent" if too_large else ""),
          file=sys.stderr)
    return EXIT_OK


# -- receive ---------------------------------------------------------------------------------
def nominal_fps(measured: float) -> float:
    """A measured frame rate, snapped to a common one when it is within RATE_SNAP of it."""
    nearest = min(COMMON_RATES, key=lambda rate: abs(rate - measured))
    return nearest if abs(nearest - measured) <= RATE_SNAP * nearest else round(measured, 2)


class _Outputs:
    """One picture per frame slot into the video file (the previous picture where a frame
    was lost, black before the first), and the packets into the saved stream. The rate is
    taken once RATE_FRAMES slots have passed (the stream's by then); each file opens then, or
    later at its first picture or packet (a receiver that joined mid-stream may wait for a
    refresh), so no slot is missed."""

    def __init__(self, video: Path | None, fourcc: str, save: Path | None,
                 rate: Callable[[], float]) -> None:
        self.video_path, self.fourcc, self.save_path, self._rate = video, fourcc, save, rate
        self.recorder: Recorder | None = None
        self.saver: StreamSaver | None = None
        self.last: np.ndarray | None = None
        self.written = 0
        self._owed = 0                      # slots before the first picture
        self._pictures: list[np.ndarray] = []
        self._packets: list[bytes] = []
        self._fps: float | None = None      # chosen once RATE_FRAMES slots have passed

    def add(self, picture: np.ndarray | None, packet: bytes | None) -> None:
        if packet is not None:
            self._packets.append(packet)
        if picture is None and self.last is None:
            self._owed += 1
        else:
            self.last = picture if picture is not None else self.last
            self._pictures.append(self.last)
        if self._fps is not None or len(self._pictures) + self._owed >= RATE_FRAMES:
            self.flush()

    def flush(self) -> None:
        """Open each output at its first content, and write what waits."""
        if self._fps is None:
            if not (self._packets or self._pictures):
                return
            self._fps = nominal_fps(self._rate())
        if self.saver is None and self.save_path is not None and self._packets:
            self.saver = StreamSaver(self.save_path, self._fps)
        if self.recorder is None and self.video_path is not None and self._pictures:
            h, w = self._pictures[0].shape[:2]
            self.recorder = Recorder(self.video_path, self._fps, fourcc=self.fourcc, size=(w, h))
        if self.recorder is not None and self._pictures:
            first = self._pictures[0]
            for picture in [np.zeros_like(first)] * self._owed + self._pictures:
                self.recorder.write(letterbox(picture, self.recorder.size))
                self.written += 1
            self._owed = 0
        if self.saver is not None:
            for packet in self._packets:
                self.saver.write(packet)
        self._pictures.clear()
        self._packets.clear()

    def close(self) -> list[str]:
        """Finish both files; lines to tell the user about them."""
        notes = []
        if self.recorder is not None:
            self.recorder.close()
            if self.recorder.fell_back:
                notes.append(f"{self.fourcc} is not available here; wrote MJPG instead")
        if self.video_path is not None:
            notes += recording_outcome(str(self.video_path), self.recorder)
        if self.saver is not None:
            self.saver.close()
        return notes

    def abort(self) -> None:
        if self.recorder is not None:
            self.recorder.abort()
        if self.saver is not None:
            self.saver.close()


def cmd_receive(args: argparse.Namespace) -> int:
    """Receive until the sender's BYE, --quit-after, SILENCE_S without media, or Ctrl+C (all
    normal ends: exit 0); exit 1 when no stream arrived. A sender that went silent without BYE
    gives way after SENDER_TIMEOUT_S to the next (a restarted send), in the same files. With a
    display and nothing to write (no -o, --json or --from), the stream is shown in the live
    window instead."""
    if not (args.output or args.json or args.sender_host):
        from .gui import display_problem, run_gui
        if display_problem() is None:
            return run_gui(source=f"{RECEIVE_PREFIX}{args.listen}", params=CodecParams(),
                           capture=Capture(link_key=_link_key(args.key)),
                           threads=_threads(args), save=args.save, quit_after=args.quit_after)
    threads = _threads(args)
    try:
        check_fourcc(args.fourcc)
    except RecorderError as exc:
        raise UsageError(str(exc)) from None
    if args.quit_after is not None and not args.quit_after > 0:
        raise UsageError(f"--quit-after must be positive, got {args.quit_after}")
    key = _link_key(args.key)
    video = _check_output(args.output, [], suffixes=VIDEO_SUFFIXES) if args.output else None
    save = _save_path(args.save, [args.output] if args.output else [])
    try:
        listen = parse_endpoint(args.listen, default_host="0.0.0.0")
        receiver = LinkReceiver(listen, key=key, sender_host=args.sender_host)
    except LinkError as exc:
        raise UsageError(str(exc)) from None
    if receiver.buffer_warning:
        print(f"livecodec: warning: {receiver.buffer_warning}", file=sys.stderr)
    outputs = _Outputs(video, args.fourcc, save, lambda: receiver.fps)
    decoder = ConcealingDecoder(threads=threads)
    latencies: list[float] = []
    concealed = 0
    end: str | None = None
    deadline = None if args.quit_after is None else time.monotonic() + args.quit_after
    bar = tqdm(desc=f"receiving on port {receiver.port}", unit="frame", disable=None, leave=False)

    def take(items: list[ReceivedFrame]) -> None:
        nonlocal concealed
        for item in items:
            picture = decode_received(decoder, item, latencies)
            if picture is None:
                concealed += 1
                receiver.request_refresh()
            outputs.add(picture, item.data)
            bar.update()

    try:
        try:
            while not receiver.ended:
                STOP.check()
                if deadline is not None and time.monotonic() >= deadline:
                    end = f"stopped after {args.quit_after:g} s"
                    break
                idle = receiver.idle_seconds()
                if idle is not None and idle >= SILENCE_S:
                    end = f"no media for {SILENCE_S:g} s"
                    break
                take(receiver.poll(POLL_S))
            if end is None:
                end = "the sender said BYE"
            else:
                take(receiver.poll(0.0))    # what was handed out since the last poll
        except KeyboardInterrupt:
            end = "interrupted"
        outputs.flush()
    except (RecorderError, StreamSaveError) as exc:
        outputs.abort()
        print(f"livecodec: error: {exc}", file=sys.stderr)
        return EXIT_FAILURE
    except BaseException:
        outputs.abort()
        raise
    finally:
        bar.close()
        receiver.close()
    try:
        notes = outputs.close()
    except RecorderError as exc:
        print(f"livecodec: error: {exc}", file=sys.stderr)
        return EXIT_FAILURE
    stats = receiver.stats()
    stats.update(frames_written=outputs.written, frames_concealed=concealed,
                 latency_ms=1000 * statistics.median(latencies) if latencies else None, end=end)
    for line in notes:
        print(f"livecodec: {line}", file=sys.stderr)
    if args.json:
        print(json.dumps(stats))
    else:
        latency = "-" if stats["latency_ms"] is None else f"{stats['latency_ms']:.0f} ms"
        print(f"received {stats['frames_received']} frames from {stats['sender'] or 'nobody'} "
              f"({concealed} concealed, {stats['packets_lost']} packets lost, "
              f"{stats['refresh_requests']} refresh requests), {stats['kbps']:.1f} kbps, "
              f"latency {latency}; {end}", file=sys.stderr)
    if not receiver.started:
        print(f"livecodec: error: no stream arrived on port {receiver.port}", file=sys.stderr)
        return EXIT_FAILURE
    return EXIT_OK


def decode_received(decoder: ConcealingDecoder, item: ReceivedFrame,
                    latencies: list[float]) -> np.ndarray | None:
    """The frame's picture, or None when it was lost or could not be decoded. Frames the
    decoder conceals for a gap were already given up here, one slot each: only its own
    frame (the last one it returns) is this slot's."""
    if item.data is None:
        return None
    frames = decoder.feed(item.data)
    decoder.problems.clear()
    if not frames or frames[-1].problem is not None:
        return None
    if item.capture_time is not None:
        latencies.append(time.time() - item.capture_time)
    return frames[-1].image
