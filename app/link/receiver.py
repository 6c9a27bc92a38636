"""The receiving end: a jitter buffer that hands out frames in order, repairs losses with NACK
and parity while a frame's deadline allows, gives a frame up when it does not, and asks the
sender for a refresh (PLI) then."""
from __future__ import annotations

import random
import select
import statistics
import threading
import time
from collections import deque
from dataclasses import dataclass

from .assembly import FrameAssembly
from .auth import RECEIVER_LABEL, SENDER_LABEL, Tagger
from .endpoints import bind_udp, buffer_warning, resolve
from .errors import WireError
from .rtcp import Bye, End, build_nacks, build_pli, is_rtcp, parse_rtcp
from .rtp import FRAGMENT_HEADER_BYTES, PAYLOAD_TYPE, RTP_CLOCK_HZ, FragmentHeader, RtpPacket, parse_rtp

__all__ = ["LinkReceiver", "ReceivedFrame", "unwrap"]

#: A frame is given up this many frame intervals after its first fragment arrived (or, for a
#: frame of which nothing arrived, after a later frame's first fragment did).
DEADLINE_INTERVALS = 1.5
#: The frame interval assumed until the stream's timestamps tell (30 fps), and its bounds.
DEFAULT_INTERVAL_S, MIN_INTERVAL_S, MAX_INTERVAL_S = 1 / 30, 1 / 120, 1.0
#: Refresh requests (PLI) at most this often.
PLI_INTERVAL_S = 0.5
#: NACK: tries per packet, the least time between tries, and how long a frame whose fragments
#: stopped coming waits before its missing tail is asked for.
NACK_TRIES, NACK_RETRY_S, TAIL_WAIT_S = 3, 0.015, 0.008
#: With a round trip longer than the deadline NACKs are pointless; one still goes out this
#: often to measure the round trip again.
RTT_PROBE_S = 1.0
#: Memory bounds: frames buffered ahead of the next one handed out, bytes in them, sequence
#: numbers remembered for duplicates (more than the largest frame's 4096 + 255 datagrams, so
#: its first fragment can still be sent again), and the largest gap whose packets are asked for.
MAX_PENDING_FRAMES = 64
MAX_BUFFERED_BYTES = 32 << 20
SEQUENCE_WINDOW = 8192
MAX_NACK_GAP = 256
#: A frame number this far from the next one is not believed (about a minute at 30 fps), nor
#: a sequence number SEQUENCE_WINDOW or more from the highest so far.
MAX_FRAME_JUMP = 1800
#: Packets in a row from the sender outside those windows (it went on through an outage longer
#: than they reach) after which the receiver starts its stream state afresh.
RESYNC_PACKETS = 16
#: Frames handed out and not yet polled, at most: 64 that carry data (2 s at 30 fps), 4096 in
#: all (an outage gives up to MAX_FRAME_JUMP frames up at once). Beyond, the oldest go.
MAX_READY_FRAMES, MAX_READY_SLOTS = 64, 4096
#: A sender silent this long without a BYE gives way to the next one whose media is valid.
SENDER_TIMEOUT_S = 2.0
#: Thread turn: how often deadlines and NACK timers are looked at.
TICK_S = 0.004
READ_BATCH = 64
#: Latency samples kept for the median.
LATENCY_SAMPLES = 4096


def unwrap(value: int, reference: int, bits: int = 16) -> int:
    """The extended number congruent to ``value`` (mod 2^bits) closest to ``reference``."""
    span = 1 << bits
    delta = (value - reference) & (span - 1)
    return reference + (delta - span if delta >= span // 2 else delta)


@dataclass(frozen=True)
class ReceivedFrame:
    """A frame handed out in order: ``data`` is the codec packet, or None when the frame was
    given up (lost or late; the decoder conceals it). Times are wall clock (Unix seconds)."""

    data: bytes | None
    frame_number: int                   # the link's frame counter, modulo 2^16
    rtp_timestamp: int | None           # None: nothing of the frame arrived
    capture_time: float | None          # sender's clock, from the header extension
    arrived_at: float                   # receiver's clock: complete, or given up
    refresh: bool = False


class LinkReceiver:
    """Receives one sender's RTP stream on a UDP port and answers it with RTCP from that port.

    Media is taken only from one sender: the first source whose datagram parses as valid media
    (and has a valid tag with ``key``; from ``sender_host`` when given). Everything else is
    counted and dropped. A sender that has been silent for SENDER_TIMEOUT_S without saying BYE
    gives way to the next one (e.g. ``livecodec send`` restarted after a crash): its stream
    starts afresh. After a BYE no one else is taken. A background thread reads
    the socket, sends NACKs and PLIs, and gives up frames at their deadline; ``poll`` hands out
    the frames in order.

    Args:
        listen: (host, port) to listen on; host "" or "0.0.0.0" for every IPv4 address.
        key: shared secret; datagrams without a valid HMAC tag are dropped.
        sender_host: accept media only from this host (name or address).
    """

    def __init__(self, listen: tuple[str, int], *, key: bytes | None = None,
                 sender_host: str | None = None) -> None:
        host, port = listen
        family, local = resolve(host or "0.0.0.0", port)
        self._allowed_ip = resolve(sender_host, 0)[1][0] if sender_host else None
        self._tagger = Tagger(key, outgoing=RECEIVER_LABEL, incoming=SENDER_LABEL)
        self._sock = bind_udp(family, local)
        self.port: int = self._sock.getsockname()[1]
        #: The socket's receive buffer as the OS granted it, and a line for the user when the
        #: OS capped it below what was asked for (None when it did not).
        self.receive_buffer_bytes, self.buffer_warning = buffer_warning(self._sock)
        self._ssrc = random.SystemRandom().getrandbits(32)
        self._lock = threading.Lock()
        self._ready_cond = threading.Condition(self._lock)
        self._ready: deque[ReceivedFrame] = deque()
        self._ready_data = 0                    # frames in _ready that carry data
        self._peer: tuple[str, int] | None = None
        self._media_ssrc: int | None = None
        self._expected_before = 0               # packets expected in the streams before this
        self._last_pli = -PLI_INTERVAL_S
        self._first_media: float | None = None
        self._last_media: float | None = None
        self._latencies: deque[float] = deque(maxlen=LATENCY_SAMPLES)
        self._counts = dict.fromkeys((
            "frames_received", "frames_given_up", "packets_received", "bytes_received",
            "duplicates", "late_dropped", "nacks_sent", "packets_nacked", "fec_recovered",
            "refresh_requests", "junk_dropped", "strangers_dropped", "bad_tags",
            "overflow_dropped", "unread_dropped", "resyncs", "senders_replaced"), 0)
        self._new_stream()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="livecodec-link-receiver",
                                        daemon=True)
        self._thread.start()

    def _new_stream(self) -> None:
        """Stream state as before the first packet: at the start, for a new sender, and when
        the sender's packets no longer fit the windows (RESYNC_PACKETS)."""
        self._next: int | None = None           # extended number of the next frame out
        self._slots: dict[int, FrameAssembly] = {}
        self._buffered = 0
        self._highest: int | None = None        # highest extended sequence number seen
        self._lowest: int | None = None
        self._seen: set[int] = set()
        self._outside = 0                       # packets in a row outside the windows
        self._done_sequence: int | None = None  # packets up to here belong to frames handed out
        self._missing: dict[int, list[float]] = {}   # seq -> [tries, last asked]
        self._end: End | None = None
        self._end_at: float | None = None
        self._bye = False
        self._intervals: deque[float] = deque(maxlen=32)
        self._last_timed: tuple[int, int] | None = None
        self._rtt: float | None = None
        self._last_probe = 0.0

    def _restart_stream(self) -> None:
        """Give up what is still buffered (every frame slot is accounted for) and start anew."""
        while self._slots:
            self._give_up(self._next)
        self._expected_before += self._expected()
        self._new_stream()

    # -- the caller's side ------------------------------------------------------------------
    def poll(self, timeout: float) -> list[ReceivedFrame]:
        """Frames ready now (in order), waiting up to ``timeout`` seconds for the first. Poll
        often: beyond MAX_READY_FRAMES unread frames the oldest are dropped."""
        with self._ready_cond:
            if not self._ready:
                self._ready_cond.wait(max(0.0, timeout))
            frames = list(self._ready)
            self._ready.clear()
            self._ready_data = 0
        return frames

    def request_refresh(self) -> bool:
        """Ask the sender for a refresh frame (PLI), at most once per PLI_INTERVAL_S; True when
        a request went out."""
        with self._lock:
            return self._request_refresh(time.monotonic())

    @property
    def ended(self) -> bool:
        """The sender said BYE and every frame up to its last one has been polled. The stream
        is over then: no other sender is taken after a BYE."""
        with self._lock:
            if not self._bye or self._ready:
                return False
            if self._end is None or self._next is None:
                return not self._slots
            return self._next > unwrap(self._end.last_frame, self._next)

    @property
    def started(self) -> bool:
        """Media from the sender has arrived."""
        return self._first_media is not None

    def idle_seconds(self) -> float | None:
        """Seconds since the last media datagram was accepted (None before the first)."""
        last = self._last_media
        return None if last is None else time.monotonic() - last

    @property
    def fps(self) -> float:
        """The stream's frame rate from its timestamps (30 until two frames told)."""
        with self._lock:
            return 1.0 / self._interval()

    def stats(self) -> dict:
        with self._lock:
            stats = dict(self._counts)
            expected = self._expected_before + self._expected()
            stats["packets_lost"] = max(0, expected - stats["packets_received"]
                                        - stats["fec_recovered"])
            span = (self._last_media or 0) - (self._first_media or 0)
            stats["kbps"] = stats["bytes_received"] * 8 / span / 1000 if span > 0 else 0.0
            stats["arrival_latency_ms"] = (1000 * statistics.median(self._latencies)
                                           if self._latencies else None)
            stats["rtt_ms"] = None if self._rtt is None else 1000 * self._rtt
            stats["fps"] = 1.0 / self._interval()
            stats["sender"] = None if self._peer is None else f"{self._peer[0]}:{self._peer[1]}"
            stats["receive_buffer_bytes"] = self.receive_buffer_bytes
        return stats

    def _expected(self) -> int:
        """Packets the current stream has sent so far, as its sequence numbers tell."""
        if self._highest is None:
            return 0
        last = self._highest
        if self._end is not None:
            last = max(last, unwrap(self._end.last_sequence, self._highest))
        return last - self._lowest + 1

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=1.0)
        self._sock.close()

    def __enter__(self) -> "LinkReceiver":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- the thread -------------------------------------------------------------------------
    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                ready, _, _ = select.select([self._sock], [], [], TICK_S)
            except (OSError, ValueError):
                return
            batch = []
            for _ in range(READ_BATCH if ready else 0):
                try:
                    batch.append(self._sock.recvfrom(2048))
                except (BlockingIOError, InterruptedError):
                    break
                except OSError:
                    continue
            with self._lock:
                now = time.monotonic()
                for datagram, source in batch:
                    self._datagram(datagram, (source[0], source[1]), now)
                self._tick(now)

    def _datagram(self, datagram: bytes, source: tuple[str, int], now: float) -> None:
        if self._allowed_ip is not None and source[0] != self._allowed_ip or (
                self._peer is not None and source != self._peer and not self._sender_gone(now)):
            self._counts["strangers_dropped"] += 1
            return
        body = self._tagger.open(datagram)
        if body is None:
            self._counts["bad_tags"] += 1
            return
        try:
            if is_rtcp(body):
                self._rtcp(body, source, now)
                return
            packet = parse_rtp(body)
            if packet.payload_type != PAYLOAD_TYPE:
                raise WireError(f"payload type {packet.payload_type}")
            header = FragmentHeader.unpack(packet.payload)
        except WireError:
            self._counts["junk_dropped"] += 1
            return
        if (source, packet.ssrc) != (self._peer, self._media_ssrc):
            if self._peer is not None and not self._sender_gone(now):
                self._counts["strangers_dropped"] += 1
                return
            self._take_sender(source, packet.ssrc, now)
        self._media(packet, header, now, len(datagram))

    def _sender_gone(self, now: float) -> bool:
        """The sender may be replaced: silent for SENDER_TIMEOUT_S without a BYE (it crashed
        or restarted; after a BYE the stream is over)."""
        return not self._bye and now - self._last_media >= SENDER_TIMEOUT_S

    def _take_sender(self, source: tuple[str, int], ssrc: int, now: float) -> None:
        if self._peer is not None:
            self._restart_stream()
            self._counts["senders_replaced"] += 1
        self._peer, self._media_ssrc = source, ssrc
        self._first_media = self._first_media or now
        self._last_media = now

    def _rtcp(self, body: bytes, source: tuple[str, int], now: float) -> None:
        messages = parse_rtcp(body)
        if source != self._peer:                # RTCP before any media: not our sender yet
            self._counts["strangers_dropped"] += 1
            return
        for message in messages:
            if isinstance(message, End) and message.ssrc == self._media_ssrc and self._end is None:
                self._end, self._end_at = message, now
                if self._highest is not None:
                    last = unwrap(message.last_sequence, self._highest)
                    self._expect_until(last)
            elif isinstance(message, Bye) and self._media_ssrc in message.ssrcs:
                self._bye = True

    def _media(self, packet: RtpPacket, header: FragmentHeader, now: float, size: int) -> None:
        sequence = packet.sequence if self._highest is None else unwrap(packet.sequence, self._highest)
        frame = header.frame if self._next is None else unwrap(header.frame, self._next)
        if self._next is not None and abs(frame - self._next) >= MAX_FRAME_JUMP or (
                self._highest is not None and abs(sequence - self._highest) >= SEQUENCE_WINDOW):
            self._outside += 1                  # checked before anything is recorded
            if self._outside < RESYNC_PACKETS:
                self._counts["junk_dropped"] += 1
                return
            self._restart_stream()              # the sender went on through a long outage
            self._counts["resyncs"] += 1
            self._media(packet, header, now, size)
            return
        self._outside = 0
        if self._next is None:
            self._next = frame
        if sequence in self._seen:
            self._counts["duplicates"] += 1
            return
        if frame < self._next:
            self._counts["late_dropped"] += 1
        elif not self._store(frame, header, sequence, packet, now):
            return                              # refused: the packet does not count as seen
        self._note_sequence(sequence, now)
        self._counts["packets_received"] += 1
        self._counts["bytes_received"] += size
        self._last_media = now

    def _store(self, frame: int, header: FragmentHeader, sequence: int, packet: RtpPacket,
               now: float) -> bool:
        """Put the fragment into its frame; False (counted) when it is refused."""
        piece = packet.payload[FRAGMENT_HEADER_BYTES:]
        if self._buffered + len(piece) > MAX_BUFFERED_BYTES:
            self._counts["overflow_dropped"] += 1
            return False
        slot = self._slots.get(frame)
        if slot is None:
            while frame - self._next >= MAX_PENDING_FRAMES:     # after an outage: move on
                self._give_up(self._next)
            slot = FrameAssembly(header, sequence, packet.timestamp, packet.capture_time, now)
        before, recovered = slot.nbytes, slot.recovered
        if not slot.add(header, sequence, packet.timestamp, piece, now):
            self._counts["junk_dropped"] += 1
            return False
        if frame not in self._slots:
            self._slots[frame] = slot
            self._time_frame(frame, packet.timestamp)
        self._buffered += slot.nbytes - before
        self._counts["fec_recovered"] += slot.recovered - recovered
        if slot.recovered > recovered:          # rebuilt by parity: no need to ask for them
            for index in slot.fragments:
                self._missing.pop(slot.base + index, None)
        if slot.complete and slot.capture_time is not None:
            self._latencies.append(time.time() - slot.capture_time)
        return True

    def _note_sequence(self, sequence: int, now: float) -> None:
        """Remember the packet; a jump past the highest number so far marks the ones skipped
        as missing (to be asked for)."""
        asked = self._missing.pop(sequence, None)
        if asked is not None and asked[0]:      # it came after a NACK: a round-trip sample
            sample = now - asked[1]
            self._rtt = sample if self._rtt is None else 0.875 * self._rtt + 0.125 * sample
        if self._highest is None:
            self._highest = self._lowest = sequence
        elif sequence > self._highest:
            self._expect_until(sequence - 1)
            self._highest = sequence
        self._lowest = min(self._lowest, sequence)
        self._seen.add(sequence)
        if len(self._seen) > 2 * SEQUENCE_WINDOW:
            floor = self._highest - SEQUENCE_WINDOW
            self._seen = {s for s in self._seen if s > floor}

    def _expect_until(self, last: int) -> None:
        """Mark packets after the highest seen, up to ``last``, as missing (a bounded gap)."""
        first = self._highest + 1
        if 0 < last - first + 1 <= MAX_NACK_GAP:
            for seq in range(first, last + 1):
                if seq not in self._seen:
                    self._missing.setdefault(seq, [0, 0.0])

    def _time_frame(self, frame: int, timestamp: int) -> None:
        """Learn the frame interval from the timestamps of frames in order."""
        last = self._last_timed
        if last is not None and frame > last[0]:
            ticks = unwrap(timestamp, last[1], 32) - last[1]
            per_frame = ticks / (frame - last[0]) / RTP_CLOCK_HZ
            if MIN_INTERVAL_S <= per_frame <= MAX_INTERVAL_S:
                self._intervals.append(per_frame)
        if last is None or frame > last[0]:
            self._last_timed = (frame, timestamp)

    def _interval(self) -> float:
        return statistics.median(self._intervals) if self._intervals else DEFAULT_INTERVAL_S

    # -- timers -----------------------------------------------------------------------------
    def _tick(self, now: float) -> None:
        deadline = DEADLINE_INTERVALS * self._interval()
        for slot in self._slots.values():        # a frame whose last fragments did not come
            if not slot.complete and now - slot.last_arrival >= TAIL_WAIT_S \
                    and self._highest is not None and slot.base + slot.count - 1 > self._highest:
                self._expect_until(slot.base + slot.count - 1)
        self._send_nacks(now, deadline)
        self._release(now, deadline)

    def _send_nacks(self, now: float, deadline: float) -> None:
        if self._done_sequence is not None:
            for seq in [s for s in self._missing if s <= self._done_sequence]:
                del self._missing[seq]
        if not self._missing or self._peer is None:
            return
        if self._rtt is not None and self._rtt > deadline:
            if now - self._last_probe < RTT_PROBE_S:
                return
            self._last_probe = now
        retry = max(NACK_RETRY_S, 1.5 * (self._rtt or 0.0))
        due = [seq for seq, (tries, last) in self._missing.items()
               if tries < NACK_TRIES and now - last >= retry]
        for seq in [s for s, (tries, _) in self._missing.items() if tries >= NACK_TRIES]:
            if now - self._missing[seq][1] > retry:
                del self._missing[seq]          # asked enough: its frame will be given up
        if not due:
            return
        for seq in due:
            self._missing[seq][0] += 1
            self._missing[seq][1] = now
        for nack in build_nacks(self._ssrc, self._media_ssrc, due):
            self._send(nack)
            self._counts["nacks_sent"] += 1
        self._counts["packets_nacked"] += len(due)

    def _release(self, now: float, deadline: float) -> None:
        """Hand out complete frames in order; give up the next one once its deadline passed."""
        gave_up = False
        while self._next is not None:
            slot = self._slots.get(self._next)
            if slot is not None and slot.complete:
                self._hand_out(self._next, slot)
                continue
            starts = [s.first_arrival for n, s in self._slots.items() if n >= self._next]
            if self._end is not None and self._next <= unwrap(self._end.last_frame, self._next):
                starts.append(self._end_at)
            if not starts or now < min(starts) + deadline:
                break
            self._give_up(self._next)
            gave_up = True
        if gave_up:
            self._request_refresh(now)

    def _hand_out(self, number: int, slot: FrameAssembly) -> None:
        del self._slots[number]
        self._buffered -= slot.nbytes
        self._done_sequence = max(self._done_sequence or slot.last_sequence, slot.last_sequence)
        self._counts["frames_received"] += 1
        self._emit(ReceivedFrame(slot.data(), number & 0xFFFF, slot.timestamp, slot.capture_time,
                                 time.time(), slot.refresh))
        self._next = number + 1

    def _give_up(self, number: int) -> None:
        slot = self._slots.pop(number, None)
        if slot is not None:
            self._buffered -= slot.nbytes
            self._done_sequence = max(self._done_sequence or slot.last_sequence, slot.last_sequence)
        self._counts["frames_given_up"] += 1
        self._emit(ReceivedFrame(None, number & 0xFFFF, slot and slot.timestamp,
                                 slot and slot.capture_time, time.time(),
                                 bool(slot and slot.refresh)))
        self._next = number + 1

    def _emit(self, frame: ReceivedFrame) -> None:
        """Hand a frame to ``poll``; when the caller falls behind by MAX_READY_FRAMES, drop the
        oldest and ask for a refresh (the next frame no longer has its reference)."""
        self._ready.append(frame)
        self._ready_data += frame.data is not None
        dropped = False
        while self._ready_data > MAX_READY_FRAMES or len(self._ready) > MAX_READY_SLOTS:
            oldest = self._ready.popleft()
            self._ready_data -= oldest.data is not None
            self._counts["unread_dropped"] += 1
            dropped = True
        if dropped:
            self._request_refresh(time.monotonic())
        self._ready_cond.notify_all()

    def _request_refresh(self, now: float) -> bool:
        if self._peer is None or now - self._last_pli < PLI_INTERVAL_S:
            return False
        self._last_pli = now
        self._send(build_pli(self._ssrc, self._media_ssrc))
        self._counts["refresh_requests"] += 1
        return True

    def _send(self, rtcp: bytes) -> None:
        try:
            self._sock.sendto(self._tagger.seal(rtcp), self._peer)
        except OSError:
            pass                                # feedback is best effort, like the media

