"""Load code from the course notebooks into tests.

Solutions live only in ``notebooks/solutions/``; tests that prove a check
accepts its solution execute the cells tagged ``solution`` (cell metadata
``"tags": ["solution"]``) and take the names they define.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from _support import ROOT


def notebook_path(name: str, *, solutions: bool = False) -> Path:
    """``notebook_path("02")`` -> notebooks/02-....ipynb (or its solution)."""
    folder = ROOT / "notebooks" / ("solutions" if solutions else "")
    matches = sorted(folder.glob(f"{name}*.ipynb"))
    if len(matches) != 1:
        raise LookupError(f"expected one notebook matching {name!r} in {folder}, found {matches}")
    return matches[0]


def tagged_code(path: Path, tag: str = "solution") -> str:
    nb = json.loads(path.read_text())
    cells = [
        "".join(c["source"])
        for c in nb["cells"]
        if c["cell_type"] == "code" and tag in c.get("metadata", {}).get("tags", [])
    ]
    if not cells:
        raise LookupError(f"{path.name} has no code cells tagged {tag!r}")
    return "\n\n".join(cells)


def load_solutions(name: str, tag: str = "solution") -> dict[str, Any]:
    """Execute the solution notebook's cells tagged ``tag``; return their namespace."""
    path = notebook_path(name, solutions=True)
    namespace: dict[str, Any] = {"__name__": f"solutions_{name}"}
    exec(compile(tagged_code(path, tag), str(path), "exec"), namespace)
    return namespace
