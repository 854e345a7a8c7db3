"""What each real model takes: the model table behind the real-provider rehearsal.

The real APIs refuse a parameter the model does not take, with a 400 that
names it: reasoning effort on a model that does not reason, ``temperature``
other than 1 on OpenAI reasoning models, ``max_tokens`` in Chat for them,
Anthropic's older ``{"type": "enabled", "budget_tokens": N}`` thinking on
models that take only ``{"type": "adaptive"}``, and the reverse. The local
provider answers the same for a real model name, so a notebook cell that
would fail on the real API fails here first (``STREAMLAB_REHEARSE=1`` runs
the notebooks under the real default model names). Any other name, such as
``streamlab-local``, accepts everything.

The table is by name prefix, longest first, as the model families were on
the day the course was verified (December 2026: the OpenAI reasoning guide
and Anthropic's adaptive-thinking page). :func:`capabilities` is what
:func:`streamlab.request` asks to choose the request form per model.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from streamlab.provider.faults import Flavor, ProviderError

_O_EFFORTS = ("low", "medium", "high")
_GPT5_EFFORTS = ("minimal", "low", "medium", "high")
_GPT51_EFFORTS = ("none", "low", "medium", "high")
_GPT52_EFFORTS = ("none", "low", "medium", "high", "xhigh")


@dataclass(frozen=True)
class Capabilities:
    """What one model family takes.

    ``efforts``: OpenAI reasoning efforts it takes (empty: not a reasoning
    model). ``thinking``: the Anthropic thinking types it takes ("enabled"
    with ``budget_tokens``, "adaptive" with ``output_config.effort``), best
    first. ``output_effort``: whether Anthropic's ``output_config.effort``
    is taken. ``sampling``: whether ``temperature`` / ``top_p`` may differ
    from their defaults.
    """

    family: str
    efforts: tuple[str, ...] = ()
    thinking: tuple[str, ...] = ()
    output_effort: bool = False
    sampling: bool = True

    @property
    def reasons(self) -> bool:
        return bool(self.efforts or self.thinking)


_ENABLED = Capabilities("claude 4 and 4.5", thinking=("enabled",))
_BOTH = Capabilities("claude 4.6", thinking=("adaptive", "enabled"), output_effort=True)
_ADAPTIVE = Capabilities(
    "claude opus 4.7 and later, claude 5", thinking=("adaptive",), output_effort=True
)

# (prefix, capabilities); the longest matching prefix wins, so a dated or minor
# release (claude-opus-4-1, claude-opus-4-20250514) finds its own row.
_TABLE: dict[str, Capabilities] = {
    "gpt-5": Capabilities("gpt-5", _GPT5_EFFORTS, sampling=False),
    "gpt-5.1": Capabilities("gpt-5.1", _GPT51_EFFORTS, sampling=False),
    "gpt-5.": Capabilities("gpt-5.2 and later", _GPT52_EFFORTS, sampling=False),
    "o1": Capabilities("o-series", _O_EFFORTS, sampling=False),
    "o3": Capabilities("o-series", _O_EFFORTS, sampling=False),
    "o4-mini": Capabilities("o-series", _O_EFFORTS, sampling=False),
    "gpt-4": Capabilities("gpt-4 (no reasoning)"),
    "gpt-3.5": Capabilities("gpt-3.5 (no reasoning)"),
    "claude-3": Capabilities("claude 3 (no thinking)"),
    "claude-3-7-sonnet": Capabilities("claude 3.7", thinking=("enabled",)),
    "claude-haiku-4": _ENABLED,
    "claude-sonnet-4": _ENABLED,
    "claude-opus-4": _ENABLED,
    "claude-opus-4-0": _ENABLED,
    "claude-opus-4-1": _ENABLED,
    "claude-opus-4-2025": _ENABLED,
    "claude-opus-4-5": Capabilities("claude opus 4.5", thinking=("enabled",), output_effort=True),
    "claude-opus-4-6": _BOTH,
    "claude-sonnet-4-6": _BOTH,
    "claude-opus-4-": _ADAPTIVE,
    "claude-": _ADAPTIVE,
}
_BY_LENGTH = sorted(_TABLE.items(), key=lambda row: -len(row[0]))


def capabilities(model: str | None) -> Capabilities | None:
    """The row of the model table for ``model``, or None for a name the table does not know."""
    if not model:
        return None
    name = model.lower().removeprefix("openai/").removeprefix("anthropic/")
    for prefix, caps in _BY_LENGTH:
        if name.startswith(prefix):
            return caps
    return None


def check_model_params(body: dict[str, Any], flavor: Flavor) -> None:
    """The real API's 400 for a parameter this (real) model does not take; nothing for other names."""
    model = body.get("model")
    caps = capabilities(model) if isinstance(model, str) else None
    if caps is None:
        return
    if flavor == "anthropic":
        _check_thinking(body, caps)
    else:
        _check_openai(body, caps)


def _unsupported(param: str, extra: str = "") -> ProviderError:
    return ProviderError(
        400,
        f"Unsupported parameter: '{param}' is not supported with this model.{extra}",
        param=param,
        code="unsupported_parameter",
    )


def _unsupported_value(param: str, value: Any, supported: str) -> ProviderError:
    return ProviderError(
        400,
        f"Unsupported value: '{param}' does not support {value!r} with this model. {supported}",
        param=param,
        code="unsupported_value",
    )


def _check_openai(body: dict[str, Any], caps: Capabilities) -> None:
    reasoning = body.get("reasoning")
    effort, param = None, "reasoning_effort"
    if isinstance(reasoning, dict) and reasoning.get("effort") is not None:
        effort, param = reasoning["effort"], "reasoning.effort"
    elif body.get("reasoning_effort") is not None:
        effort = body["reasoning_effort"]
    if effort is not None:
        if not caps.efforts:
            raise _unsupported(param)
        if effort not in caps.efforts:
            listed = ", ".join(repr(e) for e in caps.efforts)
            raise _unsupported_value(param, effort, f"Supported values are: {listed}.")
    if not caps.efforts:
        return
    if "max_tokens" in body and "messages" in body:  # Chat Completions on a reasoning model
        raise _unsupported("max_tokens", " Use 'max_completion_tokens' instead.")
    if caps.sampling or effort == "none":
        return
    for name in ("temperature", "top_p"):
        value = body.get(name)
        if value is not None and value != 1:
            raise _unsupported_value(name, value, "Only the default (1) value is supported.")


def _bad(message: str) -> ProviderError:
    return ProviderError(400, message)


def _check_thinking(body: dict[str, Any], caps: Capabilities) -> None:
    thinking = body.get("thinking")
    kind = thinking.get("type") if isinstance(thinking, dict) else None
    if kind in ("enabled", "adaptive") and kind not in caps.thinking:
        if not caps.thinking:
            raise _bad(f'"thinking.type.{kind}" is not supported for this model.')
        other = caps.thinking[0]
        how = (
            '"thinking.type.adaptive" and "output_config.effort"'
            if other == "adaptive"
            else '"thinking.type.enabled" and "thinking.budget_tokens"'
        )
        raise _bad(
            f'"thinking.type.{kind}" is not supported for this model. '
            f"Use {how} to control thinking behavior."
        )
    config = body.get("output_config")
    if isinstance(config, dict) and "effort" in config and not caps.output_effort:
        raise _bad('"output_config.effort" is not supported for this model.')
    if kind in ("enabled", "adaptive"):
        temperature = body.get("temperature")
        if temperature is not None and temperature != 1:
            raise _bad(
                "`temperature` may only be set to 1 when thinking is enabled. Please consult our "
                "documentation at https://docs.claude.com/en/docs/build-with-claude/extended-thinking"
            )
        if body.get("top_k") is not None:
            raise _bad("`top_k` is not supported when thinking is enabled.")
