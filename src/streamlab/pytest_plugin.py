"""A pytest plugin: the local simulated provider as a test double for your own app.

Installed with streamlab (entry point ``pytest11``), it adds one fixture,
``streamlab_provider``: a real HTTP server on 127.0.0.1 that streams like
OpenAI and Anthropic, offline and deterministic, with per-test timing and
faults::

    def test_app_streams(streamlab_provider):
        client = streamlab_provider.openai()          # openai.OpenAI, max_retries=0
        assert collect_answer(client, "Hi")           # your code under test

    def test_app_sees_a_dropped_stream(streamlab_provider):
        client = streamlab_provider.openai(fault="drop-after=5")
        with pytest.raises(openai.APIConnectionError):
            collect_answer(client, "Hi")

One server runs per session (started on first use, zero delays by default);
everything per test lives on the fixture's object and in request headers, so
nothing a test sets reaches the next one, and ``stats`` starts at zero in
every test. ``@pytest.mark.streamlab(ttft_ms=50, ...)`` sets a test's default
controls (the keywords of ``StreamlabProvider.headers``).

This module imports only pytest when pytest starts: the server is imported
when the fixture is first used, and the SDKs (``pip install
'streamlab[course]'``) when a client is made.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:  # pragma: no cover
    from streamlab.provider.server import LocalServer

__all__ = ["StreamlabProvider", "streamlab_provider"]

#: The control keywords and the ``x-streamlab-*`` header each one sets.
CONTROL_HEADERS: dict[str, str] = {
    "ttft_ms": "x-streamlab-ttft-ms",
    "tokens_per_second": "x-streamlab-tokens-per-second",
    "jitter_ms": "x-streamlab-jitter-ms",
    "seed": "x-streamlab-seed",
    "tokens": "x-streamlab-tokens",
    "fault": "x-streamlab-fault",
    "ending": "x-streamlab-ending",
}

_MARKER = "streamlab"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        f"{_MARKER}(ttft_ms=, tokens_per_second=, jitter_ms=, seed=, tokens=, fault=, "
        "ending=): default controls for this test's streamlab_provider headers and clients",
    )


def _header_value(name: str, value: object) -> str:
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise TypeError(
            f"streamlab_provider: {name}= takes a number or a string, got {value!r} "
            f"({type(value).__name__})"
        )
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


class StreamlabProvider:
    """What the ``streamlab_provider`` fixture gives a test: one server, per-test controls.

    Controls are keywords (all optional, ``None`` = the server's default):
    ``ttft_ms`` (time to first token), ``tokens_per_second`` (0 = as fast as
    possible), ``jitter_ms``, ``seed``, ``tokens`` (answer length), ``fault``
    (e.g. ``"drop-after=5"``, ``"error-after=3"``, ``"status=429;retry-after=0"``,
    ``"stall-after=2;seconds=1"``) and ``ending`` (``"refusal"``,
    ``"max-tokens"``, ...). Their meaning is the ``x-streamlab-*`` headers' in
    the ``streamlab.provider`` docstring. The server itself runs with zero
    delays, so a test is fast unless it asks for timing.
    """

    def __init__(self, server: LocalServer, defaults: Mapping[str, Any] | None = None) -> None:
        self.server = server
        self.defaults: dict[str, Any] = {}
        self.defaults = self._controls(dict(defaults or {}))

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT``: the Anthropic SDK's base_url."""
        return self.server.base_url

    @property
    def openai_base_url(self) -> str:
        """``base_url + "/v1"``: the OpenAI SDK's base_url (``OPENAI_BASE_URL``)."""
        return self.server.openai_base_url

    @property
    def stats(self) -> dict[str, Any]:
        """The server's counters since this test started: requests, started, completed,
        cancelled, dropped, active_generations (0 when nothing streams)."""
        return self.server.stats

    def _controls(self, controls: dict[str, Any]) -> dict[str, Any]:
        unknown = sorted(set(controls) - set(CONTROL_HEADERS))
        if unknown:
            raise TypeError(
                f"streamlab_provider: unknown control(s) {unknown}; "
                f"the controls are {', '.join(CONTROL_HEADERS)}"
            )
        given = {k: v for k, v in controls.items() if v is not None}
        return {**self.defaults, **given}

    def headers(
        self,
        *,
        ttft_ms: float | None = None,
        tokens_per_second: float | None = None,
        jitter_ms: float | None = None,
        seed: int | None = None,
        tokens: int | None = None,
        fault: str | None = None,
        ending: str | None = None,
    ) -> dict[str, str]:
        """The ``x-streamlab-*`` headers for these controls (plus the test's defaults).

        Pass them per request (``extra_headers=``) or per client
        (``default_headers=``). A value the server would refuse raises
        ``ValueError`` here, naming the header::

            client.responses.create(..., extra_headers=streamlab_provider.headers(
                ttft_ms=0, fault="drop-after=5"))
        """
        from starlette.datastructures import Headers

        from streamlab.provider.config import controls_from

        controls = {
            "ttft_ms": ttft_ms,
            "tokens_per_second": tokens_per_second,
            "jitter_ms": jitter_ms,
            "seed": seed,
            "tokens": tokens,
            "fault": fault,
            "ending": ending,
        }
        out = {
            CONTROL_HEADERS[name]: _header_value(name, value)
            for name, value in self._controls(controls).items()
        }
        controls_from(Headers(out), self.server.settings)  # the server's own checks
        return out

    def _client(self, factory: str, kwargs: dict[str, Any]) -> Any:
        controls = {name: kwargs.pop(name) for name in CONTROL_HEADERS if name in kwargs}
        kwargs.setdefault("max_retries", 0)
        kwargs["default_headers"] = {
            **self.headers(**controls),
            **(kwargs.get("default_headers") or {}),
        }
        return getattr(self.server, factory)(**kwargs)

    def openai(self, **kwargs: Any) -> Any:
        """An ``openai.OpenAI`` client on this server; every request it makes has the controls.

        Takes the keywords of ``headers()`` (``openai(fault="drop-after=5")``);
        the others go to the client: ``max_retries`` defaults to 0, so a fault
        is seen once, not retried; ``default_headers`` are merged.
        """
        return self._client("openai", kwargs)

    def async_openai(self, **kwargs: Any) -> Any:
        """An ``openai.AsyncOpenAI`` client, as ``openai()``. Close it (``async with``)."""
        return self._client("async_openai", kwargs)

    def anthropic(self, **kwargs: Any) -> Any:
        """An ``anthropic.Anthropic`` client, as ``openai()``."""
        return self._client("anthropic", kwargs)

    def async_anthropic(self, **kwargs: Any) -> Any:
        """An ``anthropic.AsyncAnthropic`` client, as ``openai()``. Close it (``async with``)."""
        return self._client("async_anthropic", kwargs)

    def __repr__(self) -> str:
        return f"<StreamlabProvider {self.base_url} defaults={self.defaults}>"


@pytest.fixture(scope="session")
def _streamlab_server() -> Iterator[LocalServer]:
    """The session's local provider (zero delays), started on first use."""
    from streamlab.provider.server import serve

    server = serve(ttft_ms=0, tokens_per_second=0, jitter_ms=0)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def streamlab_provider(
    _streamlab_server: LocalServer, request: pytest.FixtureRequest
) -> StreamlabProvider:
    """The local simulated provider (``streamlab.provider``) for this test.

    A running server on 127.0.0.1 shared by the session, with ``base_url``,
    ``openai_base_url``, SDK clients (``openai()``, ``async_openai()``,
    ``anthropic()``, ``async_anthropic()``; max_retries=0), per-test timing
    and faults (``headers(ttft_ms=..., fault=...)``, the same keywords on the
    client factories, defaults from ``@pytest.mark.streamlab(...)``) and
    ``stats`` counted from zero for this test.
    """
    marker = request.node.get_closest_marker(_MARKER)
    if marker is not None and marker.args:
        raise TypeError(f"@pytest.mark.{_MARKER} takes keywords only, got {marker.args!r}")
    _streamlab_server.reset_stats()
    return StreamlabProvider(_streamlab_server, marker.kwargs if marker is not None else None)
