"""Errors raised while loading settings and plans."""

from __future__ import annotations


class ConfigError(ValueError):
    """Raised when the configuration file is missing, unreadable or has a bad key."""

    def __init__(self, key: str, problem: str) -> None:
        self.key = key
        self.problem = problem
        super().__init__(f"config: {key}: {problem}")


class UnknownPlan(LookupError):
    """Raised when a plan id is not in the catalog in force."""

    def __init__(self, plan_id: str) -> None:
        self.plan_id = plan_id
        super().__init__(f"unknown plan {plan_id!r}")
