"""What the course was verified with. Written by `make lock`: do not edit.

Each name maps to (floor, verified): the floor is pyproject.toml's lower
bound (the unit tests pass there), verified is the version in
requirements/dev.lock.txt, with which every test and notebook passed.
"""

LOCKED_ON = "2026-12-08"
VERIFIED: dict[str, tuple[str, str]] = {
    "openai": ("3.31", "3.63.0"),
    "anthropic": ("2.5", "2.17.0"),
    "jupyterlab": ("4.6", "4.6.7"),
    "ipywidgets": ("8.1", "8.1.9"),
    "ipykernel": ("7.4", "7.4.0"),
}
