"""The ``streamlab`` command line.

Each subcommand lives beside the code it drives and is registered in
``_SUBCOMMANDS`` as ``name -> "module:function"``; the function receives the
argparse subparsers object and adds its parser, setting ``func`` to the
callable that runs it. Modules are imported only when the command line is
built, never on ``import streamlab``.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from streamlab import __version__

_SUBCOMMANDS: dict[str, str] = {
    "info": "streamlab.cli:add_info_parser",
    "serve": "streamlab.provider._cli:add_serve_parser",
}


def add_info_parser(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "info",
        help="show versions and which provider the notebooks will use",
        description="Show the installed versions and the provider the notebooks will talk to "
        "(set by STREAMLAB_PROVIDER). API keys are never printed.",
    )
    p.set_defaults(func=_run_info)


def _run_info(args: argparse.Namespace) -> int:
    import os
    from importlib.metadata import PackageNotFoundError, version

    from streamlab.provider.switch import DEFAULT_MODELS, rehearsing
    from streamlab.versions import LOCKED_ON, version_table

    print(f"streamlab {__version__} on Python {sys.version.split()[0]}")
    print(f"  {'package':<11} {'installed':<14} verified (locked {LOCKED_ON}; floor)")
    verified = {row.name: row for row in version_table()}
    for dist in (
        "openai",
        "anthropic",
        "httpx",
        "starlette",
        "uvicorn",
        "ipywidgets",
        "jupyterlab",
    ):
        row = verified.get(dist)
        try:
            installed = version(dist)
        except PackageNotFoundError:
            installed = "not installed"
        note = ""
        if row is not None:
            flag = {"older": "  <- older than the floor", "newer": "  <- newer than verified"}
            note = f"{row.verified} (>= {row.floor}){flag.get(row.status, '')}"
        print(f"  {dist:<11} {installed:<14} {note}".rstrip())
    kind = os.environ.get("STREAMLAB_PROVIDER", "local")
    print(f"provider: {kind} (STREAMLAB_PROVIDER)")
    if kind == "local" and rehearsing():
        names = f"{DEFAULT_MODELS['openai'][0]}, {DEFAULT_MODELS['anthropic'][1]}"
        print(f"  rehearsing the real APIs' model names: {names} (STREAMLAB_REHEARSE)")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="streamlab",
        description="streamlab: learn how LLM responses are streamed. "
        "Run `make lab` in the project folder to open the notebooks.",
    )
    parser.add_argument("--version", action="version", version=f"streamlab {__version__}")
    subparsers = parser.add_subparsers(title="commands", metavar="COMMAND")
    for name, target in _SUBCOMMANDS.items():
        module_name, _, func_name = target.partition(":")
        try:
            module = importlib.import_module(module_name)
        except ImportError as exc:  # keep the CLI usable while a part is missing
            subparsers.add_parser(name, help=f"(unavailable: {exc})")
            continue
        getattr(module, func_name)(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    func = getattr(args, "func", None)
    if func is None:
        parser.print_help()
        return 0
    return int(func(args) or 0)


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
