"""What every answer carries and the one access-log line per request, shared by the Flask
app and the webhook hot path (`receiver.webhooks`)."""

from __future__ import annotations

import json
import logging

from meterwise.receiver import metrics

access_log = logging.getLogger("meterwise.access")

# Answers carry account data (reports, the token URL): never cached, never referred.
# Cache-Control is a default: a view may say otherwise (the dashboard's icon).
NO_STORE = ("Cache-Control", "no-store")
SECURITY_HEADERS = (
    NO_STORE,
    ("Referrer-Policy", "no-referrer"),
    ("X-Content-Type-Options", "nosniff"),
)


def record(
    method: str,
    path: str,
    status: int,
    elapsed_s: float,
    outcome: str | None,
    account: str | None,
    provider: str | None,
    event_type: str | None,
) -> None:
    """The latency metric (once the provider is known to be configured) and the log line."""
    if provider:
        metrics.observe("latency", elapsed_s, provider)
    if access_log.isEnabledFor(logging.INFO):
        line = {
            "method": method,
            "path": path,
            "account": account,
            "eventType": event_type,
            "status": status,
            "outcome": outcome,
            "ms": round(elapsed_s * 1000, 2),
        }
        access_log.info(json.dumps(line))
