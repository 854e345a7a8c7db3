"""Request validation and the answer shared by the three APIs.

The three endpoints answer the same question with the same text: the prompt
is the text of the last user message, so "Tell me about the ocean" gives the
same words through Responses, Chat Completions and Messages for one seed.
"""

from __future__ import annotations

import asyncio
import json
import re
import secrets
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any, TypeVar

from starlette.requests import Request

from streamlab.provider.config import ControlError, RequestControls, Settings, controls_from
from streamlab.provider.faults import Flavor, ProviderError, flavor_for, status_fault_error
from streamlab.provider.generation import (
    SchemaError,
    count_tokens,
    generate_json,
    generate_tokens,
    tokenize,
)
from streamlab.provider.models import check_model_params
from streamlab.provider.streaming import DelayedJSON, Frame, FrameStream


def new_id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(12)}"


def now() -> int:
    return int(time.time())


#: Bounds of one request's work; the package docstring lists them all.
MAX_BODY_BYTES = 4 * 1024 * 1024
MAX_JSON_VALUES = 100_000  # counted as commas in the raw body, before parsing
MAX_JSON_DEPTH = 64
MAX_PROMPT_TOKENS = 200_000

# A JSON escape of a UTF-16 surrogate: the only way a parsed string can hold one
# once the body has been decoded as strict UTF-8. A pair is fine; a lone one
# cannot be encoded again and would break the answer half-way.
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")
_NUMBER = (int, float)


async def _read_body(request: Request) -> bytes:
    """The body, or a 413 as soon as it is longer than ``MAX_BODY_BYTES``.

    Reading stops there: uvicorn reads and drops the rest once the answer is
    sent, so the client, which sends its whole body first, still sees the 413.
    """
    declared = request.headers.get("content-length", "")
    too_big = declared.isascii() and declared.isdigit() and int(declared) > MAX_BODY_BYTES
    chunks: list[bytes] = []
    size = 0
    if not too_big:
        async for chunk in request.stream():
            size += len(chunk)
            if size > MAX_BODY_BYTES:
                too_big = True
                break
            chunks.append(chunk)
    if too_big:
        raise ProviderError(
            413,
            "Request exceeds the maximum allowed number of bytes: the local provider "
            f"accepts bodies up to {MAX_BODY_BYTES} bytes (4 MiB). Send a shorter prompt.",
        )
    return b"".join(chunks)


async def json_body(request: Request) -> dict[str, Any]:
    """The request body as a JSON object, or a provider-shaped 4xx saying what is wrong.

    Bounded before parsing (bytes, then the number of values), and checked
    after: nesting depth and lone surrogates, with the path of the bad value.
    """
    raw = await _read_body(request)
    # Decoding, counting and parsing 4 MiB are a few C calls of ~10 ms each:
    # on the loop they add up (40 ms idle, 100 ms on a busy machine); in a
    # thread the loop gets the GIL back between them.
    if len(raw) > OFF_LOOP_BYTES:
        body, suspect = await asyncio.to_thread(_parse_object, raw)
    else:
        body, suspect = _parse_object(raw)
    if suspect:
        await _check_values(body, strings=suspect == "surrogates")
    return body


def _parse_object(raw: bytes) -> tuple[dict[str, Any], str | None]:
    """``raw`` parsed as a JSON object, and whether it needs the slow check (and why)."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ProviderError(
            400,
            f"We could not parse the JSON body of your request: it is not valid UTF-8 "
            f"(byte {exc.start}: {raw[exc.start : exc.start + 3]!r}). Send JSON encoded as UTF-8.",
        ) from None
    commas = raw.count(b",")
    if commas >= MAX_JSON_VALUES:
        raise ProviderError(
            413,
            f"The request body has {commas} commas: the local provider parses at most "
            f"{MAX_JSON_VALUES} JSON values per request (it counts the commas, also those "
            "inside strings, before parsing).",
        )
    try:
        body = json.loads(text)
    except RecursionError:
        raise ProviderError(
            400,
            f"We could not parse the JSON body of your request: it is nested too deeply "
            f"(at most {MAX_JSON_DEPTH} levels).",
        ) from None
    except ValueError as exc:
        raise ProviderError(
            400,
            f"We could not parse the JSON body of your request: {exc}. "
            "Send a JSON object with Content-Type: application/json.",
        ) from None
    if not isinstance(body, dict):
        raise ProviderError(
            400, f"The request body must be a JSON object, got {type(body).__name__}."
        )
    # bytes.find is a memchr scan; the regex stops at every \u (4 MiB of \u00e9: 19 ms).
    maybe = b"\\ud" in raw or b"\\uD" in raw
    if maybe and _SURROGATE_ESCAPE.search(raw) is not None:
        return body, "surrogates"
    return body, ("depth" if raw.count(b"[") + raw.count(b"{") > MAX_JSON_DEPTH else None)


_T = TypeVar("_T")

#: A body this big, or one asking for JSON from a schema or for tool calls, is
#: planned in a worker thread (see ``off_loop``).
OFF_LOOP_BYTES = 64 * 1024
_PLANNING_FIELDS = ("tools", "text", "response_format", "output_config")


async def off_loop(request: Request, body: dict[str, Any], plan: Callable[[], _T]) -> _T:
    """``plan()``, in a worker thread when it may hold the event loop for long.

    Planning a turn is pure Python (the topic of a 4 MiB prompt, 10,000 values
    from a schema, tool arguments): in a thread, the interpreter switches back
    to the loop every few milliseconds, so other streams keep flowing. A small
    plain request is planned in place, where a thread hop would cost more.
    """
    size = request.headers.get("content-length", "")
    big = not (size.isascii() and size.isdigit()) or int(size) > OFF_LOOP_BYTES
    if big or any(body.get(name) for name in _PLANNING_FIELDS):
        return await asyncio.to_thread(plan)
    return plan()


def _path(where: tuple[Any, ...] | None) -> str:
    keys: list[Any] = []
    while where is not None:
        where, key = where
        keys.append(key)
    out = ""
    for key in reversed(keys):
        out += f"[{key}]" if isinstance(key, int) else (f".{key}" if out else str(key))
    return out


def _is_text(value: str) -> bool:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def check_json(value: Any) -> None:
    """Raise the 400 for a parsed JSON value with a lone surrogate or nested too deeply."""
    for _ in _walk(value, strings=True):
        pass


def json_problem(value: Any) -> str | None:
    """What is wrong with a parsed JSON value (a lone surrogate, too deep), or None."""
    try:
        check_json(value)
    except ProviderError as exc:
        return exc.message
    return None


async def _check_values(body: Any, *, strings: bool) -> None:
    """Raise a 400 for nesting deeper than ``MAX_JSON_DEPTH`` or (with ``strings``) a lone surrogate."""
    for _ in _walk(body, strings=strings):
        await asyncio.sleep(0)  # a big body is checked in slices: other requests go on


def _walk(value: Any, *, strings: bool) -> Iterator[None]:
    """Check every value without recursion; yields now and then so the caller can pause."""
    stack: list[tuple[Any, Any, int]] = [(value, None, 0)]
    seen = 0
    while stack:
        item, where, depth = stack.pop()
        seen += 1
        if seen % 1024 == 0:
            yield
        if isinstance(item, str):
            if strings and not item.isascii() and not _is_text(item):
                name = _path(where) or "body"
                raise ProviderError(
                    400,
                    f"Invalid '{name}': the string contains a lone UTF-16 surrogate (like "
                    "\\ud800), which is not valid Unicode. Send text encoded as UTF-8.",
                    param=name,
                    code="invalid_value",
                )
            continue
        if not isinstance(item, (dict, list)):
            continue
        if depth == MAX_JSON_DEPTH:
            top = re.split(r"[.\[]", _path(where), maxsplit=1)[0]
            raise ProviderError(
                400,
                f"Invalid '{top}': JSON nested deeper than {MAX_JSON_DEPTH} levels.",
                param=top,
            )
        for key, sub in item.items() if isinstance(item, dict) else enumerate(item):
            seen += 1
            if seen % 1024 == 0:  # a container of 100,000 values is also checked in slices
                yield
            if strings and isinstance(key, str) and not _is_text(key):
                stack.append((key, (where, "(a key)"), depth + 1))
            if isinstance(sub, str):
                # Only a bad string is pushed (to be reported with its path): a
                # tuple per good string set off full garbage collections (15 ms).
                if strings and not sub.isascii() and not _is_text(sub):
                    stack.append((sub, (where, key), depth + 1))
            elif isinstance(sub, (dict, list)):
                stack.append((sub, (where, key), depth + 1))


# Type checks of the optional fields the real APIs validate, so ``temperature:
# "hot"`` gets the real 400 even where the local provider ignores the field:
# name -> (kinds, minimum, maximum, kind of the items of a list).
_Rule = tuple[tuple[type, ...], "float | None", "float | None", "type | None"]
_OPENAI_FIELDS: dict[str, _Rule] = {
    "temperature": (_NUMBER, 0, 2, None),
    "top_p": (_NUMBER, 0, 1, None),
    "presence_penalty": (_NUMBER, -2, 2, None),
    "frequency_penalty": (_NUMBER, -2, 2, None),
    "top_logprobs": ((int,), 0, 20, None),
    "tools": ((list,), None, None, dict),
    "tool_choice": ((str, dict), None, None, None),
    "parallel_tool_calls": ((bool,), None, None, None),
    "metadata": ((dict,), None, None, None),
    "user": ((str,), None, None, None),
    "store": ((bool,), None, None, None),
    "stream": ((bool,), None, None, None),
    "logprobs": ((bool,), None, None, None),
    "seed": ((int,), None, None, None),
    "previous_response_id": ((str,), None, None, None),
    "stop": ((str, list), None, None, str),
    "reasoning": ((dict,), None, None, None),
    "text": ((dict,), None, None, None),
    "response_format": ((dict,), None, None, None),
    "stream_options": ((dict,), None, None, None),
}
_ANTHROPIC_FIELDS: dict[str, _Rule] = {
    "temperature": (_NUMBER, 0, 1, None),
    "top_p": (_NUMBER, 0, 1, None),
    "top_k": ((int,), 0, None, None),
    "tools": ((list,), None, None, dict),
    "tool_choice": ((dict,), None, None, None),
    "metadata": ((dict,), None, None, None),
    "stream": ((bool,), None, None, None),
    "stop_sequences": ((list,), None, None, str),
    "system": ((str, list), None, None, None),
    "thinking": ((dict,), None, None, None),
    "output_config": ((dict,), None, None, None),
}


def check_known_fields(body: dict[str, Any], flavor: Flavor) -> None:
    """The real APIs' 400 for a known optional field of the wrong type or out of range,
    or one that the named real model does not take (the model table)."""
    rules = _ANTHROPIC_FIELDS if flavor == "anthropic" else _OPENAI_FIELDS
    for name, (kinds, low, high, items) in rules.items():
        if name in body and body[name] is not None:
            field(body, name, kinds, items=items, minimum=low, maximum=high)
    check_model_params(body, flavor)


async def request_body(request: Request) -> tuple[dict[str, Any], str]:
    """What every endpoint reads first: the JSON body and its required ``model``."""
    body = await json_body(request)
    check_known_fields(body, flavor_for(request.url.path))
    return body, field(body, "model", str, required=True)


_TYPE_NAMES = {
    str: "a string",
    int: "an integer",
    float: "a decimal",
    list: "an array",
    dict: "an object",
    bool: "a boolean",
}
_JSON_NAMES = {
    str: "a string",
    int: "an integer",
    float: "a decimal",
    list: "an array",
    dict: "an object",
    bool: "a boolean",
    type(None): "null",
}


def _wrong_type(name: str, value: Any, kinds: tuple[type, ...]) -> ProviderError:
    want = " or ".join(_TYPE_NAMES.get(k, k.__name__) for k in kinds)
    got = _JSON_NAMES.get(type(value), type(value).__name__)
    shown = f" ({json.dumps(value)[:60]})" if isinstance(value, (str, int, float)) else ""
    return ProviderError(
        400,
        f"Invalid type for '{name}': expected {want}, but got {got}{shown} instead.",
        param=name,
        code="invalid_type",
    )


def _is_kind(value: Any, kinds: tuple[type, ...]) -> bool:
    return isinstance(value, kinds) and (not isinstance(value, bool) or bool in kinds)


def field(
    body: dict[str, Any],
    name: str,
    kind: type | tuple[type, ...],
    *,
    required: bool = False,
    default: Any = None,
    items: type | None = None,
    minimum: float | None = None,
    maximum: float | None = None,
) -> Any:
    """``body[name]`` checked against ``kind``; a 400 naming the parameter otherwise.

    ``items`` is the kind every element of a list value must have (``stop:
    [1]`` is a 400 naming ``stop[0]``); ``minimum``/``maximum`` bound a
    number, which must be finite.
    """
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
    if not _is_kind(value, kinds):
        raise _wrong_type(name, value, kinds)
    if items is not None and isinstance(value, list):
        for i, item in enumerate(value):
            if not _is_kind(item, (items,)):
                raise _wrong_type(f"{name}[{i}]", item, (items,))
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        _check_range(name, value, minimum, maximum)
    return value


def _check_range(name: str, value: float, low: float | None, high: float | None) -> None:
    what = "integer" if isinstance(value, int) else "decimal"
    if low is not None and not value >= low:
        raise ProviderError(
            400,
            f"Invalid '{name}': {what} below minimum value. Expected a value >= {low:g}, "
            f"but got {value:g} instead.",
            param=name,
            code=f"{what}_below_min_value",
        )
    if high is not None and not value <= high:
        raise ProviderError(
            400,
            f"Invalid '{name}': {what} above maximum value. Expected a value <= {high:g}, "
            f"but got {value:g} instead.",
            param=name,
            code=f"{what}_above_max_value",
        )


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


SERVICE_TIERS = ("auto", "default", "flex", "scale", "priority")


def resolved_tier(requested: str) -> str:
    """The tier a response ran on: "auto" resolves to "default" (OpenAI's answer at completion)."""
    return "default" if requested == "auto" else requested


def stream_options(body: dict[str, Any], stream: bool) -> dict[str, bool]:
    """OpenAI's ``stream_options`` (``include_usage``, ``include_obfuscation``), checked.

    Each flag must be a boolean: ``"yes"`` is the real API's 400
    ``invalid_type``, and so is ``stream_options`` without ``stream: true``.
    """
    options = field(body, "stream_options", dict, default={})
    if options and not stream:
        raise ProviderError(
            400,
            "The 'stream_options' parameter is only allowed when 'stream' is enabled.",
            param="stream_options",
        )
    out = {}
    for name in ("include_usage", "include_obfuscation"):
        value = options.get(name)
        if value is not None and not isinstance(value, bool):
            raise _wrong_type(f"stream_options.{name}", value, (bool,))
        if value is not None:
            out[name] = value
    return out


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
    input_tokens = max(1, count_tokens(context + prompt))
    if input_tokens > MAX_PROMPT_TOKENS:
        raise ProviderError(
            400,
            f"This model's maximum context length is {MAX_PROMPT_TOKENS} tokens. However, your "
            f"prompt is about {input_tokens} tokens long. Please reduce the length of the prompt.",
            code="context_length_exceeded",
        )
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
        input_tokens=input_tokens,
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
