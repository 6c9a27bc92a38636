"""The sending end: codec packets out as RTP fragments, NACKed ones again from a short history,
picture loss indications passed on to the encoder, BYE at the end."""
from __future__ import annotations

import logging
import random
import select
import threading
import time
from collections import OrderedDict
from typing import Callable

from .auth import RECEIVER_LABEL, SENDER_LABEL, Tagger
from .endpoints import bind_udp, resolve
from .errors import FrameTooLargeError, WireError
from .fec import MAX_GROUPS, make_parity, parity_groups
from .rtcp import Nack, Pli, build_bye, build_end, is_rtcp, parse_rtcp
from .rtp import FRAGMENT_HEADER_BYTES, MAX_FRAGMENTS, RTP_CLOCK_HZ, FragmentHeader, build_rtp

__all__ = ["LinkSender", "MAX_DATAGRAM", "FRAGMENT_BYTES", "HISTORY_PACKETS"]

log = logging.getLogger(__name__)

#: Every datagram, headers and tag included, fits in this (a safe size below common MTUs).
MAX_DATAGRAM = 1200
#: Codec bytes per fragment: 1200 minus RTP header (12), capture-time extension (16), payload
#: header (8), tag (16) and the parity length field (2), so parity fragments fit too.
FRAGMENT_BYTES = MAX_DATAGRAM - 12 - 16 - FRAGMENT_HEADER_BYTES - 16 - 2
#: Datagrams kept for retransmission: the largest frame's (media and parity), about 5 MB, so a
#: NACK for the first fragment of a large 1080p refresh frame can still be answered.
HISTORY_PACKETS = MAX_FRAGMENTS + MAX_GROUPS
#: How long the sender's thread waits on its socket per turn; close() waits at most a few.
POLL_S = 0.05
#: The same packet is sent again at most this often, however many NACKs ask for it.
RESEND_MIN_S = 0.01
#: close(): BYE repeats, and the time between them (NACKs are still answered meanwhile).
BYE_REPEATS, BYE_INTERVAL_S = 3, 0.1
#: Datagrams read per wake-up at most, so a flood cannot keep the thread from stopping.
READ_BATCH = 64


class LinkSender:
    """Sends codec packets to one receiver as RTP over UDP and serves its RTCP feedback.

    ``send_frame`` fragments and sends at once (it never waits for the network: a datagram the
    socket cannot take is counted in ``send_errors`` and left to NACK); a background thread
    reads the receiver's NACKs (answered from the last HISTORY_PACKETS datagrams) and PLIs
    (``on_refresh_request`` is called, from that thread). Refresh frames carry XOR parity
    fragments. One producer thread may call ``send_frame``; ``close()``, from any thread, sends
    BYE and stops the thread within about a second (frames sent after it are dropped).

    Args:
        to: the receiver's (host, port); LinkError when it does not resolve.
        key: shared secret for HMAC tags on every datagram (both directions), or None.
        local_port: UDP port to send from and read feedback on (0: any free port).
    """

    def __init__(self, to: tuple[str, int], *, key: bytes | None = None, local_port: int = 0,
                 on_refresh_request: Callable[[], None] | None = None) -> None:
        family, self.peer = resolve(*to)
        self._tagger = Tagger(key, outgoing=SENDER_LABEL, incoming=RECEIVER_LABEL)
        self._sock = bind_udp(family, ("", local_port))
        self.local_port: int = self._sock.getsockname()[1]
        self._on_refresh = on_refresh_request
        rng = random.SystemRandom()
        self.ssrc = rng.getrandbits(32)
        self._sequence = rng.getrandbits(16)
        self._timestamp_offset = rng.getrandbits(32)
        self._frame = 0
        self._lock = threading.Lock()
        self._history: OrderedDict[int, tuple[bytes, float]] = OrderedDict()
        self._started = time.monotonic()
        self._counts = dict.fromkeys((
            "frames_sent", "packets_sent", "bytes_sent", "fec_packets", "retransmissions",
            "nacks_received", "refresh_requests", "send_errors", "junk_dropped",
            "strangers_dropped", "bad_tags", "frames_after_close"), 0)
        self._closed = False
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, name="livecodec-link-sender",
                                        daemon=True)
        self._thread.start()

    # -- the producer's side ----------------------------------------------------------------
    def send_frame(self, data: bytes, *, capture_time: float, refresh: bool) -> None:
        """Send one codec packet; ``capture_time`` is the wall clock (time.time()) at capture.

        After ``close()`` the frame is dropped quietly (counted in ``frames_after_close``): a
        window may close the sender while its encoder thread is still sending. A packet of
        more than MAX_FRAGMENTS * FRAGMENT_BYTES bytes raises FrameTooLargeError (a LinkError
        and a ValueError) and nothing is sent: skip it and ask the encoder for a refresh.
        """
        if not data:
            raise ValueError("a frame needs at least one byte")
        count = -(-len(data) // FRAGMENT_BYTES)
        if count > MAX_FRAGMENTS:
            raise FrameTooLargeError(f"a frame of {len(data)} bytes is larger than the link "
                                     f"carries ({MAX_FRAGMENTS * FRAGMENT_BYTES} bytes)")
        size = -(-len(data) // count)
        pieces = [data[i * size:(i + 1) * size] for i in range(count)]
        timestamp = self._timestamp_offset + round(capture_time * RTP_CLOCK_HZ)
        frame = self._frame
        payloads = [FragmentHeader(frame, i, count, refresh).pack() + piece
                    for i, piece in enumerate(pieces)]
        groups = parity_groups(count) if refresh else 0
        payloads += [FragmentHeader(frame, g, count, refresh, parity=True, groups=groups).pack()
                     + body for g, body in enumerate(make_parity(pieces, groups))]
        with self._lock:
            if self._closed:                # checked under the lock: nothing follows the BYE
                self._counts["frames_after_close"] += 1
                return
            for i, payload in enumerate(payloads):
                datagram = self._tagger.seal(build_rtp(
                    marker=i == count - 1, sequence=self._sequence, timestamp=timestamp,
                    ssrc=self.ssrc, capture_time=capture_time, payload=payload))
                self._remember(self._sequence, datagram)
                self._send(datagram)
                self._sequence = (self._sequence + 1) & 0xFFFF
            self._frame = (frame + 1) & 0xFFFF
            self._counts["frames_sent"] += 1
            self._counts["fec_packets"] += groups

    def _remember(self, sequence: int, datagram: bytes) -> None:
        self._history[sequence] = (datagram, 0.0)
        self._history.move_to_end(sequence)
        while len(self._history) > HISTORY_PACKETS:
            self._history.popitem(last=False)

    def _send(self, datagram: bytes) -> None:
        try:
            self._sock.sendto(datagram, self.peer)
        except OSError:                 # a full buffer, an unreachable network: NACK repairs
            self._counts["send_errors"] += 1
            return
        self._counts["packets_sent"] += 1
        self._counts["bytes_sent"] += len(datagram)

    # -- feedback ---------------------------------------------------------------------------
    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                ready, _, _ = select.select([self._sock], [], [], POLL_S)
            except (OSError, ValueError):   # the socket was closed under us
                return
            for _ in range(READ_BATCH if ready else 0):
                try:
                    datagram, source = self._sock.recvfrom(2048)
                except (BlockingIOError, InterruptedError):
                    break
                except OSError:             # e.g. ICMP port unreachable reported late
                    continue
                self._feedback(datagram, source)

    def _count(self, name: str) -> None:
        with self._lock:
            self._counts[name] += 1

    def _feedback(self, datagram: bytes, source: tuple) -> None:
        if tuple(source[:2]) != self.peer:
            self._count("strangers_dropped")
            return
        body = self._tagger.open(datagram)
        if body is None:
            self._count("bad_tags")
            return
        try:
            if not is_rtcp(body):
                raise WireError("not RTCP")
            messages = parse_rtcp(body)
        except WireError:
            self._count("junk_dropped")
            return
        for message in messages:
            if isinstance(message, Nack) and message.media_ssrc == self.ssrc:
                self._count("nacks_received")
                self._resend(message.sequences)
            elif isinstance(message, Pli) and message.media_ssrc == self.ssrc:
                self._count("refresh_requests")
                if self._on_refresh is not None:
                    try:
                        self._on_refresh()
                    except Exception:   # the caller's bug must not end the feedback thread
                        log.exception("on_refresh_request failed")

    def _resend(self, sequences: tuple[int, ...]) -> None:
        now = time.monotonic()
        with self._lock:
            for sequence in sequences:
                kept = self._history.get(sequence)
                if kept is None or now - kept[1] < RESEND_MIN_S:
                    continue
                self._history[sequence] = (kept[0], now)
                self._send(kept[0])
                self._counts["retransmissions"] += 1

    # -- the end ----------------------------------------------------------------------------
    def stats(self) -> dict:
        """Counters so far, and the rate sent (kbps of datagrams, headers included)."""
        with self._lock:
            stats = dict(self._counts)
        elapsed = max(time.monotonic() - self._started, 1e-6)
        stats["kbps"] = stats["bytes_sent"] * 8 / elapsed / 1000
        return stats

    def close(self) -> None:
        """Say BYE (with the last frame and sequence numbers, repeated) and stop; safe twice, and
        from another thread than the one sending."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            goodbye = self._tagger.seal(
                build_end(self.ssrc, self._frame - 1, self._sequence - 1) + build_bye(self.ssrc))
        for repeat in range(BYE_REPEATS):
            if repeat:
                self._stop.wait(BYE_INTERVAL_S)     # NACKs for the last frames still answered
            with self._lock:
                self._send(goodbye)
        self._stop.set()
        self._thread.join(timeout=1.0)
        self._sock.close()

    def __enter__(self) -> "LinkSender":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
