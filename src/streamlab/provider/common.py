"""Request validation and the answer shared by the three APIs.

The three endpoints answer the same question with the same text: the prompt
is the text of the last user message, so "Tell me about the ocean" gives the
same words through Responses, Chat Completions and Messages for one seed.
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request

from streamlab.provider.config import ControlError, RequestControls, Settings, controls_from
from streamlab.provider.faults import ProviderError, status_fault_error
from streamlab.provider.generation import (
    SchemaError,
    count_tokens,
    generate_json,
    generate_tokens,
    tokenize,
)
from streamlab.provider.streaming import DelayedJSON, Frame, FrameStream


def new_id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(12)}"


def now() -> int:
    return int(time.time())


async def json_body(request: Request) -> dict[str, Any]:
    """The request body as a JSON object, or a provider-shaped 400 saying why not."""
    raw = await request.body()
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ProviderError(
            400,
            f"We could not parse the JSON body of your request: {exc}. "
            "Send a JSON object with Content-Type: application/json.",
        ) from None
    if not isinstance(body, dict):
        raise ProviderError(
            400, f"The request body must be a JSON object, got {type(body).__name__}."
        )
    return body


async def request_body(request: Request) -> tuple[dict[str, Any], str]:
    """What every endpoint reads first: the JSON body and its required ``model``."""
    body = await json_body(request)
    return body, field(body, "model", str, required=True)


_TYPE_NAMES = {
    str: "a string",
    int: "an integer",
    list: "an array",
    dict: "an object",
    bool: "a boolean",
}


def field(
    body: dict[str, Any],
    name: str,
    kind: type | tuple[type, ...],
    *,
    required: bool = False,
    default: Any = None,
) -> Any:
    """``body[name]`` checked against ``kind``; a 400 naming the parameter otherwise."""
    if name not in body or body[name] is None:
        if required:
            raise ProviderError(
                400,
                f"Missing required parameter: '{name}'.",
                param=name,
                code="missing_required_parameter",
            )
        return default
    value = body[name]
    kinds = kind if isinstance(kind, tuple) else (kind,)
    if not isinstance(value, kinds) or (isinstance(value, bool) and bool not in kinds):
        want = " or ".join(_TYPE_NAMES.get(k, k.__name__) for k in kinds)
        raise ProviderError(
            400,
            f"Invalid type for '{name}': expected {want}, but got "
            f"{type(value).__name__} ({json.dumps(value)[:60]}).",
            param=name,
            code="invalid_type",
        )
    return value


def positive_int(body: dict[str, Any], name: str) -> int | None:
    value = field(body, name, int)
    if value is not None and value < 1:
        raise ProviderError(
            400,
            f"Invalid '{name}': integer below minimum value. Expected a value >= 1, "
            f"but got {value} instead.",
            param=name,
            code="integer_below_min_value",
        )
    return value


def text_of(content: Any, where: str) -> str:
    """Text of a message content: a string or a list of text parts/blocks."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = []
        for i, part in enumerate(content):
            if isinstance(part, str):
                parts.append(part)
            elif isinstance(part, dict):
                if isinstance(part.get("text"), str):
                    parts.append(part["text"])
            else:
                raise ProviderError(
                    400,
                    f"Invalid '{where}[{i}]': expected an object with a 'text'.",
                    param=f"{where}[{i}]",
                )
        return "\n".join(parts)
    raise ProviderError(
        400,
        f"Invalid type for '{where}': expected a string or an array of content parts.",
        param=where,
        code="invalid_type",
    )


def last_user_text(messages: list[Any], where: str) -> str:
    prompt = ""
    for i, m in enumerate(messages):
        if not isinstance(m, dict):
            raise ProviderError(
                400,
                f"Invalid '{where}[{i}]': expected an object with 'role' and 'content'.",
                param=f"{where}[{i}]",
                code="invalid_type",
            )
        if m.get("role", "user") == "user" and "content" in m:
            prompt = text_of(m["content"], f"{where}[{i}].content")
    return prompt


def controls(request: Request, body_seed: int | None = None) -> RequestControls:
    """The request's controls; a status fault becomes the provider's error here."""
    settings: Settings = request.app.state.settings
    try:
        c = controls_from(request.headers, settings, body_seed=body_seed)
    except ControlError as exc:
        raise ProviderError(400, str(exc), param="headers") from None
    status = c.fault("status")
    if status:
        raise status_fault_error(
            status.status,
            retry_after=status.retry_after,
            retry_after_ms=status.retry_after_ms,
            should_retry=status.should_retry,
        )
    return c


@dataclass
class Answer:
    """What the model "says": token-sized deltas and why it stopped."""

    tokens: list[str]
    finish: str  # "stop" (natural end) | "length" (max tokens) | "stop_sequence"
    stop_sequence: str | None
    input_tokens: int

    @property
    def text(self) -> str:
        return "".join(self.tokens)


def make_answer(
    prompt: str,
    seed: int,
    *,
    max_tokens: int | None = None,
    stop: list[str] | None = None,
    json_mode: str | None = None,
    schema: dict[str, Any] | None = None,
    context: str = "",
    length: int | None = None,
    text: str | None = None,
) -> Answer:
    """The deterministic answer: same arguments, same tokens, on every endpoint.

    ``text`` (when not in a JSON mode) replaces the generated prose, e.g. an
    answer built from tool results; stop sequences and max tokens still apply.
    """
    try:
        tokens = (
            tokenize(generate_json(schema if json_mode == "json_schema" else None, prompt, seed))
            if json_mode
            else tokenize(text)
            if text is not None
            else generate_tokens(prompt, seed, tokens=length)
        )
    except SchemaError as exc:
        raise ProviderError(
            400,
            f"Invalid schema for response_format: {exc}",
            param="response_format",
            code="invalid_json_schema",
        ) from None
    finish, matched = "stop", None
    if stop:
        text = "".join(tokens)
        for s in stop:
            idx = text.find(s) if s else -1
            if idx >= 0:
                tokens, finish, matched = tokenize(text[:idx]), "stop_sequence", s
                break
    if max_tokens is not None and len(tokens) > max_tokens:
        tokens, finish, matched = tokens[:max_tokens], "length", None
    return Answer(
        tokens=tokens,
        finish=finish,
        stop_sequence=matched,
        input_tokens=max(1, count_tokens(context + prompt)),
    )


def answer_request(
    request: Request, prompt: str, *, body_seed: int | None = None, **options: Any
) -> tuple[RequestControls, Answer]:
    """The request's controls and the answer to ``prompt`` under them.

    ``options`` (max_tokens, stop, json_mode, schema, context) go to
    :func:`make_answer`; the seed and length come from the controls.
    """
    c = controls(request, body_seed=body_seed)
    return c, make_answer(prompt, c.seed, length=c.length, **options)


def respond(
    c: RequestControls,
    answer: Answer,
    *,
    stream: bool,
    whole: Callable[[], dict[str, Any]],
    frames: Iterable[Frame],
    on_error: Callable[[int], bytes],
    n_tokens: int | None = None,
) -> DelayedJSON | FrameStream:
    """The endpoint's reply: ``whole()`` as one JSON body, or ``frames`` as an SSE stream.

    Either way it is paced by the controls ``c`` as if ``answer``'s tokens
    were generated (or ``n_tokens`` paced slots: reasoning, tool-call
    arguments and text); ``on_error(k)`` is the frame sent when a fault cuts
    the stream after ``k`` frames.
    """
    n = len(answer.tokens) if n_tokens is None else n_tokens
    if not stream:
        return DelayedJSON(whole(), n, c)
    return FrameStream(frames, n, c, on_error=on_error, rng_seed=c.seed)
