"""Run the local provider in a background thread: ``serve()`` and ``LocalServer``.

uvicorn runs in its own thread with its own event loop, so it works from a
notebook (whose kernel already runs a loop in the main thread) and from plain
scripts alike.
"""

from __future__ import annotations

import asyncio
import importlib
import logging
import socket
import threading
import time
from typing import Any

from streamlab.provider.app import create_app
from streamlab.provider.config import (
    DEFAULT_JITTER_MS,
    DEFAULT_TOKENS_PER_SECOND,
    DEFAULT_TTFT_MS,
    Settings,
)

DUMMY_KEY = "sk-streamlab-local"

#: Biggest WebSocket message the lesson endpoint accepts (uvicorn's default is 16 MiB).
MAX_WS_MESSAGE_BYTES = 1024 * 1024


class _QuietDrops(logging.Filter):
    """Hide uvicorn's complaint when we cut a stream on purpose (drop faults)."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "returned without completing response" not in record.getMessage()


def _uvicorn_log_config() -> dict[str, Any]:
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"quiet_drops": {"()": _QuietDrops}},
        "formatters": {"plain": {"format": "%(levelname)s [streamlab server] %(message)s"}},
        "handlers": {
            "stderr": {
                "class": "logging.StreamHandler",
                "formatter": "plain",
                "filters": ["quiet_drops"],
                "stream": "ext://sys.stderr",
            }
        },
        "loggers": {
            "uvicorn": {"handlers": ["stderr"], "level": "WARNING", "propagate": False},
            "uvicorn.error": {"handlers": ["stderr"], "level": "WARNING", "propagate": False},
            "uvicorn.access": {"handlers": ["stderr"], "level": "WARNING", "propagate": False},
        },
    }


class LocalServer:
    """A running local provider. Use ``serve()`` to start one.

    >>> with serve(ttft_ms=0, tokens_per_second=0) as server:
    ...     client = server.openai()
    ...     print(client.responses.create(model="streamlab-local", input="Hi").output_text)
    A garden grows best in soil that is rich and well drained. ...
    """

    def __init__(self, settings: Settings, host: str = "127.0.0.1", port: int = 0) -> None:
        import uvicorn

        from streamlab.provider._bounded_http import BoundedHeadProtocol

        self.settings = settings
        self.host = host
        self.app = create_app(settings)
        self._sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            self._sock.bind((host, port))
        except OSError as exc:
            self._sock.close()
            raise OSError(
                exc.errno,
                f"cannot listen on {host}:{port}: {exc.strerror}. Use port=0 to pick a free port.",
            ) from None
        self.port: int = self._sock.getsockname()[1]
        config = uvicorn.Config(
            self.app,
            log_config=_uvicorn_log_config(),
            log_level="warning",
            access_log=False,
            lifespan="off",
            ws="websockets-sansio",
            ws_max_size=MAX_WS_MESSAGE_BYTES,
            http=BoundedHeadProtocol,
            timeout_graceful_shutdown=1,
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._run, name=f"streamlab-server-{self.port}", daemon=True
        )
        self._error: BaseException | None = None
        self._thread.start()
        deadline = time.monotonic() + 15
        while not self._server.started:
            if self._error is not None or not self._thread.is_alive():
                raise RuntimeError(f"the local provider failed to start: {self._error!r}")
            if time.monotonic() > deadline:
                raise RuntimeError("the local provider did not start within 15 s")
            time.sleep(0.005)

    def _run(self) -> None:
        try:
            asyncio.run(self._server.serve(sockets=[self._sock]))
        except BaseException as exc:  # reported to the thread that called serve()
            self._error = exc

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT``: the Anthropic SDK's base_url."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    @property
    def openai_base_url(self) -> str:
        """``base_url + "/v1"``: the OpenAI SDK's base_url."""
        return self.base_url + "/v1"

    @property
    def stats(self) -> dict[str, Any]:
        """Counters: active_generations (0 when idle), started, completed, cancelled, dropped."""
        return self.app.state.stats.as_dict()

    def reset_stats(self) -> None:
        """Zero ``stats`` (streams still running stay counted in ``active_generations``)."""
        self.app.state.stats.reset()

    @property
    def running(self) -> bool:
        return self._thread.is_alive() and not self._server.should_exit

    def _key(self) -> str:
        return self.settings.api_key or DUMMY_KEY

    def _client(self, sdk: str, cls: str, base_url: str, kwargs: dict[str, Any]) -> Any:
        """``sdk.cls(base_url=..., **kwargs)`` with this server's key unless one is given."""
        try:
            module = importlib.import_module(sdk)
        except ModuleNotFoundError as exc:
            if exc.name != sdk:
                raise
            raise ModuleNotFoundError(
                f"{cls} needs the {sdk!r} SDK, which is not installed here: "
                f"pip install 'streamlab[course]' (or pip install {sdk}).",
                name=sdk,
            ) from None
        kwargs.setdefault("api_key", self._key())
        return getattr(module, cls)(base_url=base_url, **kwargs)

    def openai(self, **kwargs: Any) -> Any:
        """An ``openai.OpenAI`` client pointed at this server (kwargs go to the client)."""
        return self._client("openai", "OpenAI", self.openai_base_url, kwargs)

    def async_openai(self, **kwargs: Any) -> Any:
        """An ``openai.AsyncOpenAI`` client pointed at this server. Close it (``async with``)."""
        return self._client("openai", "AsyncOpenAI", self.openai_base_url, kwargs)

    def anthropic(self, **kwargs: Any) -> Any:
        """An ``anthropic.Anthropic`` client pointed at this server."""
        return self._client("anthropic", "Anthropic", self.base_url, kwargs)

    def async_anthropic(self, **kwargs: Any) -> Any:
        """An ``anthropic.AsyncAnthropic`` client pointed at this server. Close it (``async with``)."""
        return self._client("anthropic", "AsyncAnthropic", self.base_url, kwargs)

    def stop(self, timeout: float = 5.0) -> None:
        """Stop serving: open streams are cut, the port is released. Safe to call twice."""
        self._server.should_exit = True
        self._thread.join(timeout)
        try:
            self._sock.close()
        except OSError:
            pass

    def __enter__(self) -> LocalServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = "running" if self.running else "stopped"
        s = self.settings
        return (
            f"<LocalServer {self.base_url} {state} ttft_ms={s.ttft_ms} "
            f"tokens_per_second={s.tokens_per_second} jitter_ms={s.jitter_ms} seed={s.seed}"
            f"{' api_key=***' if s.api_key else ''}>"
        )


def serve(
    host: str = "127.0.0.1",
    port: int = 0,
    *,
    ttft_ms: float = DEFAULT_TTFT_MS,
    tokens_per_second: float = DEFAULT_TOKENS_PER_SECOND,
    jitter_ms: float = DEFAULT_JITTER_MS,
    seed: int = 0,
    api_key: str | None = None,
) -> LocalServer:
    """Start the local provider in a background thread; return once it accepts connections.

    ``port=0`` picks a free port. ``tokens_per_second=0`` and ``ttft_ms=0``
    remove all delays (tests). With ``api_key`` set, requests must present it
    (``Authorization: Bearer`` or ``x-api-key``) or get the provider's 401.
    """
    settings = Settings(
        ttft_ms=ttft_ms,
        tokens_per_second=tokens_per_second,
        jitter_ms=jitter_ms,
        seed=seed,
        api_key=api_key,
    )
    return LocalServer(settings, host=host, port=port)
