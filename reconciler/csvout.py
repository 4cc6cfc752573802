"""The one CSV writer: every CSV Meterwise writes goes through it. Pure.

Cells that a spreadsheet would run as a formula (starting with ``=``, ``+``, ``-``, ``@``, a tab
or a carriage return) are written with a leading single quote (OWASP's advice on CSV
injection), unless the whole cell is a plain number such as ``-49.50``, which no spreadsheet
reads as a formula. Device ids, user ids, emails and names come from webhooks: anyone who can
join a meeting can choose them.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Sequence
from typing import Any

_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"^[+-]?\d+(\.\d+)?$")


def safe_cell(value: Any) -> Any:
    """``value`` as written to a CSV cell: formula triggers neutralised."""
    if value is None:
        return ""
    if not isinstance(value, str):
        return value
    if value.startswith(_TRIGGERS) and not _PLAIN_NUMBER.match(value):
        return "'" + value
    return value


def write_csv(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    """A header row and data rows as CSV text (``\\n`` line ends), every cell made safe."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow([safe_cell(c) for c in header])
    writer.writerows([safe_cell(c) for c in row] for row in rows)
    return buf.getvalue()
