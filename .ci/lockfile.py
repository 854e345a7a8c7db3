"""Read the lock files that `make lock` writes, and say what differs from them.

    python .ci/lockfile.py verified      write src/streamlab/_verified.py from the lock
    python .ci/lockfile.py drift [LOCK]  list installed packages whose version is not the
                                         lock's (what `make test-latest` runs against)

The lock (requirements/dev.lock.txt) is the one place that says what the course
was verified with; `_verified.py` is generated from it so that an installed
streamlab, which ships no lock, can still tell (`streamlab info`, notebook 00).
tests/test_lock.py fails when the two disagree.
"""

from __future__ import annotations

import datetime
import re
import sys
import tomllib
from importlib import metadata
from pathlib import Path

from packaging.markers import Marker
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parent.parent
DEV_LOCK = ROOT / "requirements" / "dev.lock.txt"
COURSE_LOCK = ROOT / "requirements" / "course.lock.txt"
VERIFIED_MODULE = ROOT / "src" / "streamlab" / "_verified.py"
#: What the course is verified against, by name: the SDKs it teaches and the Lab it runs in.
VERIFIED_NAMES = ("openai", "anthropic", "jupyterlab", "ipywidgets", "ipykernel")

# `name==version ; marker \` (the marker is optional; hashes follow on their own lines).
_PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;\\]+)\s*(?:;\s*(.*?))?\s*\\?\s*$")


def read_lock(path: Path) -> list[tuple[str, str, str | None]]:
    """Every pin in a uv-compiled requirements file: (canonical name, version, marker or None)."""
    pins = []
    for line in path.read_text().splitlines():
        m = _PIN.match(line)
        if m:
            pins.append((canonicalize_name(m[1]), m[2], m[3] or None))
    return pins


def pins_here(path: Path) -> dict[str, str]:
    """The lock's pins that apply to this interpreter (markers evaluated here)."""
    return {
        name: version
        for name, version, marker in read_lock(path)
        if marker is None or Marker(marker).evaluate()
    }


def floors() -> dict[str, str]:
    """The lowest version pyproject.toml allows for each verified package (its `>=` bound)."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    reqs = list(project["dependencies"])
    for extra in project["optional-dependencies"].values():
        reqs += extra
    out = {}
    for line in reqs:
        r = Requirement(line)
        for spec in r.specifier:
            if spec.operator == ">=" and canonicalize_name(r.name) in VERIFIED_NAMES:
                out[canonicalize_name(r.name)] = spec.version
    return out


def verified_source(lock: Path = DEV_LOCK) -> str:
    """The text of src/streamlab/_verified.py for this lock."""
    pins = {}
    for name, version, _marker in read_lock(lock):
        if name in VERIFIED_NAMES:
            pins[name] = version  # these have no per-Python pins; a later line would win
    missing = [n for n in VERIFIED_NAMES if n not in pins]
    if missing:
        raise SystemExit(f"{lock} has no pin for {missing}: is it the dev lock?")
    low = floors()
    rows = "\n".join(f'    "{n}": ("{low.get(n, "0")}", "{pins[n]}"),' for n in VERIFIED_NAMES)
    stamp = datetime.date.today()  # the day `make lock` ran; tests compare only VERIFIED
    return (
        '"""What the course was verified with. Written by `make lock`: do not edit.\n\n'
        "Each name maps to (floor, verified): the floor is pyproject.toml's lower\n"
        "bound (the unit tests pass there), verified is the version in\n"
        "requirements/dev.lock.txt, with which every test and notebook passed.\n"
        '"""\n\n'
        f'LOCKED_ON = "{stamp}"\n'
        "VERIFIED: dict[str, tuple[str, str]] = {\n"
        f"{rows}\n"
        "}\n"
    )


def drift(lock: Path = DEV_LOCK) -> list[tuple[str, str, str]]:
    """(name, locked, installed) for every locked package installed here at another version."""
    out = []
    for name, locked in sorted(pins_here(lock).items()):
        try:
            installed = metadata.version(name)
        except metadata.PackageNotFoundError:
            installed = "not installed"
        if installed != locked:
            out.append((name, locked, installed))
    return out


def main(argv: list[str]) -> int:
    if argv[:1] == ["verified"]:
        VERIFIED_MODULE.write_text(verified_source())
        print(f"wrote {VERIFIED_MODULE.relative_to(ROOT)}")
        return 0
    if argv[:1] == ["drift"]:
        lock = Path(argv[1]) if len(argv) > 1 else DEV_LOCK
        rows = drift(lock)
        if not rows:
            print(f"drift: every package is at the version in {lock.name}")
        else:
            print(f"drift: {len(rows)} packages differ from {lock.name} (locked -> installed):")
            for name, locked, installed in rows:
                print(f"  {name:<28} {locked:>12} -> {installed}")
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
