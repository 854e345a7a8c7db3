"""Tool calling for the local provider: tool definitions, the calling rule, arguments.

Sans-IO: plain objects in, plain objects out. Each API module turns its own
wire shapes into ``Tool``, ``ToolChoice`` and a ``History``; this module
decides which tools are called and makes their arguments.

The rule (deterministic, documented in ``streamlab.provider``):

- ``tool_choice`` "none" (or no tools): no call.
- A tool *matches* the prompt (the last user message that has text) when the
  prompt contains its name ("get_weather" or "get weather"), a word of its
  name of four letters or more ("weather"), or a word of five letters or
  more from its description, leaving out a short list of common words.
- A tool is *pending* when it matches and has not been called since the prompt.
- "auto": call the pending tools (only the first unless parallel calls are
  allowed); nothing pending means a text answer, which uses the tool results.
- "required" (Anthropic "any"): as "auto", but when nothing is pending call
  the first tool not yet called since the prompt (else the first tool).
- A named tool: always call that tool, once.

Arguments are JSON for the tool's schema, from ``generate_json``, with
plausible values for well-known names (a ``city`` gets a city, from the
prompt when it names one; a ``query`` gets the prompt).
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from typing import Any, Literal

from streamlab.provider.faults import ProviderError
from streamlab.provider.generation import SchemaError, generate_json, gist, rng_for, tokenize

Api = Literal["responses", "chat", "messages"]

_NAME_RE = re.compile(r"^[a-zA-Z0-9_-]{1,128}$")
_COMMON = frozenset(
    "about above after again against always another answer anything around based "
    "before being below between brief could current details every final first "
    "function given information input other output param parameter parameters "
    "provide provided query question response result results return returns "
    "should since specific specified string their there these thing things those "
    "through tool tools under until using value values where which while would "
    "write conversation".split()
)
_GENERIC_NAME_WORDS = frozenset({"get", "set", "fetch", "call", "run", "make", "tool", "function"})


@dataclass(frozen=True)
class Tool:
    """A function tool the model may call."""

    name: str
    description: str
    parameters: dict[str, Any]


@dataclass(frozen=True)
class ToolChoice:
    """``mode`` is "auto", "required" or "none"; ``name`` is set for a named tool."""

    mode: str = "auto"
    name: str | None = None


@dataclass(frozen=True)
class ToolCall:
    """One call the model makes: ``arguments`` is JSON text, streamed as ``fragments``."""

    call_id: str
    name: str
    arguments: str

    @property
    def fragments(self) -> list[str]:
        """The argument deltas: token-sized pieces (``{"``, ``city``, ``":"`` ...)."""
        return tokenize(self.arguments)

    @property
    def input(self) -> Any:
        return json.loads(self.arguments)


@dataclass(frozen=True)
class ToolResult:
    """A tool's output sent back by the client (``name`` None if not known)."""

    call_id: str
    name: str | None
    content: str
    is_error: bool = False


@dataclass
class History:
    """What the conversation says, read by an API module from its messages."""

    prompt: str = ""
    context: str = ""  # system prompt / instructions / developer messages
    called: list[str] = field(default_factory=list)  # tool names called since the prompt
    results: list[ToolResult] = field(default_factory=list)  # results since the prompt


# -- definitions ----------------------------------------------------------

SUMMARIES = ("auto", "concise", "detailed")


def listed(obj: dict[str, Any], key: str, where: str) -> list[Any]:
    """``obj[key]`` when it is a list (absent or null: empty); a 400 naming it otherwise."""
    value = obj.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise ProviderError(
            400,
            f"Invalid type for '{where}.{key}': expected an array, got {type(value).__name__}.",
            param=f"{where}.{key}",
            code="invalid_type",
        )
    return value


def unsupported_tool(where: str, kind: str) -> ProviderError:
    return ProviderError(
        400,
        f"Invalid '{where}.type': tool type {kind!r} is not supported by the local provider; "
        "only function tools are (use a real provider for hosted and custom tools).",
        param=f"{where}.type",
        code="unsupported_tool_type",
    )


def make_tool(where: str, name: Any, description: Any, parameters: Any, key: str) -> Tool:
    """A checked ``Tool``; ``key`` names the schema field ("parameters" or "input_schema")."""
    if not isinstance(name, str) or not _NAME_RE.match(name):
        raise ProviderError(
            400,
            f"Invalid '{where}.name': expected a string of 1-128 letters, digits, '_' or '-', "
            f"got {json.dumps(name)[:60]}.",
            param=f"{where}.name",
            code="invalid_value",
        )
    if description is not None and not isinstance(description, str):
        raise ProviderError(
            400, f"Invalid '{where}.description': expected a string.", param=f"{where}.description"
        )
    if parameters is None:
        parameters = {"type": "object", "properties": {}}
    if not isinstance(parameters, dict) or parameters.get("type", "object") != "object":
        raise ProviderError(
            400,
            f"Invalid '{where}.{key}': a tool's {key} must be a JSON Schema of type 'object' "
            f"(its arguments are a JSON object), got {json.dumps(parameters)[:80]}.",
            param=f"{where}.{key}",
            code="invalid_function_parameters",
        )
    try:
        generate_json(parameters, name)
    except (SchemaError, TypeError, ValueError, RecursionError) as exc:
        raise ProviderError(
            400,
            f"Invalid schema for '{where}.{key}': {exc}",
            param=f"{where}.{key}",
            code="invalid_function_parameters",
        ) from None
    return Tool(name=name, description=description or "", parameters=parameters)


def check_unique(tools: list[Tool], where: str) -> list[Tool]:
    seen: set[str] = set()
    for i, t in enumerate(tools):
        if t.name in seen:
            raise ProviderError(
                400,
                f"Invalid '{where}[{i}].name': duplicate tool name {t.name!r}; "
                "tool names must be unique.",
                param=f"{where}[{i}].name",
                code="duplicate_tool_name",
            )
        seen.add(t.name)
    return tools


def named_choice(tools: list[Tool], name: Any, where: str) -> ToolChoice:
    if not isinstance(name, str) or name not in {t.name for t in tools}:
        known = ", ".join(repr(t.name) for t in tools) or "none"
        raise ProviderError(
            400,
            f"Invalid '{where}': tool {json.dumps(name)[:60]} is not in 'tools' (defined: {known}).",
            param=where,
            code="invalid_value",
        )
    return ToolChoice("required", name)


def unknown_call(where: str, call_id: Any, what: str) -> ProviderError:
    return ProviderError(
        400,
        f"Invalid '{where}': no tool call found with id {json.dumps(call_id)[:60]}. {what}",
        param=where,
        code="invalid_value",
    )


# -- the rule ---------------------------------------------------------------

_WORD = re.compile(r"[a-z0-9]+")


def _name_words(name: str) -> list[str]:
    spaced = re.sub(r"([a-z])([A-Z])", r"\1 \2", name).lower()
    return [w for w in _WORD.findall(spaced) if len(w) >= 4 and w not in _GENERIC_NAME_WORDS]


def matches(tool: Tool, prompt: str) -> bool:
    """Whether ``prompt`` asks for ``tool`` (see the module docstring)."""
    text = gist(prompt).lower()
    words = set(_WORD.findall(text))
    stems = {w.rstrip("s") for w in words}
    name = tool.name.lower()
    if name in text or name.replace("_", " ").replace("-", " ") in text:
        return True
    if any(w in words or w.rstrip("s") in stems for w in _name_words(tool.name)):
        return True
    desc = {w for w in _WORD.findall(tool.description.lower()) if len(w) >= 5} - _COMMON
    return any(w in words or w.rstrip("s") in stems for w in desc)


def choose_calls(
    tools: list[Tool], choice: ToolChoice, history: History, *, parallel: bool
) -> list[Tool]:
    """The tools called this turn, by the rule in the module docstring."""
    if not tools or choice.mode == "none":
        return []
    if choice.name is not None:
        return [t for t in tools if t.name == choice.name]
    called = set(history.called)
    pending = [t for t in tools if t.name not in called and matches(t, history.prompt)]
    if not pending and choice.mode == "required":
        pending = [next((t for t in tools if t.name not in called), tools[0])]
    return pending if parallel else pending[:1]


def call_id(prefix: str, history: History, name: str, k: int, seed: int) -> str:
    """A call id that depends only on the conversation, so a replay gives the same ids."""
    raw = f"{seed}\x00{history.prompt}\x00{len(history.called)}\x00{name}\x00{k}"
    return prefix + hashlib.sha256(raw.encode()).hexdigest()[:24]


def make_calls(
    chosen: list[Tool], history: History, seed: int, *, api: Api, id_prefix: str
) -> list[ToolCall]:
    """Calls with arguments for the chosen tools; compact JSON for OpenAI, spaced for Anthropic."""
    separators = (", ", ": ") if api == "messages" else (",", ":")
    facts = " ".join(" ".join(r.content.split()) for r in history.results if not r.is_error)[:400]
    out = []
    for k, tool in enumerate(chosen):
        args = arguments(tool, history.prompt, seed, k, facts)
        out.append(
            ToolCall(
                call_id=call_id(id_prefix, history, tool.name, k, seed),
                name=tool.name,
                arguments=json.dumps(args, ensure_ascii=False, separators=separators),
            )
        )
    return out


# -- arguments ----------------------------------------------------------------

CITIES = (
    "Paris",
    "Tokyo",
    "Lisbon",
    "Nairobi",
    "Montreal",
    "Buenos Aires",
    "Sydney",
    "Berlin",
    "London",
    "New York",
    "San Francisco",
    "Madrid",
    "Rome",
    "Seoul",
    "Cairo",
    "Mumbai",
)
_COUNTRIES = {
    "Paris": "France",
    "Tokyo": "Japan",
    "Lisbon": "Portugal",
    "Nairobi": "Kenya",
    "Montreal": "Canada",
    "Buenos Aires": "Argentina",
    "Sydney": "Australia",
    "Berlin": "Germany",
    "London": "United Kingdom",
    "New York": "United States",
    "San Francisco": "United States",
    "Madrid": "Spain",
    "Rome": "Italy",
    "Seoul": "South Korea",
    "Cairo": "Egypt",
    "Mumbai": "India",
}
_PLACE_RE = re.compile(r"\b(?:in|for|at|to|from|of)\s+([A-Z][a-zA-Z'-]+(?:\s[A-Z][a-zA-Z'-]+)?)")


def city_in(prompt: str) -> str | None:
    """The city the prompt names: a well-known one, or a capitalised word after "in"/"for"."""
    prompt = gist(prompt)
    low = prompt.lower()
    for city in CITIES:
        if re.search(rf"\b{city.lower()}\b", low):
            return city
    m = _PLACE_RE.search(prompt)
    return m.group(1) if m else None


_ANSWER_KEYS = ("summary", "answer", "result", "response", "text", "content", "reply", "message")


def _plausible(name: str, prompt: str, rng: Any, facts: str = "") -> str | None:
    key = name.lower().replace("-", "_")
    if facts and key in _ANSWER_KEYS:
        return facts
    city = city_in(prompt) or rng.choice(CITIES)
    if key in ("city", "city_name", "town"):
        return city
    if key in ("location", "place", "address", "destination", "origin"):
        return f"{city}, {_COUNTRIES.get(city, 'France')}"
    if key == "country":
        return _COUNTRIES.get(city, "France")
    if key in ("query", "q", "search", "search_query", "question", "prompt", "topic_query"):
        return prompt.strip()[:200] or "streaming"
    if key in ("unit", "units", "temperature_unit"):
        return "celsius"
    if key in ("language", "lang"):
        return "English"
    if key in ("timezone", "tz", "time_zone"):
        return "Europe/Paris"
    if key == "currency":
        return "EUR"
    return None


def _improve(value: Any, schema: Any, prompt: str, rng: Any, facts: str) -> Any:
    # Only plain inline string properties are replaced, so the schema still holds.
    if not isinstance(value, dict) or not isinstance(schema, dict):
        return value
    props = schema.get("properties")
    if not isinstance(props, dict):
        return value
    out = {}
    for k, v in value.items():
        sub = props.get(k)
        if isinstance(sub, dict) and isinstance(v, str) and _plain_string(sub):
            better = _plausible(k, prompt, rng, facts)
            lo, hi = sub.get("minLength", 0), sub.get("maxLength", 10**9)
            if better is not None and lo <= len(better) <= hi:
                v = better
        elif isinstance(sub, dict) and isinstance(v, dict) and "$ref" not in sub:
            v = _improve(v, sub, prompt, rng, facts)
        out[k] = v
    return out


def _plain_string(node: dict[str, Any]) -> bool:
    kind = node.get("type")
    return (
        (kind == "string" or (isinstance(kind, list) and "string" in kind))
        and not (
            {"enum", "const", "format", "pattern", "$ref", "anyOf", "oneOf", "allOf"} & set(node)
        )
        and all(isinstance(node.get(b, 0), int) for b in ("minLength", "maxLength"))
    )


def arguments(tool: Tool, prompt: str, seed: int, k: int = 0, facts: str = "") -> Any:
    """The arguments of call ``k`` to ``tool`` for ``prompt``: a value valid for its schema.

    ``facts`` (what earlier tool results said) fills answer-like strings
    (``summary``, ``answer``, ``result`` ...), so a structured final answer
    given as a tool call uses the results.
    """
    key = f"{prompt}\x00{tool.name}\x00{k}"
    value = json.loads(generate_json(tool.parameters, key, seed))
    return _improve(value, tool.parameters, prompt, rng_for(key, seed + 1), facts)


# -- the answer after tool results ----------------------------------------------


def result_text(results: list[ToolResult]) -> str:
    """A short answer built from the tool results (so an agent loop ends)."""
    parts = []
    for r in results:
        content = " ".join(r.content.split())
        if len(content) > 400:
            content = content[:400] + "..."
        who = f"The {r.name} tool" if r.name else "The tool"
        if r.is_error:
            parts.append(f"{who} reported an error: {content or 'no details'}.")
        elif content:
            parts.append(f"{who} returned: {content}")
        else:
            parts.append(f"{who} returned nothing.")
    return "Here is what I found. " + " ".join(parts)


def content_text(content: Any) -> str:
    """The text of a tool output: a string, or a list of text parts/blocks (others skipped)."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(
            p["text"] for p in content if isinstance(p, dict) and isinstance(p.get("text"), str)
        )
    if content is None:
        return ""
    return json.dumps(content, ensure_ascii=False)
