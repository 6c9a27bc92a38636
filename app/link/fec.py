"""XOR parity over a frame's fragments: one lost fragment per group is rebuilt without a round
trip. Group g of G holds fragments g, g + G, g + 2G, ... (interleaved, so a burst of up to G
consecutive losses costs each group at most one fragment).

A parity body is the XOR of the group's fragment lengths (2 bytes) followed by the XOR of the
fragments, each zero-padded to the longest; XOR-ing it with the fragments that did arrive
leaves the missing one's length and bytes.
"""
from __future__ import annotations

import math

__all__ = ["parity_groups", "group_members", "make_parity", "recover", "GROUP_SIZE", "MAX_GROUPS"]

#: Fragments per parity group: 1/6 more datagrams for the frames that carry parity.
GROUP_SIZE = 6
#: The payload header counts groups in one byte: a frame of more than 1530 fragments has 255
#: groups of more than six (interleaving works for any number of groups).
MAX_GROUPS = 255


def parity_groups(count: int) -> int:
    """How many parity fragments protect a frame of ``count`` fragments (none for one)."""
    return min(MAX_GROUPS, math.ceil(count / GROUP_SIZE)) if count > 1 else 0


def group_members(group: int, groups: int, count: int) -> range:
    return range(group, count, groups)


def _xor(parts: list[bytes]) -> tuple[int, bytes]:
    width = max(len(p) for p in parts)
    length = value = 0
    for part in parts:
        length ^= len(part)
        value ^= int.from_bytes(part.ljust(width, b"\0"), "big")
    return length, value.to_bytes(width, "big")


def make_parity(fragments: list[bytes], groups: int) -> list[bytes]:
    """The parity bodies of groups 0..groups-1 over ``fragments``."""
    bodies = []
    for group in range(groups):
        length, value = _xor([fragments[i] for i in group_members(group, groups, len(fragments))])
        bodies.append(length.to_bytes(2, "big") + value)
    return bodies


def recover(parity: bytes, present: list[bytes]) -> bytes | None:
    """The one missing fragment of a group from its parity body and the others, or None when
    the parity is inconsistent with them (damage, or a fragment from somewhere else)."""
    if len(parity) < 2 or any(len(p) > len(parity) - 2 for p in present):
        return None
    _, value = _xor([parity[2:], *present])
    length = int.from_bytes(parity[:2], "big")
    for part in present:
        length ^= len(part)
    if not 0 < length <= len(value):
        return None
    return value[:length]
