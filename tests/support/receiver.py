"""A real HTTP receiver for webhook tests, on 127.0.0.1 and a free port: it records every
POST and answers as told."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Received:
    path: str
    headers: Message
    body: bytes


class Receiver:
    """An HTTP server that records every POST and answers 200, or 500 while ``failing``
    is above zero, or with ``redirect_to`` a 302 there."""

    def __init__(self) -> None:
        self.requests: list[Received] = []
        self.failing = 0
        self.redirect_to: str | None = None
        self._lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with receiver._lock:
                    receiver.requests.append(Received(self.path, self.headers, body))
                    failing = receiver.failing > 0
                    if failing:
                        receiver.failing -= 1
                if receiver.redirect_to is not None:
                    self._answer(302, b"", location=receiver.redirect_to)
                elif failing:
                    self._answer(500, b"receiver down\n  try again later")
                else:
                    self._answer(200, b"ok")

            def _answer(self, status: int, body: bytes, location: str | None = None) -> None:
                self.send_response(status)
                if location is not None:
                    self.send_header("Location", location)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:
                pass

        return Handler

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self._thread.join(timeout=10)

    def __enter__(self) -> Receiver:
        self.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()
