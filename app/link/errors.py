"""The link's two kinds of trouble: a datagram that is not what it claims, and a setting the
user must change (an address, a port, a key file)."""
from __future__ import annotations

__all__ = ["WireError", "LinkError"]


class WireError(ValueError):
    """A datagram that does not parse; the link counts it and drops it."""


class LinkError(Exception):
    """A link that cannot start: bad HOST:PORT, a host that does not resolve, a port in use,
    an unusable key file. The message is one line naming the cause."""
