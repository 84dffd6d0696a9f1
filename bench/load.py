"""A closed-loop HTTP load generator, run as its own process so it does not share the server's
interpreter: N threads, each with its own keep-alive connection, repeat their requests for S
seconds; prints one JSON line with the count, status codes, latency percentiles and rate.

Requests are encoded once and sent over plain sockets: a client library (requests) spent about
1 ms of CPU per request, on the same two cores as the server, which capped every rate measured.

Usage: python bench/load.py PLAN.json  (PLAN: {"base", "seconds", "warmup", "threads":
[[{"method", "path", "headers", "json"}, …], …]} — one request list per thread, cycled; the text
`{sequence}` in a header becomes the request's number in its thread, for unique Idempotency-Keys)
"""

import json
import socket
import statistics
import sys
import threading
import time
from collections import Counter
from urllib.parse import urlsplit

SEQUENCE = b"{sequence}"


def encode(host: str, request: dict) -> bytes:
    body = b""
    headers = {"Host": host, "Connection": "keep-alive", **(request.get("headers") or {})}
    if request.get("json") is not None:
        body = json.dumps(request["json"], ensure_ascii=False).encode()
        headers["Content-Type"] = "application/json"
    if body or request["method"] != "GET":
        headers["Content-Length"] = str(len(body))
    head = f"{request['method']} {request['path']} HTTP/1.1\r\n" + "".join(
        f"{name}: {value}\r\n" for name, value in headers.items()) + "\r\n"
    return head.encode() + body


class Connection:
    """One keep-alive connection: send a request, read one response (Content-Length or chunked)."""

    def __init__(self, address):
        self.address, self.socket, self.buffer = address, None, b""

    def exchange(self, raw: bytes) -> int:
        if self.socket is None:
            self.socket = socket.create_connection(self.address, timeout=60)
            self.socket.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self.buffer = b""
        self.socket.sendall(raw)
        while b"\r\n\r\n" not in self.buffer:
            self._fill()
        head, self.buffer = self.buffer.split(b"\r\n\r\n", 1)
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ", 2)[1])
        headers = {k.strip().lower(): v.strip() for k, v in (line.split(":", 1) for line in lines[1:])}
        if "content-length" in headers:
            self._take(int(headers["content-length"]))
        elif headers.get("transfer-encoding", "").lower() == "chunked":
            while True:
                while b"\r\n" not in self.buffer:
                    self._fill()
                size_line, self.buffer = self.buffer.split(b"\r\n", 1)
                size = int(size_line.split(b";")[0], 16)
                self._take(size + 2)
                if size == 0:
                    break
        if headers.get("connection", "").lower() == "close":
            self.close()
        return status

    def _fill(self):
        chunk = self.socket.recv(65536)
        if not chunk:
            raise ConnectionError("server closed the connection")
        self.buffer += chunk

    def _take(self, size: int):
        while len(self.buffer) < size:
            self._fill()
        self.buffer = self.buffer[size:]

    def close(self):
        if self.socket is not None:
            self.socket.close()
            self.socket = None


def run(plan: dict) -> dict:
    base, seconds, warmup = urlsplit(plan["base"]), plan["seconds"], plan.get("warmup", 0)
    address, host = (base.hostname, base.port or 80), base.netloc
    latencies, statuses, lock = [], Counter(), threading.Lock()
    start_gate = threading.Barrier(len(plan["threads"]) + 1)

    def client(requests_of_thread):
        encoded = [encode(host, request) for request in requests_of_thread]
        connection = Connection(address)
        mine, codes = [], Counter()
        start_gate.wait()
        begin = time.perf_counter()
        measured_from, stop_at = begin + warmup, begin + warmup + seconds
        index = 0
        while (now := time.perf_counter()) < stop_at:
            raw = encoded[index % len(encoded)]
            if SEQUENCE in raw:
                raw = raw.replace(SEQUENCE, str(index).encode())
            index += 1
            sent = time.perf_counter()
            status = connection.exchange(raw)
            took = time.perf_counter() - sent
            if now >= measured_from:
                mine.append(took)
                codes[status] += 1
        connection.close()
        with lock:
            latencies.extend(mine)
            statuses.update(codes)

    threads = [threading.Thread(target=client, args=(r,)) for r in plan["threads"]]
    for thread in threads:
        thread.start()
    start_gate.wait()
    for thread in threads:
        thread.join()
    latencies.sort()
    count = len(latencies)
    return {"count": count, "rate": count / seconds,
            "p50": statistics.median(latencies) * 1000 if count else None,
            "p99": latencies[min(count - 1, int(count * 0.99))] * 1000 if count else None,
            "statuses": {str(code): n for code, n in statuses.items()}}


if __name__ == "__main__":
    with open(sys.argv[1], encoding="utf-8") as f:
        print(json.dumps(run(json.load(f))))
