"""A TCP proxy on 127.0.0.1 that forwards to the AWS stand-in, or refuses: an outage of
one AWS service for a running local API, switched on and off by a test."""

from __future__ import annotations

import contextlib
import socket
import threading
from urllib.parse import urlsplit


class FaultProxy:
    def __init__(self) -> None:
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self._listener.getsockname()[1]}"
        self.upstream: tuple[str, int] | None = None
        self.refusing = False
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
        with self._lock:
            for sock in list(self._open):
                self._shut(sock)

    def restore(self) -> None:
        self.refusing = False

    def close(self) -> None:
        self._closed.set()
        self.refuse()
        self._listener.close()

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
            try:
                server = socket.create_connection(self.upstream, timeout=5)
            except OSError:
                self._shut(client)
                continue
            with self._lock:
                self._open.update((client, server))
            for source, target in ((client, server), (server, client)):
                threading.Thread(target=self._pipe, args=(source, target), daemon=True).start()

    def _pipe(self, source: socket.socket, target: socket.socket) -> None:
        try:
            while chunk := source.recv(65536):
                target.sendall(chunk)
        except OSError:
            pass
        finally:
            with self._lock:
                self._open.discard(source)
                self._open.discard(target)
            self._shut(source)
            self._shut(target)
