"""Coded sources: packets that are already compressed, played through the pipeline's decoder.

A ``.lvc`` file (and, the same way, a stream arriving over the network) skips the encoder: its
packets go straight to the concealing decoder, paced at the stream's frame rate, and the views
show what the stream itself says (frame types, block modes, vectors, bits per frame). A
reference video, when given, is read alongside for PSNR and the error view.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from livecodec.codec import (MAX_CONCEALED_RUN, BitstreamError, FileHeader, PacketReader,
                             index_gap, read_stream_info)

from .sources import RECEIVE_PREFIX, FrameSource, SourceError, open_source

__all__ = ["CodedFrame", "StreamFileSource", "ReceivedStreamSource", "parse_receive_spec",
           "read_stream_file"]

@dataclass(frozen=True)
class CodedFrame:
    """What a coded source delivers per frame: the items to feed a ``ConcealingDecoder``
    (damage reports and segment headers first, then one packet), the packet's size, the
    reference picture when one is known, and the capture time when the sender said it."""

    items: tuple = field(repr=False)
    nbytes: int
    reference: np.ndarray | None = None
    capture_time: float | None = None     #: sender's wall-clock capture time (time.time())
    #: asks the stream's origin for a refresh frame when the decoder conceals (rate-limited)
    ask_refresh: Callable[[], object] | None = field(default=None, repr=False)
    refresh: bool = False       #: the packet is a refresh frame (as the link says)


class StreamFileSource:
    """Plays a ``.lvc`` file packet by packet at its frame rate (``coded``: no encoding).

    ``reference``: the video the stream was coded from (a file, or "demo"), opened at the
    stream's frame size (again at every loop) and read frame for frame beside the packets,
    skipping as many frames as the stream lost.
    """

    is_live = False
    coded = True

    def __init__(self, path: str | os.PathLike[str], *, loop: bool = False,
                 reference: str | None = None) -> None:
        self.path = os.fspath(path)
        self.name = os.path.basename(self.path)
        reader = read_stream_file(self.path)
        items = list(reader)
        info = read_stream_info(items)
        if not info.frame_sizes:
            raise SourceError(f"{self.name}: no intact refresh frame, nothing to play")
        # What follows the last whole packet (a half-written one, as a crash leaves) is dropped.
        last = max(i for i, item in enumerate(items) if not _is_marker(item))
        self._items = items[:last + 1]
        self.fps = reader.header.fps
        self.size = info.frame_sizes[0]
        self._loop = loop
        self.reference = reference
        self._reference_video: FrameSource | None = None
        self._position = 0
        self._last_index: int | None = None
        self._closed = False
        self._start_reference()

    def read(self) -> CodedFrame | None:
        """The next packet (with what precedes it); None at the end, or after close()."""
        if self._closed:
            return None
        if self._position >= len(self._items):
            if not self._loop:
                return None
            self._position, self._last_index = 0, None
            self._start_reference()
        pending = []
        while True:     # the items end with a packet
            item = self._items[self._position]
            self._position += 1
            pending.append(item)
            if isinstance(item, FileHeader):    # a joined segment plays at its own rate
                self.fps = item.fps
            if not _is_marker(item):
                return CodedFrame(tuple(pending), item.size, self._reference_for(item.frame_index))

    def close(self) -> None:
        self._closed = True
        if self._reference_video is not None:
            self._reference_video.close()
            self._reference_video = None

    def _start_reference(self) -> None:
        if self.reference is None:
            return
        if self._reference_video is not None:
            self._reference_video.close()
        width, height = self.size
        self._reference_video = open_source(self.reference, width=width, height=height)

    def _reference_for(self, frame_index: int) -> np.ndarray | None:
        """The reference frame of this packet: one per frame slot, lost slots skipped."""
        if self._reference_video is None:
            return None
        gap = 1
        if self._last_index is not None:
            gap = index_gap(frame_index, self._last_index)
            gap = gap if 1 <= gap <= MAX_CONCEALED_RUN else 1
        self._last_index = frame_index
        frame = None
        for _ in range(gap):
            frame = self._reference_video.read()
            if frame is None:
                break
        return frame


def read_stream_file(path: str) -> PacketReader:
    """The packets of a ``.lvc`` file; SourceError naming the file and what is wrong."""
    try:
        with open(path, "rb") as f:
            return PacketReader(f)
    except FileNotFoundError:
        raise SourceError(f"no such file: {path}") from None
    except IsADirectoryError:
        raise SourceError(f"{path} is a folder, not a .lvc stream") from None
    except PermissionError:
        raise SourceError(f"cannot read {path}: permission denied") from None
    except OSError as exc:
        raise SourceError(f"cannot read {path}: {exc.strerror or exc}") from None
    except BitstreamError as exc:
        raise SourceError(f"{path}: {exc}") from None


def _is_marker(item: object) -> bool:
    """A damage report or a segment header among a stream's items (not a packet)."""
    return isinstance(item, (BitstreamError, FileHeader))


class ReceivedStreamSource:
    """A stream arriving over the live link (``LinkReceiver``), frame by frame as it comes.

    ``arrives``: the capture loop takes its frames when they are ready instead of pacing them;
    a frame the link gave up reaches the decoder as a gap in the frame numbers, which it
    conceals, and the receiver asks the sender for a refresh.
    """

    is_live = False
    coded = True
    arrives = True
    end_message = "the sender ended the stream"

    def __init__(self, listen: tuple[str, int], *, key: bytes | None = None) -> None:
        from .link import LinkError, LinkReceiver      # sockets only for this source

        try:
            self._receiver = LinkReceiver(listen, key=key)
        except LinkError as exc:
            raise SourceError(str(exc)) from None
        self.name = f"link on UDP port {self._receiver.port}"
        self.fps = self._receiver.fps
        self.size = (0, 0)          # unknown until the first refresh frame is decoded

    @property
    def port(self) -> int:
        return self._receiver.port

    def take(self, timeout: float) -> list[CodedFrame] | None:
        """The frames ready now (waiting up to timeout for the first); None once the sender
        said goodbye and everything before it was handed out."""
        if self._receiver.ended:
            return None
        frames = []
        for frame in self._receiver.poll(timeout):
            items = (frame.data,) if frame.data is not None else ()
            frames.append(CodedFrame(items, len(frame.data or b""), None, frame.capture_time,
                                     self.request_refresh, frame.refresh))
        self.fps = self._receiver.fps
        return frames

    def request_refresh(self) -> bool:
        """Ask the sender for a refresh frame (rate-limited); True when the request went out."""
        return self._receiver.request_refresh()

    def link_stats(self) -> dict:
        return self._receiver.stats()

    def close(self) -> None:
        self._receiver.close()


def parse_receive_spec(spec: str) -> tuple[str, int]:
    """(host, port) to listen on from "receive:[HOST:]PORT"; SourceError when malformed."""
    from .link import LinkError, parse_endpoint

    try:
        return parse_endpoint(spec.strip()[len(RECEIVE_PREFIX):], default_host="0.0.0.0")
    except LinkError as exc:
        raise SourceError(f"bad source {spec!r}: {exc}") from None
