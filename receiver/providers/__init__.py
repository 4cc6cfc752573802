"""Provider adapters: each module authenticates and parses one provider's webhooks.

A provider module exposes ``NAME``, ``authenticate(headers, raw, account, now)``,
``peek_key(raw)`` and ``parse(raw, account, headers)``; adding a provider is one module
registered here plus plan data in ``config/plans.toml``.
"""

from __future__ import annotations

from types import ModuleType

from receiver.providers import cometchat, events, jaas, wll

PROVIDERS: dict[str, ModuleType] = {m.NAME: m for m in (jaas, cometchat, wll, events)}
