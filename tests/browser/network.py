"""What a phone's connection does to the offline app in the browser tests: a server that stops and
starts again on the same address (the phone's origin, its service worker and its IndexedDB stay
the same), and a proxy that lets a request reach the server but loses the answer on the way back
— the server has committed, the phone heard nothing."""

import socket
import socketserver
import threading

from werkzeug.serving import make_server

from tests.conftest import join_all


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class StoppableServer:
    """The app over HTTP on one port, stopped and started again at will: while stopped, the
    port refuses connections, as a server whose process is down does."""

    def __init__(self, app, port: int | None = None):
        self.app = app
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._server = None
        self._thread = None

    def start(self) -> None:
        self._server = make_server("127.0.0.1", self.port, self.app, threaded=True)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    @property
    def running(self) -> bool:
        return self._server is not None

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        join_all([self._thread], within=30, what="the stoppable server")
        self._server = None


def _read_request(connection: socket.socket) -> bytes:
    """One HTTP request, whole: its head and the body its Content-Length announces."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = connection.recv(65536)
        if not chunk:
            return data
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
    while len(body) < length:
        chunk = connection.recv(65536)
        if not chunk:
            break
        body += chunk
    lines = [line for line in head.split(b"\r\n") if not line.lower().startswith(b"connection:")]
    return b"\r\n".join([*lines, b"Connection: close"]) + b"\r\n\r\n" + body


class _ProxyServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


class AnswerDroppingProxy:
    """Forwards each request to ``upstream``; while ``dropping`` holds a path prefix, a request
    to it is sent on, its whole answer read (so the server has done its work), and then the
    phone's connection closed without a byte of it. ``dropped`` counts those answers."""

    def __init__(self, upstream_port: int):
        self.upstream_port = upstream_port
        self.dropping: str | None = None
        self.dropped = 0
        proxy = self

        class Handler(socketserver.BaseRequestHandler):
            def handle(self):
                request = _read_request(self.request)
                if not request:
                    return
                path = request.split(b" ", 2)[1].decode()
                with socket.create_connection(("127.0.0.1", proxy.upstream_port)) as upstream:
                    upstream.sendall(request)
                    answer = b""
                    while chunk := upstream.recv(65536):
                        answer += chunk
                if proxy.dropping and path.startswith(proxy.dropping):
                    proxy.dropped += 1
                    return  # the connection closes with nothing said
                self.request.sendall(answer)

        self._server = _ProxyServer(("127.0.0.1", 0), Handler)
        self.port = self._server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        join_all([self._thread], within=30, what="the proxy")
