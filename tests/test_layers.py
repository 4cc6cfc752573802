"""The layers import one way: config <- storage <- reconciler <- receiver (HTTP app, CLI).

Every import counts, function-local ones too: a local import is never a way around a cycle.
Only the storage layer speaks to a database driver, and the pure core reads nothing stored.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LAYERS = {"config": 0, "storage": 1, "reconciler": 2, "receiver": 3}
PURE_CORE = ("cycles", "usage", "invoice", "forecast", "attribution", "alerts", "advice")
DRIVERS = ("sqlite3", "sqlite_utils", "psycopg", "psycopg_pool", "yoyo")


def modules() -> list[tuple[str, Path]]:
    return [
        (f"{package}.{'.'.join(path.relative_to(ROOT / package).with_suffix('').parts)}", path)
        for package in LAYERS
        for path in sorted((ROOT / package).rglob("*.py"))
    ]


def imported(path: Path) -> list[tuple[int, str]]:
    """(line, module) of every import in the file, at any depth."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found.append((node.lineno, node.module))
    return found


@pytest.mark.parametrize("name,path", modules(), ids=[m for m, _ in modules()])
def test_imports_go_down_only(name: str, path: Path) -> None:
    own = LAYERS[name.split(".")[0]]
    upward = [
        f"{path.relative_to(ROOT)}:{line} imports {target}"
        for line, target in imported(path)
        if target.startswith("meterwise.") and LAYERS.get(target.split(".")[1], -1) > own
    ]
    assert not upward, "\n".join(upward)


@pytest.mark.parametrize("name,path", modules(), ids=[m for m, _ in modules()])
def test_only_storage_speaks_to_the_database(name: str, path: Path) -> None:
    if name.startswith("storage."):
        return
    drivers = [t for _, t in imported(path) if t.split(".")[0] in DRIVERS]
    assert not drivers, f"{path.relative_to(ROOT)} imports {drivers}"


ENGINE_ONLY = ("conn", "db", "_write", "_transaction", "_rows", "_one", "lock")


@pytest.mark.parametrize("name,path", modules(), ids=[m for m, _ in modules()])
def test_only_the_storage_interface_is_used(name: str, path: Path) -> None:
    """Outside `storage/`, code calls `Storage`'s operations, never an engine's connection
    or helpers (mypy checks the rest: callers are typed against the Protocol), and never
    opens an engine directly with `connect`."""
    if name.startswith("storage."):
        return
    tree = ast.parse(path.read_text(), str(path))
    reached = [
        f"{path.relative_to(ROOT)}:{node.lineno} .{node.attr}"
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute)
        and node.attr in ENGINE_ONLY
        and isinstance(node.value, ast.Name)
        and node.value.id in ("store", "db", "storage")
    ]
    opened = [
        f"{path.relative_to(ROOT)}:{node.lineno} connect()"
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom)
        and node.module == "meterwise.storage"
        and any(a.name == "connect" for a in node.names)
    ]
    assert not reached + opened, "\n".join(reached + opened)


@pytest.mark.parametrize("module", PURE_CORE)
def test_the_pure_core_reads_nothing_stored(module: str) -> None:
    targets = [t for _, t in imported(ROOT / "reconciler" / f"{module}.py")]
    assert targets, "the module exists and imports something"
    assert not [t for t in targets if t.startswith("meterwise.storage")]
    assert not [t for t in targets if t.split(".")[0] in DRIVERS]


def test_the_check_sees_an_upward_import(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text("def f():\n    from meterwise.receiver.db import connect\n")
    assert imported(bad) == [(2, "meterwise.receiver.db")]
