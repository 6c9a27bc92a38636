"""The live network link: codec packets as RTP over UDP from a ``LinkSender`` to a
``LinkReceiver``, repaired with NACK and parity, refreshed on PLI (docs/LINK.md)."""
from __future__ import annotations

from .auth import read_key
from .endpoints import parse_endpoint
from .errors import FrameTooLargeError, LinkError, WireError
from .receiver import LinkReceiver, ReceivedFrame
from .sender import LinkSender

__all__ = ["LinkSender", "LinkReceiver", "ReceivedFrame", "LinkError", "WireError",
           "FrameTooLargeError", "read_key", "parse_endpoint"]
