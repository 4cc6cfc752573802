"""Provider adapters: each module authenticates and parses one provider's webhooks.

A provider module exposes ``NAME``, ``NEEDS_SECRETS``, ``OPTIONS`` (its account options),
``authenticate(headers, raw, account, now)``, ``peek_key(raw, headers)`` and
``parse(raw, account, headers, received_ms)``. Every module in this package except ``base``
is one: adding a provider is one new module here, its options in ``config/providers.py`` and
its plans in ``config/plans.toml``.
"""

from __future__ import annotations

import importlib
import pkgutil
from types import ModuleType


def _discover() -> dict[str, ModuleType]:
    found = {}
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda i: i.name):
        if info.name != "base":
            module = importlib.import_module(f"{__name__}.{info.name}")
            found[module.NAME] = module
    return found


PROVIDERS: dict[str, ModuleType] = _discover()
