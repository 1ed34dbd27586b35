"""Real servers on 127.0.0.1 for the tests of virtual time meeting real work.

Each is started and stopped by the test that uses it, on threads of the test (not of handler
code). Copied into pytester runs by `install_real_servers`.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class LineServer:
    """Answers each line it receives with `pong <line>` after `delay` real seconds; with
    `delay=None` it never answers (a hung dependency)."""

    def __init__(self, delay: float | None) -> None:
        self.delay = delay
        self._stopping = threading.Event()
        self._sock = socket.socket()
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(16)
        self._sock.settimeout(0.05)
        self.port: int = self._sock.getsockname()[1]
        self._threads: list[threading.Thread] = []
        self._thread = threading.Thread(target=self._serve, name="line-server", daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stopping.is_set():
            try:
                conn, _ = self._sock.accept()
            except OSError:
                continue
            thread = threading.Thread(target=self._answer, args=(conn,), daemon=True)
            self._threads.append(thread)
            thread.start()

    def _answer(self, conn: socket.socket) -> None:
        conn.settimeout(0.05)
        buffer = b""
        with conn:
            while not self._stopping.is_set():
                try:
                    data = conn.recv(4096)
                except TimeoutError:
                    continue
                except OSError:
                    return
                if not data:
                    return
                buffer += data
                while b"\n" in buffer:
                    line, buffer = buffer.split(b"\n", 1)
                    if self.delay is None:
                        self._stopping.wait()  # hung: holds the connection, never answers
                    if self._stopping.wait(self.delay):
                        return
                    conn.sendall(b"pong " + line + b"\n")

    def close(self) -> None:
        self._stopping.set()
        self._thread.join()
        for thread in self._threads:
            thread.join()
        self._sock.close()


class _JsonHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: clients pool the connection
    server: Any

    def do_GET(self) -> None:
        time.sleep(self.server.delay)
        body = json.dumps({"path": self.path, "served": self.server.count()}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


class HttpServer(ThreadingHTTPServer):
    """An HTTP/1.1 keep-alive JSON server answering after `delay` real seconds."""

    daemon_threads = True

    def __init__(self, delay: float) -> None:
        super().__init__(("127.0.0.1", 0), _JsonHandler)
        self.delay = delay
        self._served = 0
        self._lock = threading.Lock()
        self.url = f"http://127.0.0.1:{self.server_address[1]}"
        self._thread = threading.Thread(target=self.serve_forever, args=(0.05,), daemon=True)
        self._thread.start()

    def count(self) -> int:
        with self._lock:
            self._served += 1
            return self._served

    def close(self) -> None:
        self.shutdown()
        self.server_close()
        self._thread.join()


@contextmanager
def line_server(delay: float | None) -> Iterator[LineServer]:
    server = LineServer(delay)
    try:
        yield server
    finally:
        server.close()


@contextmanager
def http_server(delay: float) -> Iterator[HttpServer]:
    server = HttpServer(delay)
    try:
        yield server
    finally:
        server.close()
