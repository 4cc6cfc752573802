"""Values shared by the provider adapters: the parsed event and the payload error."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Sequence
from typing import Any

from meterwise.storage.records import Entity, Parsed

__all__ = ["BadPayload", "Entity", "Parsed", "REPLAY"]

_SURROGATE = re.compile(rb"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")


class BadPayload(Exception):
    """Raised when a body cannot be accepted; carries the HTTP status and an error code."""

    def __init__(self, status: int, code: str, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.code = code
        self.detail = detail


# Set by `meterwise rebuild` when it re-parses stored bodies. A space is not allowed in an
# HTTP header name, so no delivery can carry it.
REPLAY = "meterwise replay"


def _no_constant(name: str) -> Any:
    raise BadPayload(400, "invalid_json", f"{name} is not JSON (RFC 8259 has no NaN or Infinity)")


def _bounded_int(text: str) -> int:
    # Checked on the digits, before int() (which refuses more than 4300 of them).
    if len(text.lstrip("-")) > 19 or not -(2**63) <= int(text) < 2**63:
        raise BadPayload(422, "invalid_fields", "an integer does not fit in 64 bits")
    return int(text)


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise BadPayload(422, "invalid_fields", f"a number is out of range: {text[:40]}")
    return value


def load_json(raw: bytes) -> Any:
    """Decode a standard JSON body or raise `BadPayload`: 400 for what is not JSON (NaN and
    Infinity included), 422 for numbers no field can hold (beyond 64 bits, overflowing)."""
    try:
        doc = json.loads(
            raw,
            parse_constant=_no_constant,
            parse_int=_bounded_int,
            parse_float=_finite_float,
        )
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BadPayload(400, "invalid_json", f"body is not valid JSON: {exc}") from None
    except ValueError as exc:  # anything int() or float() still refuses
        raise BadPayload(422, "invalid_fields", f"a number is out of range: {exc}") from None
    except RecursionError:
        raise BadPayload(400, "invalid_json", "body is nested too deeply") from None
    if _SURROGATE.search(raw):
        # "\ud800" escapes decode to strings no UTF-8 store can hold; paired ones are fine.
        try:
            json.dumps(doc, ensure_ascii=False).encode("utf-8")
        except UnicodeEncodeError:
            raise BadPayload(
                422, "invalid_fields", "a string holds an unpaired UTF-16 surrogate escape"
            ) from None
    return doc


def require_object(
    doc: Any,
    fields: Sequence[str],
    what: str = "the body",
    present: Callable[[Any], bool] = lambda v: v not in (None, ""),
    either: Sequence[str] = (),
) -> dict[str, Any]:
    """``doc`` as an object with every field present (and one of ``either``, if given),
    else a 422 naming everything that is missing."""
    if not isinstance(doc, dict):
        raise BadPayload(422, "not_an_object", f"{what} must be a JSON object")
    missing = [f for f in fields if not present(doc.get(f))]
    if either and not any(f in doc for f in either):
        missing.append(" or ".join(either))
    if missing:
        raise BadPayload(422, "missing_fields", f"{what} lacks: " + ", ".join(missing))
    return doc


def as_bool(value: Any) -> bool | None:
    """A real boolean from ``true``/``"true"`` (JaaS sends both), else None."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    return None


def as_str(value: Any) -> str | None:
    """A string field, or None when absent or of another type."""
    if value is None:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    return None


def as_int(value: Any) -> int | None:
    """An integer field (also from an integral float or a digit string) that fits in 64
    bits, else None."""
    if isinstance(value, bool):
        return None
    number: int | None = None
    if isinstance(value, int):
        number = value
    elif isinstance(value, float) and value.is_integer():
        number = int(value)
    elif isinstance(value, str) and 0 < len(value) <= 20 and value.strip().lstrip("-").isdigit():
        number = int(value)
    return number if number is not None and -(2**63) <= number < 2**63 else None


EARLIEST_MS = 946_684_800_000  # 2000-01-01T00:00:00Z: no usage webhook is older
_TIME_FIELDS = ("ts_ms", "start_ts_ms", "end_ts_ms")


def check_times(events: Sequence[Parsed], now_ms: int, max_future_s: int) -> None:
    """Refuse (422 ``timestamp_out_of_range``) any event, entity or row time before 2000 or
    more than ``max_future_s`` after receipt; late events are fine."""
    latest = now_ms + max_future_s * 1000
    for ev in events:
        times = [ev.ts_ms, *(e.ts_ms for e in ev.entities)]
        times += [
            row[f]
            for rows in ev.rows.values()
            for row in rows
            for f in _TIME_FIELDS
            if isinstance(row.get(f), int)
        ]
        for ms in times:
            if not EARLIEST_MS <= ms <= latest:
                raise BadPayload(
                    422,
                    "timestamp_out_of_range",
                    f"event time {ms} ms is before 2000-01-01 or more than {max_future_s} s "
                    "after receipt (max_future_s)",
                )
