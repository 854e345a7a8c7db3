"""Which SDK and JupyterLab versions the course was verified with, and which are installed.

The course installs from a lock (``requirements/*.lock.txt``), but a learner
can still end up elsewhere: an older environment, a ``pip install -U``, a hub
image built last year. Between pyproject.toml's floor and the locked version
every test and notebook passed; outside that range a cell may behave
differently from what the notebook says. :func:`check_versions` says so in
one line (notebook 00's first cell calls it); ``streamlab info`` prints the
whole table.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import metadata

from streamlab._verified import LOCKED_ON, VERIFIED

__all__ = ["LOCKED_ON", "VersionRow", "check_versions", "version_table"]


@dataclass(frozen=True)
class VersionRow:
    """One package: what is installed (None if it is not), its floor and the verified version."""

    name: str
    installed: str | None
    floor: str
    verified: str

    @property
    def status(self) -> str:
        """ "verified", "older" (below the floor), "newer" (past the lock), or "missing"."""
        if self.installed is None:
            return "missing"
        here, verified = _release(self.installed), _release(self.verified)
        if here < _release(self.floor):
            return "older"
        if here > verified:
            return "newer"
        if here == verified and not re.fullmatch(r"[\d.]+", self.installed):
            return "newer"  # a pre-release or local build of the verified number
        return "verified"


def _release(version: str) -> tuple[int, ...]:
    """The release numbers of a version string ("3.63.0rc1" -> (3, 63, 0)), without packaging."""
    m = re.match(r"\d+(?:\.\d+)*", version)
    return tuple(int(x) for x in m.group().split(".")) if m else (0,)


def version_table() -> list[VersionRow]:
    """A row for each package the course was verified against (the SDKs, JupyterLab, widgets)."""
    rows = []
    for name, (floor, verified) in VERIFIED.items():
        try:
            installed: str | None = metadata.version(name)
        except metadata.PackageNotFoundError:
            installed = None
        rows.append(VersionRow(name, installed, floor, verified))
    return rows


def check_versions(names: tuple[str, ...] = ("openai", "anthropic")) -> str | None:
    """One line of warning when an installed SDK is outside the verified range, else None.

    The line is printed as well as returned, so a notebook cell only calls it.
    """
    off = [r for r in version_table() if r.name in names and r.status in ("older", "newer")]
    if not off:
        return None
    parts = [
        f"{r.name} {r.installed} is " + ("older" if r.status == "older" else "newer") for r in off
    ]
    line = (
        f"Note: {', '.join(parts)}: this course was verified with "
        + ", ".join(f"{r.name} {r.floor} to {r.verified}" for r in off)
        + ". A cell may differ from the text; `make lab` in the course folder installs the verified versions."
    )
    print(line)
    return line
