"""One frame being put back together from its fragments (and parity), with hard caps on what a
frame may hold: nothing is allocated from a header field the link has not checked."""
from __future__ import annotations

from .fec import group_members, recover
from .rtp import FragmentHeader

__all__ = ["FrameAssembly", "MAX_FRAGMENT_PAYLOAD"]

#: A fragment's bytes at most (the datagram limit; larger ones do not come from a LinkSender).
MAX_FRAGMENT_PAYLOAD = 1200


class FrameAssembly:
    """Fragments of one frame as they arrive. ``add`` refuses (returns False) a fragment that
    contradicts what the frame's first fragment said (count, timestamp, sequence numbering)
    or that is too large, so a forged or stray datagram cannot grow or corrupt the frame."""

    def __init__(self, header: FragmentHeader, sequence: int, timestamp: int,
                 capture_time: float | None, now: float) -> None:
        self.count = header.count
        #: Extended sequence number of fragment 0; parity group g is base + count + g.
        self.base = sequence - (header.count + header.index if header.parity else header.index)
        self.timestamp = timestamp
        self.capture_time = capture_time
        self.refresh = header.refresh
        self.groups = header.groups
        self.first_arrival = self.last_arrival = now
        self.fragments: dict[int, bytes] = {}
        self.parity: dict[int, bytes] = {}
        self.nbytes = 0
        self.recovered = 0

    @property
    def complete(self) -> bool:
        return len(self.fragments) == self.count

    @property
    def last_sequence(self) -> int:
        """The last sequence number this frame is known to use (its last parity, if any)."""
        return self.base + self.count + self.groups - 1

    def add(self, header: FragmentHeader, sequence: int, timestamp: int, piece: bytes,
            now: float) -> bool:
        expected_sequence = self.base + (self.count + header.index if header.parity else header.index)
        if (header.count != self.count or timestamp != self.timestamp or sequence != expected_sequence
                or len(piece) > MAX_FRAGMENT_PAYLOAD
                or (header.parity and self.groups not in (0, header.groups))):
            return False
        store = self.parity if header.parity else self.fragments
        if header.index not in store:
            store[header.index] = piece
            self.nbytes += len(piece)
        if header.parity:
            self.groups = header.groups
        self.last_arrival = now
        if self.groups:
            self._repair(header.index if header.parity else header.index % self.groups)
        return True

    def _repair(self, group: int) -> None:
        """Rebuild the fragment ``group`` misses if it misses exactly one and its parity came.
        Only the group the new fragment belongs to can have changed, so a frame of thousands
        of fragments costs one group's work per fragment, not every group's."""
        body = self.parity.get(group)
        if body is None:
            return
        members = group_members(group, self.groups, self.count)
        missing = [i for i in members if i not in self.fragments]
        if len(missing) != 1:
            return
        piece = recover(body, [self.fragments[i] for i in members if i in self.fragments])
        if piece is not None:
            self.fragments[missing[0]] = piece
            self.nbytes += len(piece)
            self.recovered += 1

    def data(self) -> bytes:
        return b"".join(self.fragments[i] for i in range(self.count))
