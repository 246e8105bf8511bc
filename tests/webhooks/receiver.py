"""A real HTTP receiver for webhook tests: a threaded server on a free loopback port that keeps
every request and answers from a script (status codes, delays, bodies)."""

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from standardwebhooks.webhooks import Webhook

from tests.waiting import holds


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    at: float


@dataclass
class Answer:
    status: int = 200
    body: bytes = b"ok"
    delay: float = 0.0
    headers: dict[str, str] = field(default_factory=dict)


class Receiver:
    """`answers` is consumed one per request; when empty, `default` answers."""

    def __init__(self, default: Answer | None = None):
        self.requests: list[Received] = []
        self.answers: list[Answer] = []
        self.default = default or Answer()
        self.on_request: Callable[[Received], None] | None = None
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # Headers and body go out in separate writes: without this, Nagle's algorithm and
            # the client's delayed ACK add 40 ms to every answer.
            disable_nagle_algorithm = True

            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                got = Received(self.path, dict(self.headers.items()), body, time.monotonic())
                with receiver._lock:
                    receiver.requests.append(got)
                    answer = receiver.answers.pop(0) if receiver.answers else receiver.default
                if receiver.on_request:
                    receiver.on_request(got)
                if answer.delay:
                    time.sleep(answer.delay)
                try:
                    self.send_response(answer.status)
                    for name, value in answer.headers.items():
                        self.send_header(name, value)
                    self.send_header("Content-Length", str(len(answer.body)))
                    self.end_headers()
                    self.wfile.write(answer.body)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the sender gave up (timeout) or died: what the tests are about

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}/hooks"

    def __enter__(self) -> "Receiver":
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()

    def wait_for(self, count: int, timeout: float = 10.0) -> list[Received]:
        def arrived() -> bool:
            with self._lock:
                return len(self.requests) >= count

        holds(arrived, timeout=timeout)
        with self._lock:
            return list(self.requests)

    def verified(self, secret: str) -> list[dict]:
        """Every request body, each verified with the standardwebhooks library."""
        return [Webhook(secret).verify(r.body, r.headers) for r in self.requests]
