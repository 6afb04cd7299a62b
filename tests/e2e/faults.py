"""A proxy on 127.0.0.1 in front of the AWS stand-in that injects the faults moto never
shows, switched on and off by a test:

- ``refuse()``: every connection is closed at once (an outage);
- ``hang(target)``: a request is accepted and never answered (a hung endpoint);
- ``lose_reply(target)``: the request reaches the stand-in (the write is applied),
  then the connection drops before the reply (botocore retries it);
- ``answer(target, status, body)``: the stand-in is not asked; the proxy answers,
  e.g. a throttling error or a cancelled transaction.

``target`` is the operation as the AWS JSON protocols name it in ``X-Amz-Target``
(``DynamoDB_20120810.PutItem``, ``AmazonSSM.GetParameters``...). Each rule applies
``times`` times (None: until ``clear()``). Requests are forwarded one upstream
connection each, so a fault never leaks into the next request.
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
from dataclasses import dataclass
from urllib.parse import urlsplit

HANG = "hang"
LOSE_REPLY = "lose_reply"
ANSWER = "answer"


@dataclass
class Rule:
    target: str
    action: str
    times: int | None
    response: bytes = b""
    hits: int = 0


def aws_error(status: int, code: str, message: str = "", **fields) -> bytes:
    """An AWS JSON-protocol error response (what botocore parses into a ClientError)."""
    body = json.dumps({"__type": code, "message": message or code, **fields}).encode()
    return (
        f"HTTP/1.1 {status} Error\r\nContent-Type: application/x-amz-json-1.0\r\n"
        f"x-amzn-ErrorType: {code}\r\nContent-Length: {len(body)}\r\n"
        "Connection: close\r\n\r\n"
    ).encode() + body


class FaultProxy:
    def __init__(self) -> None:
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self._listener.getsockname()[1]}"
        self.upstream: tuple[str, int] | None = None
        self.refusing = False
        self.rules: list[Rule] = []
        self.seen: list[str] = []  # the target of every request, in order
        self._open: set[socket.socket] = set()
        self._lock = threading.Lock()
        self._closed = threading.Event()
        threading.Thread(target=self._accept, daemon=True).start()

    def forward_to(self, url: str) -> None:
        parts = urlsplit(url)
        self.upstream = (parts.hostname, parts.port)
        self.refusing = False

    def refuse(self) -> None:
        """From now on every connection is closed at once, open ones included
        (a client's pooled keep-alive connection must not outlive the outage)."""
        self.refusing = True
        self._shut_all()

    def restore(self) -> None:
        self.refusing = False
        self.clear()

    def hang(self, target: str, times: int | None = None) -> Rule:
        return self._add(Rule(target, HANG, times))

    def lose_reply(self, target: str, times: int | None = 1) -> Rule:
        return self._add(Rule(target, LOSE_REPLY, times))

    def answer(self, target: str, response: bytes, times: int | None = None) -> Rule:
        return self._add(Rule(target, ANSWER, times, response))

    def clear(self) -> None:
        """Drop every rule and every open connection (hung requests end)."""
        with self._lock:
            self.rules.clear()
        self._shut_all()

    def close(self) -> None:
        self._closed.set()
        self.refuse()
        self._listener.close()

    def _add(self, rule: Rule) -> Rule:
        with self._lock:
            self.rules.append(rule)
        return rule

    def _rule_for(self, target: str) -> Rule | None:
        with self._lock:
            self.seen.append(target)
            for rule in self.rules:
                if rule.target == target and (rule.times is None or rule.hits < rule.times):
                    rule.hits += 1
                    return rule
        return None

    def _shut_all(self) -> None:
        with self._lock:
            for sock in list(self._open):
                self._shut(sock)

    @staticmethod
    def _shut(sock: socket.socket) -> None:
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)
        sock.close()

    def _accept(self) -> None:
        while not self._closed.is_set():
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            if self.refusing or self.upstream is None:
                self._shut(client)
                continue
            with self._lock:
                self._open.add(client)
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client: socket.socket) -> None:
        """One client connection: request after request (keep-alive), each by its rule."""
        buffer = b""
        try:
            while True:
                request, buffer = _read_request(client, buffer)
                if request is None or self.refusing:
                    return
                rule = self._rule_for(_target(request))
                if rule and rule.action == HANG:
                    self._closed.wait()  # until clear()/close() shuts the socket
                    return
                if rule and rule.action == ANSWER:
                    client.sendall(rule.response)
                    return
                reply = self._forward(request)
                if reply is None or (rule and rule.action == LOSE_REPLY):
                    return  # the stand-in has applied it; the client never hears
                client.sendall(reply)
        except OSError:
            pass
        finally:
            with self._lock:
                self._open.discard(client)
            self._shut(client)

    def _forward(self, request: bytes) -> bytes | None:
        head, _, body = request.partition(b"\r\n\r\n")
        lines = [
            line for line in head.split(b"\r\n") if not line.lower().startswith(b"connection:")
        ]
        request = b"\r\n".join([*lines, b"Connection: close"]) + b"\r\n\r\n" + body
        server = None
        chunks = []
        try:
            server = socket.create_connection(self.upstream, timeout=30)
            with self._lock:
                self._open.add(server)
            server.sendall(request)
            reply, _ = _read_message(server, b"")
            if reply is None:
                return None
            chunks.append(reply)
        except OSError:
            return None
        finally:
            if server is not None:
                with self._lock:
                    self._open.discard(server)
                self._shut(server)
        reply = b"".join(chunks)
        head, _, body = reply.partition(b"\r\n\r\n")
        if b"content-length:" not in head.lower() and b"chunked" not in head.lower():
            head += f"\r\nContent-Length: {len(body)}".encode()
        # The upstream closed after its reply; the client may keep its connection.
        lines = [
            line for line in head.split(b"\r\n") if not line.lower().startswith(b"connection:")
        ]
        return b"\r\n".join(lines) + b"\r\n\r\n" + body


def _read_request(sock: socket.socket, buffer: bytes) -> tuple[bytes | None, bytes]:
    return _read_message(sock, buffer)


def _read_message(sock: socket.socket, buffer: bytes) -> tuple[bytes | None, bytes]:
    """One HTTP message (head and Content-Length body) from ``sock``; None at EOF."""
    while b"\r\n\r\n" not in buffer:
        chunk = sock.recv(65536)
        if not chunk:
            return None, b""
        buffer += chunk
    head, _, rest = buffer.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
    while len(rest) < length:
        chunk = sock.recv(65536)
        if not chunk:
            return None, b""
        rest += chunk
    return head + b"\r\n\r\n" + rest[:length], rest[length:]


def _target(request: bytes) -> str:
    head = request.partition(b"\r\n\r\n")[0]
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"x-amz-target":
            return value.strip().decode()
    return ""
