"""The pipeline without a window: a one-line live readout on stderr, statistics JSON on stdout."""
from __future__ import annotations

import json
import logging
import sys
import time
from contextlib import contextmanager
from typing import Callable, Iterator, TextIO

from livecodec.app.link import LinkError, LinkSender, parse_endpoint
from livecodec.app.pipeline import USER_MESSAGE, Pipeline, SourceSpec
from livecodec.app.recorder import DEFAULT_FOURCC, Recorder, RecorderError
from livecodec.app.sources import Capture
from livecodec.app.stopsignals import on_stop_signals, raise_interrupt
from livecodec.app.streamsave import StreamSaveError, saved_path_note
from livecodec.codec import CodecParams

__all__ = ["run_headless", "readout_line", "recording_outcome"]

#: Readout period on a terminal (rewritten in place) and into a pipe or log (one line each).
READOUT_TTY_S = 0.5
READOUT_PIPE_S = 2.0


def readout_line(stats: dict) -> str:
    """fps, bitrate, PSNR, latency, drops and the preset in use in one line."""
    return (f"{stats['fps']:5.1f} fps  {stats['kbps']:8.0f} kbps  PSNR {stats['psnr']:5.2f} dB  "
            f"latency {stats['latency_ms']:4.0f} ms  dropped {stats['frames_dropped']}  "
            f"preset {stats['preset']}{' (auto)' if stats['auto_preset'] else ''}")


def recording_outcome(path: str, recorder: Recorder | None) -> list[str]:
    """Lines for the end of a run asked to record to path: a note on the file's size, or that
    nothing was recorded (no frame came), so no file was written."""
    if recorder is None or not recorder.frames_written:
        return [f"nothing was recorded (no frame arrived), so {path} was not written"]
    return [recorder.size_note] if recorder.size_note else []


def run_headless(source: SourceSpec, params: CodecParams, *, record: str | None = None,
                 fourcc: str = DEFAULT_FOURCC, quit_after: float | None = None,
                 out: TextIO | None = None, err: TextIO | None = None,
                 capture: Capture = Capture(), threads: int | None = None,
                 auto_preset: bool = False, save: str | None = None,
                 send: str | None = None) -> int:
    """Run until Ctrl+C, quit_after seconds, or a source that cannot go on; print the stats JSON.
    ``save``: write the compressed stream to this ``.lvc`` file as it is produced; ``send``:
    send it over the live link to "HOST:PORT" (checked by the caller).

    Returns 0, or 1 when the source failed for good before a single frame went through.
    """
    out, err = out or sys.stdout, err or sys.stderr

    def report(level: str, text: str) -> None:
        err.write(f"\r\033[K{text}\n" if err.isatty() else f"{text}\n")
        err.flush()

    pipeline = Pipeline(source, params, loop=True, on_message=report, capture=capture,
                        threads=threads, auto_preset=auto_preset)
    recording: list[Recorder] = []
    saver = None
    if save:
        try:
            saver = pipeline.start_saving(save)
        except StreamSaveError as exc:
            report("error", str(exc))
    sender = None
    if send:
        try:
            sender = LinkSender(parse_endpoint(send), key=capture.link_key,
                                on_refresh_request=pipeline.request_refresh)
            pipeline.set_sender(sender)
        except LinkError as exc:
            report("error", f"not sending: {exc}")
    pipeline.start()
    try:
        with on_stop_signals(raise_interrupt), _messages_printed_once():
            _watch(pipeline, quit_after, record, fourcc, report, err, recording)
    except KeyboardInterrupt:
        pass
    finally:
        stats, gave_up = pipeline.stats(), not pipeline.source_active
        pipeline.stop()
        if sender is not None:
            sender.close()
        if err.isatty():
            err.write("\n")
    if record:
        for line in recording_outcome(record, recording[0] if recording else None):
            report("info", line)
    if saver is not None:
        report("info", saved_path_note(saver))
    out.write(json.dumps(stats) + "\n")
    out.flush()
    return 1 if gave_up and not stats["frames_shown"] else 0


@contextmanager
def _messages_printed_once() -> Iterator[None]:
    """The readout prints the pipeline's messages itself: their log records, which Python
    would print as well (warnings and errors reach stderr when logging is not configured), are
    left out meanwhile. Other records, such as a failed stage's traceback, still go through."""
    logger = logging.getLogger(Pipeline.__module__)
    logger.addFilter(_not_a_user_message)
    try:
        yield
    finally:
        logger.removeFilter(_not_a_user_message)


def _not_a_user_message(record: logging.LogRecord) -> bool:
    return not getattr(record, USER_MESSAGE, False)


def _watch(pipeline: Pipeline, quit_after: float | None, record: str | None, fourcc: str,
           report: Callable[[str, str], None], err: TextIO, recorders: list[Recorder]) -> None:
    """Readout loop: until quit_after seconds pass or the source gives up for good; the
    recording it starts goes into recorders."""
    deadline = None if quit_after is None else time.monotonic() + quit_after
    recording = record is None
    period = READOUT_TTY_S if err.isatty() else READOUT_PIPE_S
    last_line = time.monotonic()
    while pipeline.running and (deadline is None or time.monotonic() < deadline):
        time.sleep(0.1)
        if not pipeline.source_active:  # the source ended or failed for good
            return
        if not recording and pipeline.stats()["frames_shown"]:
            recording = True  # once the stream's size and rate are known
            try:
                recorders.append(pipeline.start_recording(record, fourcc))
            except RecorderError as exc:
                report("error", str(exc))
        if time.monotonic() - last_line >= period:
            last_line = time.monotonic()
            line = readout_line(pipeline.stats())
            err.write(f"\r\033[K{line}" if err.isatty() else f"{line}\n")
            err.flush()
