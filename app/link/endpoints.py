"""HOST:PORT as the user types it, resolved, and the UDP socket bound to it: each failure in
one line (LinkError) before anything is sent."""
from __future__ import annotations

import socket

from .errors import LinkError

__all__ = ["parse_endpoint", "resolve", "bind_udp", "buffer_warning", "Address",
           "RECEIVE_BUFFER_BYTES"]

Address = tuple[str, int]
#: Socket receive buffer asked for: a burst of refresh-frame fragments must not overflow it.
#: The OS may grant less (Linux: at most net.core.rmem_max); see buffer_warning.
RECEIVE_BUFFER_BYTES = 4 << 20


def parse_endpoint(text: str, *, default_host: str | None = None) -> Address:
    """(host, port) from "HOST:PORT", "[IPv6]:PORT", or "PORT" when a default host is given."""
    host, sep, port = text.rpartition(":")
    if not sep:
        if default_host is None:
            raise LinkError(f"{text!r} is not HOST:PORT")
        host = default_host
    elif host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    elif ":" in host:
        raise LinkError(f"{text!r}: write an IPv6 address in brackets, e.g. [::1]:5004")
    if not host:
        raise LinkError(f"{text!r} names no host")
    if not port.isdigit() or not 1 <= int(port) <= 65535:
        raise LinkError(f"{text!r}: the port must be a number in 1..65535")
    return host, int(port)


def resolve(host: str, port: int) -> tuple[socket.AddressFamily, Address]:
    """The address family and (ip, port) for a UDP peer or local address."""
    try:
        family, _, _, _, sockaddr = socket.getaddrinfo(host, port, type=socket.SOCK_DGRAM)[0]
    except (socket.gaierror, UnicodeError) as exc:
        reason = exc.strerror if isinstance(exc, socket.gaierror) else "not a valid host name"
        raise LinkError(f"cannot resolve host {host!r}: {reason}") from None
    return family, (sockaddr[0], sockaddr[1])


def bind_udp(family: socket.AddressFamily, local: Address) -> socket.socket:
    """A non-blocking UDP socket bound to ``local`` (port 0: any free port)."""
    sock = socket.socket(family, socket.SOCK_DGRAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RECEIVE_BUFFER_BYTES)
        sock.bind(local)
    except OSError as exc:
        sock.close()
        where = f"{local[0] or '*'}:{local[1]}"
        raise LinkError(f"cannot listen on UDP {where}: {exc.strerror or exc}") from None
    sock.setblocking(False)
    return sock


def buffer_warning(sock: socket.socket) -> tuple[int, str | None]:
    """The receive buffer the OS granted ``sock`` (as it reports it: Linux doubles the size
    asked for to cover its bookkeeping), and a line for the user when that is less than
    RECEIVE_BUFFER_BYTES: the OS capped the request, and a large refresh frame's burst of
    datagrams may overflow it."""
    granted = sock.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF)
    if granted >= RECEIVE_BUFFER_BYTES:
        return granted, None
    return granted, (f"the OS limits the UDP receive buffer to {granted >> 10} KB (asked for "
                     f"{RECEIVE_BUFFER_BYTES >> 10} KB), so large refresh frames may lose "
                     f"datagrams; on Linux raise it with sysctl -w net.core.rmem_max="
                     f"{RECEIVE_BUFFER_BYTES} (docs/LINK.md)")
