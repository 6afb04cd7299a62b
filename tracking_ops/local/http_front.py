"""The HTTP side of `invoke local`: each request checked as API Gateway would
(gateway.py), turned into a REST proxy event for the worker pool, and the function's
reply (or API Gateway's 502 when the invocation fails) written back."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tracking_api.routing import Request
from tracking_ops.local import child_processes, docs, gateway, proxy, workers

JSON_HEADERS = {"Content-Type": "application/json"}
LOOPBACK_NAMES = frozenset({"localhost"})
EXPOSED = (
    "warning: listening on {host}, not on loopback: anyone who can reach this machine "
    "can use the local API, which has no authentication (IAM is not enforced locally)"
)


def exposure_warning(host: str) -> str | None:
    """One line when ``host`` is not a loopback address: the local API is unauthenticated."""
    import ipaddress

    if host.lower() in LOOPBACK_NAMES:
        return None
    try:
        if ipaddress.ip_address(host).is_loopback:
            return None
    except ValueError:
        pass  # a host name other than localhost: it may resolve to anything
    return EXPOSED.format(host=host)


class LoopbackServer(ThreadingHTTPServer):
    """A threading HTTP server whose clients may go away at any moment (a worker killed
    mid-request, a stop): a connection they drop is theirs to lose, not a traceback."""

    daemon_threads = True

    def handle_error(self, request, client_address) -> None:
        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)


def call_function(pool: workers.WorkerPool, event: dict[str, Any], log) -> tuple:
    """The function's response; when the invocation fails (timeout, unhandled error, a
    dead runtime, a malformed response) what API Gateway then answers: 502, through the
    api stack's DEFAULT_5XX gateway response."""
    try:
        return proxy.decode_response(pool.invoke(event))
    except workers.FunctionFailed as failure:
        log(f"function error:\n{child_processes.failure_summary(str(failure))}")
    except (workers.FunctionTimedOut, workers.PoolClosed) as failure:
        log(f"function error: {failure or 'the runtime is stopping'}")
    except (KeyError, TypeError, ValueError, AttributeError) as failure:
        log(f"malformed Lambda proxy response: {failure!r}")
    failed = gateway.LAMBDA_FAILURE
    return failed.status, {**JSON_HEADERS, **gateway.LAMBDA_FAILURE_HEADERS}, failed.body()


class ChunkedTooLarge(Exception):
    """A chunked body past API Gateway's payload limit."""


def read_chunked(stream, limit: int) -> bytes:
    """The body of a chunked request: hex-sized chunks, a zero chunk, then trailer
    lines up to an empty one. ValueError for a malformed or cut-off body."""
    body = bytearray()
    while True:
        line = stream.readline(1026)
        if not line.endswith(b"\n"):
            raise ValueError("Malformed chunked body.")
        try:
            size = int(line.split(b";")[0].strip(), 16)
        except ValueError:
            raise ValueError("Malformed chunk size.") from None
        if size < 0:
            raise ValueError("Malformed chunk size.")
        if size == 0:
            break
        if len(body) + size > limit:
            raise ChunkedTooLarge
        chunk = stream.read(size)
        if len(chunk) < size or stream.readline(3) not in (b"\r\n", b"\n"):
            raise ValueError("Chunked body cut off.")
        body += chunk
    while (trailer := stream.readline(8192)) not in (b"\r\n", b"\n"):
        if not trailer.endswith(b"\n"):
            raise ValueError("Chunked body cut off.")
    return bytes(body)


def make_request_handler(pool: workers.WorkerPool, openapi: Callable[[], bytes], log) -> type:
    class RequestHandler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "tracking-local"

        def _serve(self) -> None:
            started = time.perf_counter()
            url = urlsplit(self.path)
            if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
                return self._serve_chunked(url, started)
            declared = self.headers.get("Content-Length") or "0"
            if not declared.isdigit():
                rejection = gateway.GatewayRejection(
                    400, "validation_error", "Content-Length is not a number."
                )
                return self._reply(url, started, rejection.status, JSON_HEADERS, rejection.body())
            length = int(declared)
            if length > gateway.API_GATEWAY_MAX_BODY:  # refused unread, as API Gateway does
                rejection = gateway.GatewayRejection(413, "payload_too_large", "Request Too Long")
                self.close_connection = True
                return self._reply(url, started, rejection.status, JSON_HEADERS, rejection.body())
            body = self.rfile.read(length) if length else b""
            if len(body) < length:
                # The client went away mid-body: nothing reaches the function, nothing is stored.
                self.close_connection = True
                log(f"{self.command} {url.path} dropped: client sent {len(body)} of {length} bytes")
                return None
            return self._route(url, started, body)

        def _serve_chunked(self, url, started: float) -> None:
            """A Transfer-Encoding: chunked body, read whole (the trailer included) so
            the next request on the connection starts where it should."""
            try:
                body = read_chunked(self.rfile, gateway.API_GATEWAY_MAX_BODY)
            except ChunkedTooLarge:
                rejection = gateway.GatewayRejection(413, "payload_too_large", "Request Too Long")
                self.close_connection = True
                return self._reply(url, started, rejection.status, JSON_HEADERS, rejection.body())
            except ValueError as bad:
                rejection = gateway.GatewayRejection(400, "bad_request", str(bad))
                self.close_connection = True
                return self._reply(url, started, rejection.status, JSON_HEADERS, rejection.body())
            return self._route(url, started, body)

        def _route(self, url, started: float, body: bytes) -> None:
            if url.path == docs.OPENAPI_PATH and self.command == "GET":
                return self._reply(url, started, 200, JSON_HEADERS, openapi())
            if url.path.startswith(docs.DOCS_PATH) and self.command == "GET":
                return self._reply(url, started, *self._docs(url.path))
            return self._reply(url, started, *self._through_gateway(url, body))

        def _reply(
            self, url, started: float, status: int, headers: dict[str, str], data: bytes
        ) -> None:
            try:
                self.send_response(status)
                for name, value in headers.items():
                    if name.lower() not in {"content-length", "connection"}:
                        self.send_header(name, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                if self.command != "HEAD":  # HEAD: the headers of the answer, no body
                    self.wfile.write(data)
            except (BrokenPipeError, ConnectionResetError):
                self.close_connection = True
                log(f"{self.command} {url.path} {status}: client gone before the response")
                return
            log(
                f"{self.command} {url.path} {status} {(time.perf_counter() - started) * 1000:.1f}ms"
            )

        def _through_gateway(self, url, body: bytes) -> tuple[int, dict[str, str], bytes]:
            query = parse_qs(url.query, keep_blank_values=True)
            event = proxy.proxy_event(
                self.command,
                url.path,
                query=url.query,
                headers=[
                    (k, v) for k, v in self.headers.items() if k.lower() != "transfer-encoding"
                ],
                body=body if body or self.command != "GET" else None,
            )
            # The gateway reads the headers the function gets: one parser for both.
            content_type = Request.from_event(event).headers.get("content-type", "")
            rejection = gateway.check_request(self.command, url.path, query, content_type, body)
            if rejection:
                return rejection.status, JSON_HEADERS, rejection.body()
            if rejection := gateway.check_invoke_payload(event):
                return rejection.status, JSON_HEADERS, rejection.body()
            return call_function(pool, event, log)

        def _docs(self, path: str) -> tuple[int, dict[str, str], bytes]:
            if path in (docs.DOCS_PATH, docs.ASSET_PREFIX):
                page = docs.page("Logistics tracking API", docs.OPENAPI_PATH)
                return 200, {"Content-Type": "text/html; charset=utf-8"}, page
            found = docs.asset(path)
            if found is None:
                rejection = gateway.GatewayRejection(404, "not_found", f"No docs asset {path}.")
                return rejection.status, JSON_HEADERS, rejection.body()
            return 200, {"Content-Type": found[0], "Cache-Control": "max-age=3600"}, found[1]

        do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _serve

        def __getattr__(self, name: str):
            # Any other method (HEAD, OPTIONS, TRACE, ...) gets the deployed gateway's
            # JSON answer for a method the API lacks, never http.server's HTML 501.
            if name.startswith("do_"):
                return self._serve
            raise AttributeError(name)

        def send_error(self, code: int, message: str | None = None, explain: str | None = None):
            """http.server's own errors (a malformed request line, a header too long)
            in the contract's JSON shape instead of its HTML page."""
            rejection = gateway.GatewayRejection(
                code, "bad_request" if code < 500 else "internal_error", message or "Bad request"
            )
            body = rejection.body() if self.command != "HEAD" else b""
            self.close_connection = True
            self.request_version = self.protocol_version  # headers even when unparsed
            try:
                self.send_response(code, message)
                self.send_header("Content-Type", JSON_HEADERS["Content-Type"])
                self.send_header("Connection", "close")
                self.send_header("Content-Length", str(len(rejection.body())))
                self.end_headers()
                self.wfile.write(body)
            except (BrokenPipeError, ConnectionResetError):
                pass

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            pass  # one line per request is written by _serve

    return RequestHandler
