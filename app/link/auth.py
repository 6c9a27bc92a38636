"""HMAC-SHA256 tags on every datagram, so a receiver (and a sender) can drop anything that
does not come from the holder of the shared key.

The tag is the first TAG_BYTES of HMAC-SHA256(key, direction label + datagram), appended to
the datagram. The label differs by direction, so a datagram reflected back at its sender does
not verify. Tags authenticate; nothing is encrypted.
"""
from __future__ import annotations

import hashlib
import hmac
from pathlib import Path

from .errors import LinkError

__all__ = ["Tagger", "read_key", "TAG_BYTES", "MIN_KEY_BYTES", "SENDER_LABEL", "RECEIVER_LABEL"]

#: Truncated to 128 bits, as RFC 2104 §5 allows (at least half the hash, and at least 80 bits).
TAG_BYTES = 16
MIN_KEY_BYTES = 16
#: Key files larger than this are surely not key files.
MAX_KEY_BYTES = 4096
SENDER_LABEL = b"livecodec link sender->receiver\x00"
RECEIVER_LABEL = b"livecodec link receiver->sender\x00"


def read_key(path: str | Path) -> bytes:
    """The key: every byte of the file (e.g. ``head -c 32 /dev/urandom > link.key``)."""
    try:
        with open(path, "rb") as f:
            key = f.read(MAX_KEY_BYTES + 1)
    except FileNotFoundError:
        raise LinkError(f"no such key file: {path}") from None
    except IsADirectoryError:
        raise LinkError(f"key file {path} is a folder") from None
    except OSError as exc:
        raise LinkError(f"cannot read key file {path}: {exc.strerror or exc}") from None
    if len(key) < MIN_KEY_BYTES:
        raise LinkError(f"key file {path} holds {len(key)} bytes; a key needs at least "
                        f"{MIN_KEY_BYTES} (e.g. head -c 32 /dev/urandom > {path})")
    if len(key) > MAX_KEY_BYTES:
        raise LinkError(f"key file {path} is larger than {MAX_KEY_BYTES} bytes")
    return key


class Tagger:
    """Seals outgoing datagrams with one direction's label and opens incoming ones with the
    other's. Without a key both are the identity."""

    def __init__(self, key: bytes | None, *, outgoing: bytes, incoming: bytes) -> None:
        if key is not None and len(key) < MIN_KEY_BYTES:
            raise LinkError(f"a link key needs at least {MIN_KEY_BYTES} bytes, got {len(key)}")
        self._out = self._in = None
        if key is not None:
            self._out = hmac.new(key, outgoing, hashlib.sha256)
            self._in = hmac.new(key, incoming, hashlib.sha256)

    def seal(self, datagram: bytes) -> bytes:
        if self._out is None:
            return datagram
        mac = self._out.copy()
        mac.update(datagram)
        return datagram + mac.digest()[:TAG_BYTES]

    def open(self, datagram: bytes) -> bytes | None:
        """The datagram without its tag, or None when the tag is missing or wrong."""
        if self._in is None:
            return datagram
        if len(datagram) < TAG_BYTES:
            return None
        body, tag = datagram[:-TAG_BYTES], datagram[-TAG_BYTES:]
        mac = self._in.copy()
        mac.update(body)
        return body if hmac.compare_digest(mac.digest()[:TAG_BYTES], tag) else None
