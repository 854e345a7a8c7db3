"""The one switch every notebook uses: ``get_provider()``.

``STREAMLAB_PROVIDER`` picks the provider; the default is ``local`` even when
API keys are set, so a workshop never spends money by surprise.

Environment variables:

- ``STREAMLAB_PROVIDER``: ``local`` (default), ``openai`` or ``anthropic``.
- ``STREAMLAB_BASE_URL``: an OpenAI-compatible server (Ollama, vLLM, LM
  Studio...); implies ``openai`` when STREAMLAB_PROVIDER is unset.
  ``OPENAI_BASE_URL`` is honoured with ``STREAMLAB_PROVIDER=openai``.
- ``STREAMLAB_MODEL``: the model name to use instead of the default.
- ``STREAMLAB_REHEARSE=1``: stay on the local provider, but under the real
  providers' default model names (``DEFAULT_MODELS``), so the local provider
  refuses what those models refuse (``streamlab.provider.models``): a
  rehearsal of ``STREAMLAB_PROVIDER=openai`` / ``anthropic`` that needs no key.
  ``make test`` runs the notebooks this way.
- ``OPENAI_API_KEY`` / ``ANTHROPIC_API_KEY``: needed for the real APIs
  (never printed).
- ``STREAMLAB_TTFT_MS``, ``STREAMLAB_TOKENS_PER_SECOND``,
  ``STREAMLAB_JITTER_MS``: timing of the shared local server (e.g. all 0 in
  CI); per-request headers still win.

On a shared host (JupyterHub: ``JUPYTERHUB_API_TOKEN`` or ``JUPYTERHUB_USER``
set, see :func:`on_shared_host`), every learner's kernel starts its own local
server on the same 127.0.0.1. There the shared server is started with a fresh
random API key, which only this process's clients carry: another learner's
code that finds the port gets the provider's 401, as with a wrong real key.
"""

from __future__ import annotations

import os
import secrets
import threading
from dataclasses import dataclass
from typing import Any

from streamlab.provider.server import LocalServer, serve

KINDS = ("local", "openai", "anthropic")
# The real defaults must take what the notebooks ask for: notebook 06 asks for
# reasoning, which gpt-4.1-mini refuses (400 on reasoning.effort); both of these
# reason (gpt-5-mini: effort minimal to high; claude-haiku-4-5: thinking with a
# token budget, which request() sends it instead of adaptive thinking).
DEFAULT_MODELS = {
    "local": ("streamlab-local", "streamlab-local"),
    "openai": ("gpt-5-mini", None),
    "anthropic": (None, "claude-haiku-4-5"),
}
_YES, _NO = ("1", "true", "yes", "on"), ("", "0", "false", "no", "off")


class ProviderConfigError(RuntimeError):
    """The environment asks for a provider that cannot be used as configured."""


_shared: LocalServer | None = None
_shared_lock = threading.Lock()


def timing_from_env() -> dict[str, float]:
    """Server timing overrides from STREAMLAB_TTFT_MS, STREAMLAB_TOKENS_PER_SECOND, STREAMLAB_JITTER_MS.

    CI can set them to 0 so that every notebook runs fast; a bad value is an
    error that names the variable.
    """
    out: dict[str, float] = {}
    for var, key in (
        ("STREAMLAB_TTFT_MS", "ttft_ms"),
        ("STREAMLAB_TOKENS_PER_SECOND", "tokens_per_second"),
        ("STREAMLAB_JITTER_MS", "jitter_ms"),
    ):
        raw = os.environ.get(var)
        if raw is None or raw.strip() == "":
            continue
        try:
            value = float(raw)
        except ValueError:
            raise ProviderConfigError(
                f"{var}={raw!r} is not a number (milliseconds or tokens/s)"
            ) from None
        if value < 0:
            raise ProviderConfigError(f"{var}={raw!r} must be >= 0")
        out[key] = value
    return out


#: The variables a JupyterHub single-user server sets for its kernels.
HUB_VARIABLES = ("JUPYTERHUB_API_TOKEN", "JUPYTERHUB_USER")


def on_shared_host() -> bool:
    """True under JupyterHub, where other learners' code shares this machine's loopback."""
    return any(os.environ.get(var) for var in HUB_VARIABLES)


def shared_server() -> LocalServer:
    """The process-wide local server, started on first use.

    Default timing (first token ~300 ms, 30 tokens/s) unless the
    STREAMLAB_TTFT_MS / STREAMLAB_TOKENS_PER_SECOND / STREAMLAB_JITTER_MS
    environment variables say otherwise. On a shared host it requires a
    fresh random API key (``Provider``'s clients carry it; see the module
    docstring).
    """
    global _shared
    with _shared_lock:
        if _shared is None or not _shared.running:
            key = "sk-streamlab-" + secrets.token_urlsafe(24) if on_shared_host() else None
            _shared = serve(api_key=key, **timing_from_env())
        return _shared


@dataclass(frozen=True, repr=False)
class Provider:
    """Where the notebooks' requests go, and ready-made SDK clients for it.

    ``kind`` is "local", "openai" or "anthropic". ``model`` is the model name
    for OpenAI-style calls and ``anthropic_model`` for Anthropic ones (None
    when that API is not available with this provider).
    """

    kind: str
    model: str | None
    anthropic_model: str | None
    base_url: str | None = None  # OpenAI-compatible base URL override
    _openai_key: str | None = None
    _anthropic_key: str | None = None

    @property
    def is_local(self) -> bool:
        return self.kind == "local"

    @property
    def server(self) -> LocalServer | None:
        """The shared LocalServer (local provider only; started lazily, once per process)."""
        return shared_server() if self.is_local else None

    def _no(self, api: str) -> ProviderConfigError:
        return ProviderConfigError(
            f"STREAMLAB_PROVIDER={self.kind} does not offer the {api} API. "
            f"Use STREAMLAB_PROVIDER=local (default) to run every lesson offline, or "
            f"STREAMLAB_PROVIDER={'anthropic' if api == 'Anthropic' else 'openai'} for this cell."
        )

    def _openai_kwargs(self, kw: dict[str, Any]) -> dict[str, Any]:
        if self.kind == "anthropic":
            raise self._no("OpenAI")
        if self.is_local:
            return _local_kwargs(kw, openai=True)
        if self.base_url:
            kw.setdefault("base_url", self.base_url)
        # OpenAI-compatible local servers accept any key; the real API needs one.
        kw.setdefault("api_key", self._openai_key or "sk-no-key-needed")
        return kw

    def _anthropic_kwargs(self, kw: dict[str, Any]) -> dict[str, Any]:
        if self.kind == "openai":
            raise self._no("Anthropic")
        if self.is_local:
            return _local_kwargs(kw, openai=False)
        kw.setdefault("api_key", self._anthropic_key)
        return kw

    def openai(self, **kw: Any) -> Any:
        """A sync ``openai.OpenAI`` client for this provider."""
        import openai

        return openai.OpenAI(**self._openai_kwargs(kw))

    def async_openai(self, **kw: Any) -> Any:
        """An ``openai.AsyncOpenAI`` client for this provider (close it: ``async with``)."""
        import openai

        return openai.AsyncOpenAI(**self._openai_kwargs(kw))

    def anthropic(self, **kw: Any) -> Any:
        """A sync ``anthropic.Anthropic`` client for this provider."""
        import anthropic

        return anthropic.Anthropic(**self._anthropic_kwargs(kw))

    def async_anthropic(self, **kw: Any) -> Any:
        """An ``anthropic.AsyncAnthropic`` client for this provider (close it: ``async with``)."""
        import anthropic

        return anthropic.AsyncAnthropic(**self._anthropic_kwargs(kw))

    def __repr__(self) -> str:  # never shows a key
        where = f" base_url={self.base_url!r}" if self.base_url else ""
        return f"Provider(kind={self.kind!r}, model={self.model!r}, anthropic_model={self.anthropic_model!r}{where})"


def _local_kwargs(kw: dict[str, Any], *, openai: bool) -> dict[str, Any]:
    """``kw`` with the shared local server's address (OpenAI's or Anthropic's) and key as defaults."""
    server = shared_server()
    kw.setdefault("base_url", server.openai_base_url if openai else server.base_url)
    kw.setdefault("api_key", server._key())
    return kw


def rehearsing() -> bool:
    """Whether STREAMLAB_REHEARSE asks the local provider to go by the real default model names."""
    raw = os.environ.get("STREAMLAB_REHEARSE", "").strip().lower()
    if raw not in _YES + _NO:
        raise ProviderConfigError(
            f"STREAMLAB_REHEARSE={raw!r}: use 1 to rehearse, or 0 (or unset)."
        )
    return raw in _YES


def get_provider() -> Provider:
    """The provider chosen by the environment (see the module docstring).

    Raises ProviderConfigError, naming the variable to set, when the chosen
    real provider has no API key or STREAMLAB_PROVIDER is not understood.
    """
    env = os.environ
    # STREAMLAB_BASE_URL is an explicit opt-in to an OpenAI-compatible server;
    # keys alone never switch away from local.
    default = "openai" if env.get("STREAMLAB_BASE_URL") else "local"
    kind = env.get("STREAMLAB_PROVIDER", default).strip().lower() or default
    if kind not in KINDS:
        raise ProviderConfigError(
            f"STREAMLAB_PROVIDER={kind!r} is not one of {', '.join(KINDS)}. For an OpenAI-compatible server "
            "(Ollama, vLLM, LM Studio) use STREAMLAB_PROVIDER=openai with STREAMLAB_BASE_URL=http://host:port/v1."
        )
    model_override = env.get("STREAMLAB_MODEL") or None
    openai_model, anthropic_model = DEFAULT_MODELS[kind]
    if kind == "local":
        if rehearsing():
            openai_model, anthropic_model = (
                DEFAULT_MODELS["openai"][0],
                DEFAULT_MODELS["anthropic"][1],
            )
        return Provider("local", model_override or openai_model, model_override or anthropic_model)
    if kind == "openai":
        base_url = env.get("STREAMLAB_BASE_URL") or env.get("OPENAI_BASE_URL") or None
        key = env.get("OPENAI_API_KEY") or None
        if key is None and base_url is None:
            raise ProviderConfigError(
                "STREAMLAB_PROVIDER=openai needs OPENAI_API_KEY in the environment (or STREAMLAB_BASE_URL for "
                "an OpenAI-compatible server that needs no key). Unset STREAMLAB_PROVIDER to stay offline."
            )
        if base_url is not None and model_override is None:
            raise ProviderConfigError(
                f"STREAMLAB_BASE_URL is set ({base_url}): set STREAMLAB_MODEL to a model that server has "
                "(for Ollama e.g. STREAMLAB_MODEL=llama3.2)."
            )
        return Provider(
            "openai", model_override or openai_model, None, base_url=base_url, _openai_key=key
        )
    key = env.get("ANTHROPIC_API_KEY") or None
    if key is None:
        raise ProviderConfigError(
            "STREAMLAB_PROVIDER=anthropic needs ANTHROPIC_API_KEY in the environment. "
            "Unset STREAMLAB_PROVIDER to stay offline with the local provider."
        )
    return Provider("anthropic", None, model_override or anthropic_model, _anthropic_key=key)
