"""One request, any provider: prompt, tools, reasoning and timing in; the right SDK call out.

The three APIs ask for the same things with different words:

=================  ======================  ============================  ==========================
what               Responses               Chat Completions              Anthropic Messages
=================  ======================  ============================  ==========================
the conversation   ``input=[items]``       ``messages=[...]``            ``messages=[...]``
answer length      ``max_output_tokens``   ``max_completion_tokens``     ``max_tokens`` (required)
a tool             ``{"type": "function",  ``{"type": "function",        ``{"name", "description",
                   "name", "parameters"}`` "function": {"name", ...}}``  "input_schema"}``
reasoning          ``reasoning={"effort",  ``reasoning_effort``          ``thinking={"type":
                   "summary": "auto"}``    (no visible summary)          "adaptive"}`` and
                                                                         ``output_config={"effort"}``;
                                                                         older models: ``{"type":
                                                                         "enabled", "budget_tokens"}``
a tool's result    ``function_call_output  ``{"role": "tool",            a user turn with a
                   `` item by ``call_id``  "tool_call_id"}``             ``tool_result`` block
=================  ======================  ============================  ==========================

:func:`request` builds a :class:`Request` for the current provider;
``Request.stream()`` / ``await Request.astream(client)`` make the streaming
call (``create()`` / ``acreate()`` the buffered one), and
:meth:`Request.then` continues the conversation after a stream that asked
for tools, for the agent loop::

    req = streamlab.request("Weather in Paris?", tools=[weather])
    while True:
        end = [e for e in streamlab.stream_events(req.stream())][-1]
        if end.outcome != "tool_calls":
            break
        req = req.then(end, {c.id: run(c) for c in end.tool_calls})
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from streamlab.events import StreamEnd
from streamlab.provider.models import capabilities

Api = Literal["responses", "chat", "anthropic"]
APIS: tuple[str, ...] = ("responses", "chat", "anthropic")
#: Anthropic ``thinking.budget_tokens`` for each reasoning effort (models before 4.6).
THINKING_BUDGET = {"minimal": 1024, "low": 1024, "medium": 4096, "high": 16000}
#: Anthropic ``output_config.effort`` for each reasoning effort (adaptive thinking).
ANTHROPIC_EFFORT = {
    "minimal": "low",
    "low": "low",
    "medium": "medium",
    "high": "high",
    "xhigh": "xhigh",
}
_EFFORTS = ("none", "minimal", "low", "medium", "high", "xhigh")


@dataclass(frozen=True)
class Tool:
    """A function the model may call: a name, what it does, a JSON Schema for its arguments."""

    name: str
    description: str = ""
    parameters: Mapping[str, Any] = field(
        default_factory=lambda: {"type": "object", "properties": {}}
    )

    def for_api(self, api: str) -> dict[str, Any]:
        """This tool in ``api``'s own request shape."""
        schema = dict(self.parameters)
        if api == "responses":
            return {
                "type": "function",
                "name": self.name,
                "description": self.description,
                "parameters": schema,
            }
        if api == "chat":
            function = {"name": self.name, "description": self.description, "parameters": schema}
            return {"type": "function", "function": function}
        return {"name": self.name, "description": self.description, "input_schema": schema}


@dataclass(frozen=True)
class Request:
    """One request in provider-neutral terms, and the SDK call it becomes.

    ``messages`` are in the API's own input format (what :meth:`then` and
    :attr:`StreamEnd.assistant_turn` add to). ``provider`` makes the clients
    (a :class:`~streamlab.provider.Provider` or a :class:`~streamlab.LocalServer`).
    Make one with :func:`request`.
    """

    api: Api
    model: str
    messages: tuple[dict[str, Any], ...]
    tools: tuple[Tool, ...] = ()
    reasoning: str | None = None
    max_tokens: int | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    extra: Mapping[str, Any] = field(default_factory=dict)
    provider: Any = field(default=None, compare=False, repr=False)

    # -- the SDK call -------------------------------------------------------
    def kwargs(self, *, stream: bool = True) -> dict[str, Any]:
        """The keyword arguments of the SDK call (``client.<api>.create(**kwargs)``)."""
        kw: dict[str, Any] = {"model": self.model}
        messages = [dict(m) for m in self.messages]
        if self.api == "responses":
            kw["input"] = messages
            if self.max_tokens is not None:
                kw["max_output_tokens"] = self.max_tokens
            if self.reasoning:
                kw["reasoning"] = {"effort": self.reasoning, "summary": "auto"}
        elif self.api == "chat":
            kw["messages"] = messages
            if self.max_tokens is not None:
                kw["max_completion_tokens"] = self.max_tokens
            if self.reasoning:
                kw["reasoning_effort"] = self.reasoning
            if stream:
                kw["stream_options"] = {"include_usage": True}
        else:
            kw["messages"] = messages
            kw["max_tokens"] = self._anthropic_max_tokens()
            if self.reasoning and self.reasoning != "none":
                kw.update(self._anthropic_thinking())
        if self.tools:
            kw["tools"] = [t.for_api(self.api) for t in self.tools]
        if self.headers:
            kw["extra_headers"] = dict(self.headers)
        if stream:
            kw["stream"] = True
        extra = dict(self.extra)
        if isinstance(extra.get("output_config"), Mapping) and "output_config" in kw:
            extra["output_config"] = {**kw["output_config"], **extra["output_config"]}
        kw.update(extra)
        return kw

    def _adaptive(self) -> bool:
        """Whether this Anthropic model thinks in the adaptive form (4.6 on, and unknown names)."""
        caps = capabilities(self.model)
        return caps is None or caps.thinking[:1] == ("adaptive",)

    def _anthropic_thinking(self) -> dict[str, Any]:
        """Thinking in the form this model takes: adaptive where it can, else a token budget."""
        if self._adaptive():
            # display: Opus 4.7 and later omit the thinking text unless asked for it.
            return {
                "thinking": {"type": "adaptive", "display": "summarized"},
                "output_config": {"effort": ANTHROPIC_EFFORT.get(self.reasoning, "high")},
            }
        budget = THINKING_BUDGET.get(self.reasoning, THINKING_BUDGET["high"])
        return {"thinking": {"type": "enabled", "budget_tokens": budget}}

    def _anthropic_max_tokens(self) -> int:
        budget = 0
        if self.reasoning and self.reasoning != "none":
            budget = THINKING_BUDGET.get(self.reasoning, THINKING_BUDGET["high"])
        if self.max_tokens is None:  # room to think, in either form, then 1024 for the answer
            return budget + 1024
        if budget and not self._adaptive() and self.max_tokens <= budget:
            raise ValueError(
                f"max_tokens={self.max_tokens} leaves no room for the answer: Anthropic counts "
                f"thinking in max_tokens, and reasoning={self.reasoning!r} budgets {budget} "
                f"thinking tokens. Pass max_tokens > {budget}, or leave it out."
            )
        return self.max_tokens

    def endpoint(self, client: Any) -> Any:
        """The SDK resource this request calls: ``client.responses``, ``client.chat.completions`` or ``client.messages``."""
        if self.api == "responses":
            return client.responses
        if self.api == "chat":
            return client.chat.completions
        return client.messages

    def client(self) -> Any:
        """A new sync SDK client for this request's API (from ``provider``)."""
        self._need_provider()
        return (self.provider.anthropic if self.api == "anthropic" else self.provider.openai)()

    def async_client(self) -> Any:
        """A new async SDK client for this request's API (close it: ``async with``)."""
        self._need_provider()
        maker = (
            self.provider.async_anthropic if self.api == "anthropic" else self.provider.async_openai
        )
        return maker()

    def _need_provider(self) -> None:
        if self.provider is None:
            raise ValueError("this Request has no provider to make a client: pass client=...")

    def create(self, client: Any = None, *, stream: bool = False) -> Any:
        """Make the call with a sync client (default: a new one). Buffered unless ``stream=True``."""
        client = client if client is not None else self.client()
        return self.endpoint(client).create(**self.kwargs(stream=stream))

    def stream(self, client: Any = None) -> Any:
        """The streaming call with a sync client: an SDK stream for :func:`streamlab.stream_events`."""
        return self.create(client, stream=True)

    async def acreate(self, client: Any, *, stream: bool = False) -> Any:
        """Make the call with an async client (the caller closes it). Buffered unless ``stream=True``."""
        return await self.endpoint(client).create(**self.kwargs(stream=stream))

    async def astream(self, client: Any) -> Any:
        """The streaming call with an async client: an async SDK stream."""
        return await self.acreate(client, stream=True)

    # -- the conversation ---------------------------------------------------------
    def with_headers(self, headers: Mapping[str, str] | None) -> Request:
        """The same request with these headers added (e.g. ``x-streamlab-fault``)."""
        return dataclasses.replace(self, headers={**self.headers, **(headers or {})})

    def then(self, end: StreamEnd, results: Mapping[str, Any] | None = None) -> Request:
        """The next request of the conversation: the assistant's turn, then the tools' results.

        ``end`` is the :class:`~streamlab.events.StreamEnd` of this request's
        stream; its ``assistant_turn`` goes back as it came (thinking with
        its signature, reasoning items, the calls). ``results`` maps each call
        id to its result (a string, or anything JSON can encode); every call
        needs one, or the provider rejects the request.
        """
        results = dict(results or {})
        missing = [c.id for c in end.tool_calls if c.id not in results]
        unknown = [i for i in results if i not in {c.id for c in end.tool_calls}]
        if missing or unknown:
            raise ValueError(
                "then() needs exactly one result per tool call of the stream: "
                + (f"no result for {missing}; " if missing else "")
                + (f"results for calls the stream did not make: {unknown}; " if unknown else "")
                + f"the calls were {[(c.id, c.name) for c in end.tool_calls]}."
            )
        turn = list(end.assistant_turn)
        texts = {call_id: _as_text(value) for call_id, value in results.items()}
        if self.api == "responses":
            out = [
                {"type": "function_call_output", "call_id": i, "output": t}
                for i, t in texts.items()
            ]
        elif self.api == "chat":
            out = [{"role": "tool", "tool_call_id": i, "content": t} for i, t in texts.items()]
        elif texts:
            blocks = [
                {"type": "tool_result", "tool_use_id": i, "content": t} for i, t in texts.items()
            ]
            out = [{"role": "user", "content": blocks}]
        else:
            out = []
        return dataclasses.replace(self, messages=(*self.messages, *turn, *out))

    def with_user(self, text: str) -> Request:
        """The next request with one more user message."""
        return dataclasses.replace(
            self, messages=(*self.messages, {"role": "user", "content": text})
        )


def _as_text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def resolve_api(provider: Any, api: str = "auto") -> str:
    """The API to call: ``"auto"`` is Anthropic Messages for an Anthropic provider, else Responses."""
    if api == "auto":
        return "anthropic" if getattr(provider, "kind", None) == "anthropic" else "responses"
    if api not in APIS:
        raise ValueError(f"api must be 'auto', 'responses', 'chat' or 'anthropic', got {api!r}")
    return api


def model_for(provider: Any, api: str) -> str:
    """The provider's default model for ``api`` (a LocalServer serves the model its settings name)."""
    attr = "anthropic_model" if api == "anthropic" else "model"
    model = getattr(provider, attr, None) or getattr(
        getattr(provider, "settings", None), "model", None
    )
    if not model:
        raise ValueError(
            f"no model: pass model=... ({provider!r} has no default for the {api} API)"
        )
    return model


def timing_headers(
    *,
    ttft_ms: float | None = None,
    tokens_per_second: float | None = None,
    fault: str | None = None,
) -> dict[str, str]:
    """The local provider's ``x-streamlab-*`` timing and fault headers (real providers ignore them)."""
    out: dict[str, str] = {}
    for name, value in (
        ("x-streamlab-ttft-ms", ttft_ms),
        ("x-streamlab-tokens-per-second", tokens_per_second),
        ("x-streamlab-fault", fault),
    ):
        if value is not None:
            out[name] = value if isinstance(value, str) else f"{value:g}"
    return out


def request(
    prompt: str | Sequence[Mapping[str, Any]],
    *,
    provider: Any = None,
    api: Literal["auto", "responses", "chat", "anthropic"] = "auto",
    model: str | None = None,
    tools: Sequence[Tool] = (),
    reasoning: str | None = None,
    max_tokens: int | None = None,
    system: str | None = None,
    headers: Mapping[str, str] | None = None,
    ttft_ms: float | None = None,
    tokens_per_second: float | None = None,
    fault: str | None = None,
    **extra: Any,
) -> Request:
    """A :class:`Request` for ``prompt`` to the current provider (or ``provider``), any API.

    ``prompt`` is the user's text, or a list of messages in the API's own
    format. ``tools`` are :class:`Tool` s; ``reasoning`` an effort
    (``"low"``, ``"medium"``, ``"high"``: a Responses reasoning summary,
    Chat ``reasoning_effort``, Anthropic thinking: adaptive with
    ``output_config.effort`` on models that take it, else a token budget). ``ttft_ms``,
    ``tokens_per_second`` and ``fault`` become the local provider's
    ``x-streamlab-*`` headers; ``headers`` are sent as they are; ``extra``
    goes to the SDK call unchanged (``temperature=``, ``tool_choice=``...).
    """
    if provider is None:
        from streamlab.provider.switch import get_provider

        provider = get_provider()
    chosen = resolve_api(provider, api)
    if reasoning is not None and reasoning not in _EFFORTS:
        raise ValueError(
            f"reasoning must be one of {', '.join(_EFFORTS)} (an effort), got {reasoning!r}"
        )
    for tool in tools:
        if not isinstance(tool, Tool):
            raise TypeError(
                f"tools= takes streamlab.Tool objects (name, description, parameters), got "
                f"{type(tool).__name__}: {tool!r:.60}. Request builds each API's own tool shape."
            )
    if isinstance(prompt, str):
        messages: tuple[dict[str, Any], ...] = ({"role": "user", "content": prompt},)
    else:
        messages = tuple(dict(m) for m in prompt)
    if system:
        if chosen == "anthropic":
            extra.setdefault("system", system)
        elif chosen == "responses":
            extra.setdefault("instructions", system)
        else:
            messages = ({"role": "system", "content": system}, *messages)
    return Request(
        api=chosen,  # type: ignore[arg-type]
        model=model or model_for(provider, chosen),
        messages=messages,
        tools=tuple(tools),
        reasoning=reasoning,
        max_tokens=max_tokens,
        headers={
            **timing_headers(ttft_ms=ttft_ms, tokens_per_second=tokens_per_second, fault=fault),
            **(headers or {}),
        },
        extra=extra,
        provider=provider,
    )
