"""The link's kinds of trouble: a datagram that is not what it claims, a setting the user must
change (an address, a port, a key file), and a codec packet too large to send."""
from __future__ import annotations

__all__ = ["WireError", "LinkError", "FrameTooLargeError"]


class WireError(ValueError):
    """A datagram that does not parse; the link counts it and drops it."""


class LinkError(Exception):
    """A link that cannot start: bad HOST:PORT, a host that does not resolve, a port in use,
    an unusable key file. The message is one line naming the cause."""


class FrameTooLargeError(LinkError, ValueError):
    """A codec packet larger than one frame of the link carries (MAX_FRAGMENTS fragments): it
    is not sent, and the link goes on. A sender skips it and asks its encoder for a refresh;
    catch it as LinkError or ValueError."""
