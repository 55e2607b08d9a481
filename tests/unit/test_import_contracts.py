"""The import contracts of pyproject.toml ([tool.importlinter]) hold on the tree, and they are not
vacuous: a copy of the package with a wrong-way import breaks exactly the contract that forbids it.

lint-imports runs in a subprocess so that it finds the package on its own path (the copy, in the
second test) rather than the one this interpreter has already imported.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LINT_IMPORTS = "import sys; from importlinter.cli import lint_imports_command; sys.exit(lint_imports_command())"
LAYERS = "Layers: entrypoints -> simulation -> services -> adapters -> domain -> policies -> shared utilities"
SETTINGS = "Settings are read at the edge: only the entry points import shouhou.config"
AREAS = "Services: wiring -> reaction and deadline tables -> independent areas -> read side -> shared"


def lint_imports(where: Path) -> subprocess.CompletedProcess[str]:
    """`lint-imports` on the package `shouhou` found first on the path in `where`, with the
    contracts of `where`/pyproject.toml."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(where), os.environ.get("PYTHONPATH", "")]),
           "COLUMNS": "200", "NO_COLOR": "1"}
    return subprocess.run([sys.executable, "-c", LINT_IMPORTS, "--no-cache", str(where / "pyproject.toml")],
                          cwd=where, env=env, capture_output=True, text=True, timeout=60)


def test_the_tree_keeps_every_import_contract() -> None:
    result = lint_imports(ROOT)
    out = " ".join(result.stdout.split())  # rich wraps long contract names
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"{LAYERS} KEPT" in out and f"{SETTINGS} KEPT" in out and f"{AREAS} KEPT" in out
    assert " 0 broken" in out


def test_a_wrong_way_import_breaks_the_contract_that_forbids_it(tmp_path: Path) -> None:
    shutil.copytree(ROOT / "shouhou", tmp_path / "shouhou", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    # the domain reaching up into the API, and a use case reading the settings itself
    with (tmp_path / "shouhou" / "domain" / "refund.py").open("a", encoding="utf-8") as f:
        f.write("\nfrom .. import entrypoints  # noqa: E402,F401\n")
    with (tmp_path / "shouhou" / "services" / "__init__.py").open("a", encoding="utf-8") as f:
        f.write("\nfrom .. import config  # noqa: E402,F401\n")
    # one business area calling another directly instead of through the reaction table, and the
    # read side importing the write side
    with (tmp_path / "shouhou" / "services" / "money.py").open("a", encoding="utf-8") as f:
        f.write("\nfrom . import governance  # noqa: E402,F401\n")
    with (tmp_path / "shouhou" / "services" / "views" / "tickets.py").open("a", encoding="utf-8") as f:
        f.write("\nfrom .. import tickets  # noqa: E402,F401\n")

    result = lint_imports(tmp_path)
    out = " ".join(result.stdout.split())

    assert result.returncode != 0, out
    assert f"{LAYERS} BROKEN" in out and f"{SETTINGS} BROKEN" in out and f"{AREAS} BROKEN" in out, out
    assert "shouhou.domain.refund -> shouhou.entrypoints " in out, out
    assert "shouhou.services -> shouhou.config " in out, out
    assert "shouhou.services.money -> shouhou.services.governance " in out, out
    assert "shouhou.services.views.tickets -> shouhou.services.tickets " in out, out
    assert "Contracts: 0 kept, 3 broken." in out, out
