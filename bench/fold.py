"""Fold throughput: how fast queued events reach the aggregates, beside how fast the
insert-only write path stores them, in the same run on the same database file.

Stores N JaaS USAGE deliveries (3 devices each, a quarter of them returning devices) through
the storage layer's `store_delivery`, then folds them all with `fold_pending` (batches of
`reconciler.fold.BATCH` in one transaction each), and prints both rates and their ratio;
repeated --rounds times on fresh files, median shown.

    python bench/fold.py [--deliveries 20000] [--rounds 3]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from meterwise.config.settings import parse_settings  # noqa: E402
from meterwise.receiver.providers import jaas  # noqa: E402
from meterwise.receiver.testing import envelope  # noqa: E402
from meterwise.reconciler.fold import BATCH, fold_pending  # noqa: E402
from meterwise.storage import connect  # noqa: E402


def one_round(n: int) -> tuple[float, float, int]:
    work = Path(tempfile.mkdtemp(prefix="meterwise-fold-bench-"))
    doc = {
        "storage": {"path": str(work / "fold.db")},
        "accounts": [
            {
                "id": "bench",
                "provider": "jaas",
                "plan": "jaas-business",
                "cycle_anchor": time.strftime("%Y-%m-01"),
                "webhook_secrets": ["whsec_bench00000000000000000000000000"],
            }
        ],
    }
    settings = parse_settings(doc, {}, "bench")
    account = settings.accounts["bench"]
    store = connect(settings.storage_path)
    now = int(time.time() * 1000)
    parsed = []
    for i in range(n):
        devices = [{"deviceId": f"d{(i * 3 + k) % (n * 9 // 4 + 1)}"} for k in range(3)]
        body = json.dumps(envelope("USAGE", now - i * 1000, devices, session_id=f"s{i // 10}"))
        parsed.append(jaas.parse(body.encode(), account, {}))
    began = time.perf_counter()
    for i, events in enumerate(parsed):
        store.store_delivery("bench", "jaas", events, now + i)
    stored_s = time.perf_counter() - began
    began = time.perf_counter()
    folded = fold_pending(store, settings)
    fold_s = time.perf_counter() - began
    assert folded == n and store.pending_folds() == 0
    store.close()
    return n / stored_s, n / fold_s, folded


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deliveries", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    runs = [one_round(args.deliveries) for _ in range(args.rounds)]
    store_rate = statistics.median(r[0] for r in runs)
    fold_rate = statistics.median(r[1] for r in runs)
    print(f"fold bench: {args.deliveries:,} USAGE deliveries x {args.rounds} rounds (median)")
    print(f"  store_delivery (one transaction each): {store_rate:10,.0f} deliveries/s")
    print(f"  fold_pending ({BATCH:,} per transaction):    {fold_rate:10,.0f} events/s")
    print(f"  fold / store ratio:                    {fold_rate / store_rate:10.1f}")


if __name__ == "__main__":
    main()
