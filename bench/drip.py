"""A receiver that never finishes answering (issue 25): for every request, a status line and then
one header byte every `interval` seconds until the sender hangs up. Used by the webhook bench."""

import socket
import threading


class DripServer:
    def __init__(self, interval: float = 2.0):
        self.listener = socket.create_server(("127.0.0.1", 0), backlog=128)
        self.interval = interval
        self.open = 0
        self.requests = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        threading.Thread(target=self._accept, daemon=True).start()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.listener.getsockname()[1]}{path}"

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._drip, args=(conn,), daemon=True).start()

    def _drip(self, conn: socket.socket) -> None:
        with self._lock:
            self.open += 1
            self.requests += 1
        try:
            with conn:
                conn.recv(65536)
                conn.sendall(b"HTTP/1.1 200 OK\r\nX-Drip: ")
                conn.settimeout(self.interval)
                while not self._stop.is_set():
                    try:
                        if conn.recv(1) == b"":
                            return  # the sender hung up
                    except TimeoutError:
                        conn.sendall(b"a")
        except OSError:
            return
        finally:
            with self._lock:
                self.open -= 1

    def close(self) -> None:
        self._stop.set()
        self.listener.close()
