"""A small multi-process HTTP load generator, used when wrk is not installed."""

from __future__ import annotations

import http.client
import multiprocessing
import time
from pathlib import Path
from urllib.parse import urlsplit


def _worker(url: str, lines: list[str], seconds: float, queue: multiprocessing.Queue) -> None:
    parts = urlsplit(url)
    latencies, errors, non2xx = [], 0, 0
    deadline = time.perf_counter() + seconds
    i = 0
    while time.perf_counter() < deadline and i < len(lines):  # never a key twice
        sig, body = lines[i].split("\t", 1)
        i += 1
        start = time.perf_counter()
        try:
            conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
            conn.request(
                "POST",
                parts.path,
                body.encode(),
                {"Content-Type": "application/json", "X-Jaas-Signature": sig},
            )
            status = conn.getresponse().status
            conn.close()
        except OSError:
            errors += 1
            continue
        latencies.append(time.perf_counter() - start)
        non2xx += not 200 <= status < 300
    queue.put((latencies, errors, non2xx))


def drive(
    url: str | list[str],
    reqfile: Path,
    seconds: int,
    connections: int,
    offset: int,
    per: int = 2000,
) -> dict:
    """Drive ``connections`` processes; connection i sends lines [offset + i*per, + per) to
    ``url`` (or, given several, to the i-th of them round-robin: several hosts at once)."""
    urls = [url] if isinstance(url, str) else url
    lines = reqfile.read_text().splitlines()
    queue: multiprocessing.Queue = multiprocessing.Queue()
    procs = [
        multiprocessing.Process(
            target=_worker,
            args=(
                urls[i % len(urls)],
                lines[offset + i * per : offset + (i + 1) * per],
                seconds,
                queue,
            ),
        )
        for i in range(connections)
    ]
    for p in procs:
        p.start()
    results = [queue.get() for _ in procs]
    for p in procs:
        p.join()
    latencies = sorted(x for r in results for x in r[0])

    def pct(q: float) -> float:
        return latencies[int(q * (len(latencies) - 1))] * 1000 if latencies else 0.0

    return {
        "requests": len(latencies),
        "seconds": float(seconds),
        "p50_ms": pct(0.5),
        "p99_ms": pct(0.99),
        "errors": sum(r[1] for r in results),
        "non2xx": sum(r[2] for r in results),
    }
