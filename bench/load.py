"""A closed-loop HTTP load generator, run as its own process so it does not share the server's
interpreter: N threads, each with its own keep-alive connection, repeat their requests for S
seconds; prints one JSON line with the count, status codes, latency percentiles and rate.

Usage: python bench/load.py PLAN.json  (PLAN: {"base", "seconds", "warmup", "threads":
[[{"method", "path", "headers", "json"}, …], …]} — one request list per thread, cycled)
"""

import json
import statistics
import sys
import threading
import time
from collections import Counter

import requests


def run(plan: dict) -> dict:
    base, seconds, warmup = plan["base"], plan["seconds"], plan.get("warmup", 0)
    latencies, statuses, lock = [], Counter(), threading.Lock()
    start_gate = threading.Barrier(len(plan["threads"]) + 1)

    def client(requests_of_thread):
        session = requests.Session()
        mine, codes = [], Counter()
        start_gate.wait()
        begin = time.perf_counter()
        measured_from, stop_at = begin + warmup, begin + warmup + seconds
        index = 0
        while (now := time.perf_counter()) < stop_at:
            request = requests_of_thread[index % len(requests_of_thread)]
            index += 1
            sent = time.perf_counter()
            response = session.request(request["method"], base + request["path"],
                                        headers=request.get("headers"), json=request.get("json"),
                                        timeout=60)
            took = time.perf_counter() - sent
            if now >= measured_from:
                mine.append(took)
                codes[response.status_code] += 1
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
