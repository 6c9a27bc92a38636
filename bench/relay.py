"""A lossy UDP relay for the link's tests and benchmark: it forwards datagrams between a sender
and a receiver on loopback and, with a seeded random generator, drops (at random or in bursts),
delays, reorders and duplicates them, in each direction on its own terms.

The sender sends to the relay's port; the relay forwards to the receiver from that same port,
and whatever the receiver sends back goes to the last sender address, so the link sees one
symmetric peer as it would through a real network.
"""
from __future__ import annotations

import heapq
import random
import select
import socket
import threading
import time
from dataclasses import dataclass

__all__ = ["Impairment", "LossyRelay"]


@dataclass(frozen=True)
class Impairment:
    """What happens to datagrams in one direction.

    loss: chance each datagram is dropped. burst: (p, r) of a Gilbert model: a good state
    moves to a bad one (every datagram lost) with chance p per datagram and back with chance r
    (mean burst 1/r datagrams). delay, jitter: seconds added (jitter uniform in 0..jitter,
    never reordering). reorder: chance a datagram is held back an extra reorder_s. duplicate: chance it is sent
    twice.
    """

    loss: float = 0.0
    burst: tuple[float, float] | None = None
    delay: float = 0.0
    jitter: float = 0.0
    reorder: float = 0.0
    reorder_s: float = 0.012
    duplicate: float = 0.0


class _Direction:
    def __init__(self, impairment: Impairment, rng: random.Random) -> None:
        self.impairment, self.rng = impairment, rng
        self.bad = False
        self.blackout_until = self.last_due = 0.0
        self.forwarded = self.dropped = 0

    def due_times(self, now: float) -> list[float]:
        """When the copies of a datagram arriving now leave (none when it is lost). Jitter
        keeps the order (a datagram never overtakes the one before it); only ``reorder``
        holds one back."""
        imp, rng = self.impairment, self.rng
        if now < self.blackout_until:
            self.dropped += 1
            return []
        if imp.burst is not None:
            p, r = imp.burst
            self.bad = rng.random() >= r if self.bad else rng.random() < p
        if self.bad or rng.random() < imp.loss:
            self.dropped += 1
            return []
        copies = 2 if rng.random() < imp.duplicate else 1
        self.forwarded += 1
        out = []
        for _ in range(copies):
            due = max(now + imp.delay + rng.random() * imp.jitter, self.last_due)
            if rng.random() < imp.reorder:
                out.append(due + imp.reorder_s)
            else:
                self.last_due = due
                out.append(due)
        return out


class LossyRelay:
    """Forwards between whoever sends to ``port`` and ``target``, impairing both ways.

    Args:
        target: the receiver's (host, port).
        forward: impairment from sender to receiver; back: from receiver to sender (default:
            the same as forward).
        seed: the random generator's seed (each direction gets its own stream).
    """

    def __init__(self, target: tuple[str, int], forward: Impairment = Impairment(),
                 back: Impairment | None = None, *, seed: int = 0) -> None:
        self.target = target
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
        self._sock.bind(("127.0.0.1", 0))
        self._sock.setblocking(False)
        self.port: int = self._sock.getsockname()[1]
        self.forward = _Direction(forward, random.Random(f"{seed}-forward"))
        self.back = _Direction(back or forward, random.Random(f"{seed}-back"))
        self._sender: tuple[str, int] | None = None
        self._queue: list[tuple[float, int, bytes, tuple[str, int]]] = []
        self._order = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="livecodec-test-relay", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            now = time.monotonic()
            wait = 0.005 if not self._queue else min(0.005, max(0.0, self._queue[0][0] - now))
            ready, _, _ = select.select([self._sock], [], [], wait)
            for _ in range(256 if ready else 0):
                try:
                    data, source = self._sock.recvfrom(4096)
                except BlockingIOError:
                    break
                except OSError:
                    continue
                self._route(data, source, time.monotonic())
            now = time.monotonic()
            while self._queue and self._queue[0][0] <= now:
                _, _, data, dest = heapq.heappop(self._queue)
                try:
                    self._sock.sendto(data, dest)
                except OSError:
                    pass

    def blackout(self, forward: float = 0.0, back: float = 0.0) -> None:
        """An outage: drop everything towards the receiver for the next ``forward`` seconds
        and everything back from it for the next ``back`` seconds."""
        now = time.monotonic()
        self.forward.blackout_until = now + forward
        self.back.blackout_until = now + back

    def _route(self, data: bytes, source: tuple[str, int], now: float) -> None:
        if source == self.target:
            if self._sender is None:
                return
            direction, dest = self.back, self._sender
        else:
            self._sender = source
            direction, dest = self.forward, self.target
        for due in direction.due_times(now):
            self._order += 1
            heapq.heappush(self._queue, (due, self._order, data, dest))

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=1.0)
        self._sock.close()

    def __enter__(self) -> "LossyRelay":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
