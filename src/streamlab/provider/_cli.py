"""``streamlab serve``: run the local provider in the foreground."""

from __future__ import annotations

import argparse
import os
import signal
import threading

from streamlab.provider.config import DEFAULT_JITTER_MS, DEFAULT_TOKENS_PER_SECOND, DEFAULT_TTFT_MS


def add_serve_parser(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "serve",
        help="run the local simulated provider (OpenAI and Anthropic wire formats)",
        description="Run the local simulated provider in the foreground until Ctrl-C. "
        "It speaks the OpenAI Responses, Chat Completions and Anthropic Messages APIs, "
        "streamed and not, so the real SDKs work offline. Per-request controls: "
        "x-streamlab-* headers (see `python -c 'import streamlab.provider as p; help(p)'`).",
    )
    p.add_argument(
        "--host", default="127.0.0.1", help="address to bind (default 127.0.0.1: this machine only)"
    )
    p.add_argument("--port", type=int, default=8765, help="port (default 8765; 0 picks a free one)")
    p.add_argument(
        "--ttft-ms",
        type=float,
        default=DEFAULT_TTFT_MS,
        help=f"time to first token (default {DEFAULT_TTFT_MS:g})",
    )
    p.add_argument(
        "--tokens-per-second",
        type=float,
        default=DEFAULT_TOKENS_PER_SECOND,
        help=f"tokens per second, 0 for no delay (default {DEFAULT_TOKENS_PER_SECOND:g})",
    )
    p.add_argument(
        "--jitter-ms",
        type=float,
        default=DEFAULT_JITTER_MS,
        help=f"random jitter per token (default {DEFAULT_JITTER_MS:g})",
    )
    p.add_argument("--seed", type=int, default=0, help="default seed for generation (default 0)")
    p.add_argument(
        "--fast",
        action="store_true",
        help="no delays at all (same as --ttft-ms 0 --tokens-per-second 0 --jitter-ms 0)",
    )
    p.add_argument(
        "--api-key",
        default=os.environ.get("STREAMLAB_SERVER_API_KEY"),
        help="require this key (default: accept any; env STREAMLAB_SERVER_API_KEY)",
    )
    p.set_defaults(func=run_serve)


def run_serve(args: argparse.Namespace) -> int:
    from streamlab.provider.server import serve

    if args.fast:
        args.ttft_ms = args.tokens_per_second = args.jitter_ms = 0
    try:
        server = serve(
            args.host,
            args.port,
            ttft_ms=args.ttft_ms,
            tokens_per_second=args.tokens_per_second,
            jitter_ms=args.jitter_ms,
            seed=args.seed,
            api_key=args.api_key,
        )
    except (OSError, ValueError) as exc:
        print(f"streamlab serve: {exc}")
        return 2
    key = "<the --api-key you chose>" if args.api_key else "anything"
    print(f"streamlab local provider listening on {server.base_url}", flush=True)
    print(
        f"  timing: first token {args.ttft_ms:g} ms, {args.tokens_per_second:g} tokens/s, "
        f"jitter {args.jitter_ms:g} ms, seed {args.seed}"
    )
    print("Point the SDKs at it:")
    print(f'  OpenAI:    OpenAI(base_url="{server.openai_base_url}", api_key="{key}")')
    print(f'  Anthropic: Anthropic(base_url="{server.base_url}", api_key="{key}")')
    print(
        f"  or: export OPENAI_BASE_URL={server.openai_base_url} ANTHROPIC_BASE_URL={server.base_url}"
    )
    print("Press Ctrl-C to stop.", flush=True)
    done = threading.Event()
    # SIGINT too, explicitly: a process started in the background by a
    # non-interactive shell inherits SIGINT as *ignored*, and Python then never
    # raises KeyboardInterrupt, so Ctrl-C (or a test's SIGINT) would do nothing.
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: done.set())
    try:
        while not done.wait(0.5):
            if not server.running:
                print("streamlab serve: the server stopped unexpectedly")
                return 1
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
    print("stopped.")
    return 0
