"""The local runtime's HTTP port, bound before anything else starts: a port in use or
out of range fails at once, not after the moto server and the workers are up."""

from __future__ import annotations

from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from tracking_ops.local.standin import LOOPBACK


class PortUnavailable(Exception):
    """The port cannot be bound (in use, privileged or out of range)."""


def bind_http(
    port: int, host: str = LOOPBACK, server_class: type[ThreadingHTTPServer] = ThreadingHTTPServer
) -> ThreadingHTTPServer:
    """A server bound to ``host``:``port`` (0: a free one), not yet listening; its
    handler is set (``RequestHandlerClass``) and ``server_activate()`` called once the
    runtime is ready."""
    server = server_class((host, port), BaseHTTPRequestHandler, bind_and_activate=False)
    try:
        server.server_bind()
    except (OSError, OverflowError) as exc:
        server.server_close()
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise PortUnavailable(f"port {port} on {host} cannot be bound: {reason}") from None
    return server
