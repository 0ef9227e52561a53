"""A small TCP proxy for fault tests: it stands between a client and a real server on a free port
of 127.0.0.1, and the test can cut it (every open connection closed at once, new ones closed
as soon as they arrive) and restore it, as when the server restarts or the network drops.

`hold_seconds` turns it into a server that never answers: each connection's first bytes are
kept in `received` and the connection is held open, unanswered, then closed. Nothing reaches
the real server then.
"""

import contextlib
import socket
import threading
import time
from types import TracebackType

CHUNK = 65536


class TcpProxy:
    def __init__(self, upstream: tuple[str, int], *, hold_seconds: float = 0.0) -> None:
        self.upstream = upstream
        self.hold_seconds = hold_seconds
        self.received: list[bytes] = []
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.1)
        self.port: int = self._listener.getsockname()[1]
        self._open = True
        self._stopped = threading.Event()
        self._sockets: set[socket.socket] = set()
        self._lock = threading.Lock()
        self._acceptor = threading.Thread(target=self._accept_loop, daemon=True)

    def __enter__(self) -> "TcpProxy":
        self._acceptor.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._stopped.set()
        self.cut()
        self._acceptor.join(timeout=5)
        self._listener.close()

    def cut(self) -> None:
        """Close every open connection now and every new one as it arrives, until restore()."""
        self._open = False
        with self._lock:
            sockets, self._sockets = list(self._sockets), set()
        for sock in sockets:
            _close(sock)

    def restore(self) -> None:
        self._open = True

    def _accept_loop(self) -> None:
        while not self._stopped.is_set():
            try:
                client, _address = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            if not self._open:
                _close(client)
                continue
            serve = self._hold if self.hold_seconds else self._forward
            threading.Thread(target=serve, args=(client,), daemon=True).start()

    def _track(self, *sockets: socket.socket) -> None:
        with self._lock:
            self._sockets.update(sockets)

    def _hold(self, client: socket.socket) -> None:
        self._track(client)
        client.settimeout(self.hold_seconds)
        with contextlib.suppress(OSError):
            self.received.append(client.recv(CHUNK))
        deadline = time.monotonic() + self.hold_seconds
        while time.monotonic() < deadline and not self._stopped.is_set():
            time.sleep(0.05)
        _close(client)

    def _forward(self, client: socket.socket) -> None:
        try:
            server = socket.create_connection(self.upstream, timeout=5)
        except OSError:
            _close(client)
            return
        server.settimeout(None)
        self._track(client, server)
        if not self._open:  # cut while connecting
            _close(client)
            _close(server)
            return
        threading.Thread(target=_pump, args=(server, client), daemon=True).start()
        _pump(client, server)


def _pump(source: socket.socket, target: socket.socket) -> None:
    # A cut (or either end closing) ends the copy with an OSError: then both sides are closed.
    with contextlib.suppress(OSError):
        while data := source.recv(CHUNK):
            target.sendall(data)
    _close(source)
    _close(target)


def _close(sock: socket.socket) -> None:
    """Shut down first: it wakes a thread blocked reading the socket, which close() alone may
    not do."""
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
    sock.close()
