"""Prometheus metrics, multiprocess-safe under gunicorn (PROMETHEUS_MULTIPROC_DIR).

prometheus_client picks its value store at import time, so this module imports it lazily:
`meterwise serve` sets the directory before anything touches it. Counting never makes a
request fail: an error while counting is logged and the request goes on (`count`, `observe`).
Label values are bounded: only configured providers and known reasons become labels.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from typing import Any

log = logging.getLogger("meterwise.metrics")
_metrics: Metrics | None = None
OTHER = "other"  # the label for anything not in a known, bounded set


@dataclass(frozen=True)
class Metrics:
    """The counters and histogram the receiver updates."""

    received: Any
    stored: Any
    duplicate: Any
    rejected: Any
    latency: Any


def get_metrics() -> Metrics:
    """The process-wide metrics, created on first use."""
    global _metrics
    if _metrics is None:
        from prometheus_client import Counter, Histogram

        _metrics = Metrics(
            received=Counter(
                "meterwise_webhooks_received", "Webhook deliveries received", ["provider"]
            ),
            stored=Counter("meterwise_webhooks_stored", "Events stored", ["provider"]),
            duplicate=Counter("meterwise_webhooks_duplicate", "Duplicate deliveries", ["provider"]),
            rejected=Counter(
                "meterwise_webhooks_rejected", "Deliveries rejected", ["provider", "reason"]
            ),
            latency=Histogram(
                "meterwise_webhook_seconds",
                "Webhook handling time",
                ["provider"],
                buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5),
            ),
        )
    return _metrics


_children: dict[tuple[int, str, tuple[str, ...]], Any] = {}


def _child(name: str, labels: tuple[str, ...]) -> Any:
    """The labelled series, looked up once per process (``labels()`` validates and locks on
    every call); the label sets are bounded, so is this cache."""
    key = (os.getpid(), name, labels)
    child = _children.get(key)
    if child is None:
        child = _children[key] = getattr(get_metrics(), name).labels(*labels)
    return child


def count(name: str, *labels: str, amount: float = 1) -> None:
    """Add to a counter; a metrics failure is logged, never raised."""
    try:
        _child(name, labels).inc(amount)
    except Exception:
        log.exception("metrics: cannot count %s", name)


def observe(name: str, value: float, *labels: str) -> None:
    """Record a histogram observation; a metrics failure is logged, never raised."""
    try:
        _child(name, labels).observe(value)
    except Exception:
        log.exception("metrics: cannot observe %s", name)


def render() -> tuple[bytes, str]:
    """The exposition text for ``/metrics`` (aggregated over workers when multiprocess)."""
    from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest
    from prometheus_client.multiprocess import MultiProcessCollector

    get_metrics()
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        MultiProcessCollector(registry)
        return generate_latest(registry), CONTENT_TYPE_LATEST
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST
