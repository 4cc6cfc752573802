"""Settings and the plan catalog, loaded from TOML into frozen dataclasses."""
