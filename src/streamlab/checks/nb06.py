"""Checks for notebook 06: tool calls, reasoning and agent loops on a stream.

- :func:`check_assemble_tool_calls`: ``assemble_tool_calls(chunks)`` rebuilds
  parallel tool calls from raw Chat Completions chunks (SDK objects, built
  as the openai SDK builds them while streaming), where ``id`` and ``name``
  come only in a call's first fragment, fragments of several calls
  interleave (even inside one chunk), calls may start out of index order,
  a call may have empty arguments and indexes go past 9.
- :func:`check_agent_loop`: ``agent_loop(req, tools, max_rounds=...)`` runs
  the loop on a stream against a scripted model that records when each tool
  ran, with what, what was sent back and on which request: tools that
  raise, a tool name not in ``tools``, arguments that are not valid JSON (or
  that only ``parsed_arguments()`` reads right: ``""``, ``true``, ``null``),
  a call forced by a named ``tool_choice`` (Chat ends it with ``"stop"``),
  a round limit, and a stop (``CancelledError``, ``KeyboardInterrupt``).

The inputs vary (number of calls and rounds, fragment sizes, limits) and come
from seeded random generators, so a solution cannot be fitted to one case.
"""

from __future__ import annotations

import asyncio
import json
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from streamlab.checks._report import Report, learner_error, run_check

__all__ = ["check_assemble_tool_calls", "check_agent_loop", "chat_chunks", "ScriptedRequest"]

Call = tuple[str, str, str]  # (id, name, arguments JSON text)


def _chunk(delta: dict[str, Any] | None, finish: str | None = None, *, usage: bool = False) -> Any:
    from openai._models import construct_type
    from openai.types.chat import ChatCompletionChunk

    body: dict[str, Any] = {
        "id": "chatcmpl-1",
        "object": "chat.completion.chunk",
        "created": 0,
        "model": "m",
        "choices": [] if delta is None else [{"index": 0, "delta": delta, "finish_reason": finish}],
    }
    if usage:
        body["usage"] = {"prompt_tokens": 9, "completion_tokens": 20, "total_tokens": 29}
    return construct_type(type_=ChatCompletionChunk, value=body)


def _fragment(index: int, arguments: str | None, first: Call | None) -> dict[str, Any]:
    function: dict[str, Any] = {} if arguments is None else {"arguments": arguments}
    call: dict[str, Any] = {"index": index, "function": function}
    if first is not None:  # the first fragment of a call: the only one with id and name
        call.update(id=first[0], type="function")
        function["name"] = first[1]
    return call


def _pieces(text: str, rng: random.Random | None) -> list[str]:
    out, i = [], 0
    while i < len(text):
        step = 5 if rng is None else rng.randint(1, 9)
        out.append(text[i : i + step])
        i += step
    return out


def chat_chunks(
    calls: list[Call],
    *,
    text: str = "",
    interleave: bool = True,
    rng: random.Random | None = None,
    per_chunk: int = 1,
    opening: str = "text",
    starts: list[int] | None = None,
    finish: str | None = None,
) -> list[Any]:
    """The Chat chunks of a turn that makes ``calls`` [(id, name, arguments)], as the wire sends them.

    Arguments come in pieces of 5 characters (of 1 to 9 with ``rng``); with
    ``interleave`` the pieces of consecutive calls alternate, and up to
    ``per_chunk`` fragments of different calls share one chunk. ``opening``
    is what a call's first fragment carries besides id and name: the first
    piece (``"text"``), ``arguments: ""`` as OpenAI sends (``"empty"``) or no
    arguments at all (``"none"``). ``starts`` is the order in which the
    calls begin (their indexes; index order by default): index says which
    call a fragment belongs to, not when it came. A role chunk first,
    ``text`` (if any) before the calls, ``finish_reason`` (``finish``, by
    default ``"tool_calls"`` when there are calls, else ``"stop"``) and the
    usage chunk (``choices == []``) last.
    """
    seq = list(range(len(calls))) if starts is None else starts
    out = [_chunk({"role": "assistant", "content": None})]
    if text:
        out += [_chunk({"content": text[i : i + 6]}) for i in range(0, len(text), 6)]
    pieces: list[list[str | None]] = []
    for _, _, arguments in calls:
        parts: list[str | None] = list(_pieces(arguments, rng))
        if opening != "text" or not parts:
            parts.insert(0, None if opening == "none" else "")
        pieces.append(parts)
    order: list[tuple[int, int]] = []
    if interleave:
        for step in range(max((len(p) for p in pieces), default=0)):
            order += [(i, step) for i in seq if step < len(pieces[i])]
    else:
        order = [(i, step) for i in seq for step in range(len(pieces[i]))]
    group: list[dict[str, Any]] = []
    for i, step in order:
        if len(group) == per_chunk or any(f["index"] == i for f in group):
            out.append(_chunk({"tool_calls": group}))
            group = []
        group.append(_fragment(i, pieces[i][step], calls[i] if step == 0 else None))
    if group:
        out.append(_chunk({"tool_calls": group}))
    out.append(_chunk({}, finish or ("tool_calls" if calls else "stop")))
    out.append(_chunk(None, usage=True))
    return out


_WEATHER = ("call_w1", "get_weather", '{"city": "Paris", "unit": "celsius"}')
_TIME = ("call_t2", "get_time", '{"timezone": "Europe/Paris"}')
_SEARCH = ("call_s3", "search", '{"query": "streaming tool calls", "limit": 3}')
_NO_ARGS = (
    "call_c5",
    "list_cities",
    "",
)  # a tool that takes no arguments: "" is its whole JSON text
_EXACT = ("call_s6", "search", '{"query": "Oslo events", "limit": 2, "exact": true, "near": null}')
_CITIES = ["Paris", "Zürich", "São Paulo", "Kyiv", "Lagos", "Osaka", "Lima", "Oslo"]
_ZONES = {"Europe/Paris": "14:05", "Asia/Tokyo": "21:05", "America/Lima": "07:05"}


def _random_call(rng: random.Random) -> Call:
    """One plausible call: a random tool, random arguments, a fresh id."""
    call_id = f"call_{rng.getrandbits(40):010x}"
    kind = rng.choice(["get_weather", "get_time", "search"])
    if kind == "get_weather":
        args: dict[str, Any] = {
            "city": rng.choice(_CITIES),
            "unit": rng.choice(["celsius", "fahrenheit"]),
        }
    elif kind == "get_time":
        args = {"timezone": rng.choice(sorted(_ZONES))}
    else:
        args = {"query": f"{rng.choice(_CITIES)} events", "limit": rng.randint(1, 4)}
    return call_id, kind, json.dumps(args, ensure_ascii=False)


def _as_call(call: Any) -> tuple[Any, Any, Any]:
    if isinstance(call, dict):
        return call.get("id"), call.get("name"), call.get("arguments")
    return getattr(call, "id", None), getattr(call, "name", None), getattr(call, "arguments", None)


def _assemble_hint(exc: BaseException) -> str | None:
    text = str(exc)
    if isinstance(exc, IndexError):
        return (
            "the last chunk (the usage chunk, choices == []) has no choices when "
            "stream_options={'include_usage': True}: skip a chunk whose choices are empty"
        )
    if isinstance(exc, ValueError):  # json.JSONDecodeError is one
        return (
            "A fragment alone is not JSON: join each call's fragments first (parse, if at all, "
            "only at the end)"
        )
    if isinstance(exc, TypeError) and ("concatenate" in text or "operand" in text):
        return (
            "function.arguments is None in a fragment that has only id and name (the field is "
            "Optional, and some servers send it so): add `or ''`"
        )
    if isinstance(exc, TypeError) and "not supported between" in text:
        return "sort the calls by tool_call.index (a number); later fragments have id None"
    return None


def _diagnose_calls(r: Report, what: str, got: Any, want: list[Call], opening: str) -> None:
    """Say what is wrong with the learner's calls ``got``, most telling problem first."""
    if not isinstance(got, (list, tuple)):
        r.expect(False, f"for {what} return a list of calls (a dict each), got {got!r:.80}")
        return
    got = [_as_call(c) for c in got]
    if got == want:
        r.expect(True, "")
        return
    if len(got) < len(want) and any(not a for _, _, a in want):
        kept = {(i, n) for i, n, _ in got}
        dropped = [n for i, n, a in want if not a and (i, n) not in kept]
        if dropped:
            r.expect(
                False,
                f"for {what} the call to {dropped[0]} is missing: its arguments are '' (a tool "
                "that takes none), and it is still a call. Create a call at its first fragment "
                "(the one with id and name), whatever its arguments, and keep it",
            )
            return
    if len(got) != len(want):
        r.expect(
            False,
            f"for {what} expected {len(want)} call(s), got {len(got)}: parallel calls come "
            "with index 0, 1, 2...; one list entry per index (not per id: later fragments have "
            "id None; not its position in delta.tool_calls, which restarts in every chunk), in "
            "index order; read every entry of delta.tool_calls (one chunk can carry fragments "
            "of several calls)",
        )
        return
    heads = [(i, n) for i, n, _ in got]
    if heads != [(i, n) for i, n, _ in want] and sorted(heads, key=repr) == sorted(
        ((i, n) for i, n, _ in want), key=repr
    ):
        r.expect(
            False,
            f"for {what} the calls are all there but out of order ({[i for i, _ in heads][:4]}...): "
            "return them in index order (not in the order they started), and sort the indexes "
            "as numbers (10 comes after 9, not after 1)",
        )
        return
    for k, ((gi, gn, ga), (wi, wn, wa)) in enumerate(zip(got, want, strict=True)):
        if gi != wi or gn != wn:
            r.expect(
                False,
                f"for {what}, call {k} has id {gi!r} and name {gn!r}, expected {wi!r} and "
                f"{wn!r}: Chat sends id and name only in a call's first fragment (later ones "
                "have id=None and no name); keep them from there, do not overwrite them",
            )
            return
        if ga == wa:
            continue
        if not isinstance(ga, str):
            r.expect(
                False,
                f"for {what}, call {k} ({wn}) has arguments of type {type(ga).__name__}: return "
                "the JSON text as it arrived (a str), joined; whoever runs the tool parses it "
                "once, when the call is complete",
            )
        elif opening == "text" and ga and wa.endswith(ga):
            r.expect(
                False,
                f"for {what}, call {k} ({wn}) has arguments {ga!r}, expected {wa!r}: the first "
                f"fragment of a call can carry arguments too (here {wa[: len(wa) - len(ga)]!r}), "
                "besides id and name: add every fragment's arguments, the first included",
            )
        else:
            r.expect(
                False,
                f"for {what}, call {k} ({wn}) has arguments {ga!r:.90}, expected {wa!r:.90}: "
                "fragments of different calls can interleave, and one chunk can carry fragments "
                "of several calls; tool_call.index says which call a fragment belongs to (not "
                "its position in the list, not the last call started). Read every entry of "
                "delta.tool_calls and join each call's fragments in arrival order",
            )
        return


def check_assemble_tool_calls(assemble_tool_calls: Callable[[Any], Any]) -> bool:
    """Exercise 6.1: rebuild parallel tool calls from raw Chat chunks by ``index``."""

    def body(r: Report) -> None:
        ok, _ = r.call(
            assemble_tool_calls,
            iter([_chunk(None, usage=True)]),
            what="on the usage chunk alone (choices == [])",
            hint=_assemble_hint,
        )
        if not ok:
            return
        rng = random.Random(6)
        many = [_random_call(rng) for _ in range(12)]
        cases = [
            ('two calls whose fragments interleave (first fragments with arguments "", as OpenAI '
             "sends)", [_WEATHER, _TIME], dict(opening="empty"), ""),
            ("three calls, one after the other, after some text", [_WEATHER, _TIME, _SEARCH],
             dict(interleave=False), "Let me check."),
            ("one call whose first fragment has no arguments (None)", [_SEARCH],
             dict(opening="none"), ""),
            ("a text answer with no call", [], {}, "It is sunny."),
            ("three calls, the middle one to a tool with no arguments ('')",
             [_WEATHER, _NO_ARGS, _TIME], {}, ""),
            ("three calls that start out of index order (index 2 first, then 0, then 1)",
             [_WEATHER, _TIME, _SEARCH], dict(starts=[2, 0, 1]), ""),
            ("12 parallel calls (indexes past 9), fragments of two calls in one chunk, random "
             "fragment sizes (seed 6)", many, dict(rng=rng, per_chunk=2), ""),
        ]  # fmt: skip
        for what, calls, options, text in cases:
            chunks = chat_chunks(calls, text=text, **options)
            ok, got = r.call(
                assemble_tool_calls, iter(chunks), what=f"for {what}", hint=_assemble_hint
            )
            if ok:
                _diagnose_calls(r, what, got, calls, options.get("opening", "text"))

    return run_check("Exercise 6.1: parallel tool calls from a raw Chat stream", body)


# -- the agent loop ---------------------------------------------------------------


class _Forced(list):  # type: ignore[type-arg]
    """A turn whose calls a named ``tool_choice`` forced: Chat ends it with ``finish_reason: "stop"``."""


@dataclass
class _Script:
    """What the scripted model does on each turn, and what it saw."""

    turns: list[list[Call] | str]  # calls to make (_Forced: ending "stop"), or "text" / "!text"
    streams: int = 0
    results: list[dict[Any, Any]] = field(default_factory=list)
    finished: bool = False  # the current stream has sent its finish_reason
    stale: list[int] = field(default_factory=list)  # streams made from an outdated request

    def stream(self) -> Iterator[Any]:
        self.finished = False
        turn = self.turns[min(self.streams, len(self.turns) - 1)]
        self.streams += 1
        if isinstance(turn, str):
            chunks = chat_chunks([], text=turn.lstrip("!"))
            if turn.startswith("!"):  # cut short by the token limit
                chunks[-2] = _chunk({}, "length")
        else:
            chunks = chat_chunks(turn, finish="stop" if isinstance(turn, _Forced) else None)
        for chunk in chunks:
            if chunk.choices and chunk.choices[0].finish_reason:
                self.finished = True
            yield chunk


class ScriptedRequest:
    """Stands in for :class:`streamlab.Request` in the check: a model that follows a script.

    ``stream()`` gives the next turn's Chat chunks; ``then(end, results)``
    records the results sent back and checks one result per call, as the
    real ``Request.then`` does. Each request knows how many rounds of
    results it carries, so a stream of an outdated request is noticed.
    """

    def __init__(self, script: _Script, rounds: int = 0) -> None:
        self._script = script
        self._rounds = rounds

    def stream(self, client: Any = None) -> Iterator[Any]:
        if self._rounds != len(self._script.results):
            self._script.stale.append(self._script.streams + 1)
        return self._script.stream()

    def then(self, end: Any, results: Any = None) -> ScriptedRequest:
        results = dict(results or {})
        calls = [c.id for c in getattr(end, "tool_calls", ())]
        if set(results) != set(calls) or len(results) != len(calls):
            raise ValueError(
                "then() needs exactly one result per tool call, keyed by call.id: the calls "
                f"were {calls}, the results were for {list(results)}"
            )
        self._script.results.append(results)
        return ScriptedRequest(self._script, self._rounds + 1)


def _get_weather(city: str, unit: str = "fahrenheit") -> dict[str, Any]:
    return {"city": city, "temperature": 21 if unit == "celsius" else 70, "unit": unit}


def _get_time(timezone: str) -> str:
    if timezone not in _ZONES:
        raise ValueError(f"unknown timezone {timezone!r}: use an IANA name such as Europe/Paris")
    return _ZONES[timezone]


def _search(query: str, limit: int = 10, exact: bool = False, near: str | None = None) -> list[str]:
    if query == "everything":
        raise TimeoutError("the search backend did not answer within 5 s")
    kind = "exact" if exact is True else "result"
    return [f"{query}: {kind} {i}" + (f" near {near}" if near else "") for i in range(limit)]


def _list_cities() -> list[str]:
    return sorted(_CITIES)


_TOOLS: dict[str, Callable[..., Any]] = {
    "get_weather": _get_weather,
    "get_time": _get_time,
    "search": _search,
    "list_cities": _list_cities,
}
#: Calls whose tool raises, and a phrase of the message that must go back to the model.
_BAD_TIME = ("call_t9", "get_time", '{"timezone": "Mars/Olympus"}')
_SLOW_SEARCH = ("call_s8", "search", '{"query": "everything", "limit": 10}')
#: A call to a tool that is not in `tools` (models invent names), and one whose JSON is cut.
_UNKNOWN = ("call_u7", "get_stock_price", '{"symbol": "ACME"}')
_BROKEN = ("call_b8", "get_weather", '{"city": "Paris", "unit": ')
_ERRORS = {
    "call_t9": "unknown timezone",
    "call_s8": "did not answer within 5 s",
    "call_u7": "get_stock_price",
    "call_b8": "not valid JSON",
}
#: Calls whose tool cannot run at all.
_NOT_RUN = {"call_u7", "call_b8"}


def _arguments(text: str) -> dict[str, Any]:
    """A call's arguments as ``parsed_arguments()`` gives them: ``{}`` for ``""``."""
    return json.loads(text) if text.strip() else {}


_Log = list[tuple[str, tuple[Any, ...], dict[str, Any], bool]]


def _tools(script: _Script, log: _Log, **override: Callable[..., Any]) -> dict[str, Any]:
    """The tools the learner's loop gets: each records its name, arguments and timing."""

    def recorded(name: str, impl: Callable[..., Any]) -> Callable[..., Any]:
        def tool(*args: Any, **kwargs: Any) -> Any:
            log.append((name, args, kwargs, script.finished))
            return impl(*args, **kwargs)

        tool.__name__ = name
        return tool

    return {name: recorded(name, impl) for name, impl in {**_TOOLS, **override}.items()}


@dataclass
class _Run:
    end: Any
    script: _Script
    log: _Log


def _run(
    r: Report,
    agent_loop: Callable[..., Any],
    turns: list[Any],
    max_rounds: int,
    what: str,
    hint: str | Callable[[BaseException], str | None] = "",
) -> _Run | None:
    script = _Script(turns)
    log: _Log = []
    ok, end = r.call(
        agent_loop,
        ScriptedRequest(script),
        _tools(script, log),
        max_rounds=max_rounds,
        what=what,
        hint=hint,
    )
    return _Run(end, script, log) if ok else None


def _same_result(sent: Any, want: Any) -> bool:
    """``sent`` is what the tool returned: as it is, as JSON text, or as its ``str``."""
    if sent == want:
        return True
    if isinstance(sent, str):
        try:
            if json.loads(sent) == want:
                return True
        except ValueError:
            pass
        return sent == str(want)
    return False


def _check_rounds(r: Report, what: str, run: _Run, rounds: list[list[Call]], streams: int) -> bool:
    """The tools of ``rounds`` ran, complete, in order, and their results went back on fresh requests."""
    early = [name for name, _, _, finished in run.log if not finished]
    if not r.expect(
        not early,
        f"{what}: {early} ran before its stream had finished: its arguments were still partial. "
        "A tool runs only on a complete call (ToolCallDone, or the StreamEnd's tool_calls)",
    ):
        return False
    if not r.expect(
        run.script.streams == streams,
        f"{what}: that takes {streams} streams (one per round of tools, then the answer); your "
        f"loop streamed {run.script.streams} time(s): stream again after each round of results, "
        "until the outcome is not 'tool_calls'",
    ):
        return False
    want = [(n, _arguments(a)) for calls in rounds for i, n, a in calls if i not in _NOT_RUN]
    got = [(n, kwargs) if not args else (n, args) for n, args, kwargs, _ in run.log]
    if not r.equal(
        got,
        want,
        f"{what}: the tools that ran (name, arguments); pass every argument by name: "
        "tools[call.name](**call.parsed_arguments())",
    ):
        return False
    if rounds and not run.script.results and run.script.streams > 1:
        return r.expect(
            False,
            f"{what}: your loop streamed again but no results were sent back: build the next "
            "request with them, req = req.then(end, results), and stream that",
        )
    if run.script.stale:
        return r.expect(
            False,
            f"{what}: stream {run.script.stale[0]} was made from a request that does not carry the "
            "earlier rounds (the model would forget them): stream the request then() returned, "
            "req = req.then(end, results), every round",
        )
    for calls, sent in zip(rounds, run.script.results, strict=False):
        for call_id, name, arguments in calls:
            if call_id in _ERRORS:
                continue
            want_result = _TOOLS[name](**_arguments(arguments))
            if not _same_result(sent.get(call_id), want_result):
                return r.expect(
                    False,
                    f"{what}: the result sent back for call {call_id} ({name}) was "
                    f"{sent.get(call_id)!r:.80}, but its tool returned {want_result!r:.80}: send "
                    "what that call's tool returned, under that call's id",
                )
    return True


def check_agent_loop(agent_loop: Callable[..., Any]) -> bool:
    """Exercise 6.2: the agent loop on a stream, tool rounds, a round limit, errors sent back."""

    def body(r: Report) -> None:
        answer = "It is 21 C and 14:05 in Paris."
        two = [[_WEATHER, _SEARCH], [_TIME]]
        what = "two tool rounds (two parallel calls, then one), then the answer, max_rounds=3"
        run = _run(r, agent_loop, [*two, answer], 3, what)
        if run is None:
            return
        _check_rounds(r, what, run, two, streams=3)
        r.expect(
            getattr(run.end, "outcome", None) == "stop"
            and getattr(run.end, "text", None) == answer,
            f"return the final StreamEnd (outcome 'stop', its text the answer); got {run.end!r:.120}",
        )

        rng = random.Random(6)
        rounds = [[_random_call(rng) for _ in range(rng.randint(1, 3))] for _ in range(3)]
        what = "three rounds of 1 to 3 random calls (seed 6), then the answer, max_rounds=5"
        run = _run(r, agent_loop, [*rounds, "Done."], 5, what)
        if run is not None and _check_rounds(r, what, run, rounds, streams=4):
            r.expect(
                getattr(run.end, "outcome", None) == "stop",
                f"{what}: return the answer's StreamEnd; got {run.end!r:.100}",
            )

        # The round limit: tools run at most max_rounds times, the last stream is kept.
        for limit in (1, 2, 4):
            rounds = [
                [_random_call(rng) for _ in range(rng.randint(1, 2))] for _ in range(limit + 2)
            ]
            what = f"with max_rounds={limit} and a model that keeps calling tools"
            run = _run(r, agent_loop, [*rounds, "done"], limit, what)
            if run is None:
                continue
            sent, streams = len(run.script.results), run.script.streams
            if not r.expect(
                sent == limit and streams == limit + 1,
                f"{what}, run {limit} round(s) of tools and stop after stream {limit + 1}; your "
                f"loop sent {sent} round(s) of results and streamed {streams} time(s): take the "
                "limit from the max_rounds argument (an off-by-one is the usual cause)",
            ):
                continue
            ran, want = len(run.log), sum(len(calls) for calls in rounds[:limit])
            r.expect(
                ran == want,
                f"{what}, your loop ran {ran} tool call(s), but its first {limit} round(s) make "
                f"{want}: at the limit return the last StreamEnd as it is, its calls not run",
            )
            last = [c.id for c in getattr(run.end, "tool_calls", ())]
            r.expect(
                getattr(run.end, "outcome", None) == "tool_calls"
                and last == [c[0] for c in rounds[limit]],
                f"{what}, return the last StreamEnd as it is (outcome 'tool_calls', its calls not "
                f"run), so the caller sees the loop did not finish; got {run.end!r:.100}",
            )

        _check_tool_errors(r, agent_loop)
        _check_forced(r, agent_loop)
        _check_cancelled(r, agent_loop)

        # An ending that is not a tool call ends the loop: no more streams.
        run = _run(r, agent_loop, ["!Half an ans", "never"], 3, "a stream cut short")
        if run is not None:
            r.expect(
                run.script.streams == 1 and getattr(run.end, "outcome", None) == "length",
                "a stream cut short (outcome 'length') must end the loop and be returned; your "
                f"loop streamed {run.script.streams} time(s) and returned "
                f"{getattr(run.end, 'outcome', run.end)!r}",
            )

    return run_check("Exercise 6.2: the agent loop", body)


def _tool_error_hint(exc: BaseException) -> str:
    """Why a loop let a tool's error out, by what escaped."""
    if isinstance(exc, KeyError):
        return (
            "a call named a tool that is not in `tools` (models invent names): look the tool up "
            "inside the try, so that the KeyError goes back as that call's result naming the tool"
        )
    if (
        isinstance(exc, ValueError)
        and "JSON" in str(exc)
        or type(exc).__name__ == "JSONDecodeError"
    ):
        return (
            "a call's arguments were not valid JSON (a model can cut them): parse them with "
            "call.parsed_arguments() inside the try, so that its error goes back as the result"
        )
    return (
        "your loop let it out: catch Exception around each tool call (any type, not only "
        "ValueError) and send the error's message back as that call's result (the model can "
        "correct itself)"
    )


def _check_tool_errors(r: Report, agent_loop: Callable[..., Any]) -> None:
    """Tools that raise, unknown tools, broken JSON: error messages go back as the calls' results."""
    rounds = {
        "a round in which two of three tools raise (ValueError, TimeoutError)": [
            _BAD_TIME,
            _WEATHER,
            _SLOW_SEARCH,
        ],
        "a round with a call to a tool not in `tools`, one whose JSON is cut short, one with "
        "no arguments ('') and one with JSON true and null": [_UNKNOWN, _BROKEN, _NO_ARGS, _EXACT],
    }
    for what, calls in rounds.items():
        run = _run(
            r, agent_loop, [calls, "Sorry, I could not find that."], 3, what, hint=_tool_error_hint
        )
        if run is None or not _check_rounds(r, what, run, [calls], streams=2):
            continue
        sent = run.script.results[0] if run.script.results else {}
        for call_id, name, _ in calls:
            phrase = _ERRORS.get(call_id)
            if phrase is None:
                continue
            how = (
                "parse the arguments with call.parsed_arguments(), as the exercise says: its error "
                "names the call and says the JSON is not valid"
                if call_id == "call_b8"
                else "send its message (e.g. f'error: {exc}') as the result, so that the model "
                "knows what went wrong"
            )
            r.expect(
                phrase in str(sent.get(call_id)),
                f"{what}: the call {call_id} ({name}) should be answered with an error saying "
                f"'...{phrase}...', got {sent.get(call_id)!r:.80}: do not swallow the error; {how}",
            )


def _check_forced(r: Report, agent_loop: Callable[..., Any]) -> None:
    """A call forced by a named ``tool_choice`` ends with finish_reason "stop": it still runs."""
    what = "a call forced by tool_choice (Chat ends it with finish_reason 'stop'), then the answer"
    run = _run(r, agent_loop, [_Forced([_WEATHER]), "It is 21 C."], 3, what)
    if run is None:
        return
    if not r.expect(
        run.script.streams == 2,
        f"{what}: your loop streamed {run.script.streams} time(s) and did not run the call: a "
        "named tool_choice ends complete calls with finish_reason 'stop', and stream_events "
        "still says outcome 'tool_calls'; decide on the StreamEnd's outcome, not on the raw "
        "finish_reason",
    ):
        return
    _check_rounds(r, what, run, [[_WEATHER]], streams=2)


def _check_cancelled(r: Report, agent_loop: Callable[..., Any]) -> None:
    """A tool stopped (CancelledError: Stop pressed; KeyboardInterrupt) stops the loop."""
    for stop in (asyncio.CancelledError("the run was stopped"), KeyboardInterrupt()):
        kind = type(stop).__name__

        def stopped(*args: Any, _stop: BaseException = stop, **kwargs: Any) -> Any:
            raise _stop

        script = _Script([[_WEATHER], "never"])
        log: _Log = []
        try:
            agent_loop(
                ScriptedRequest(script), _tools(script, log, get_weather=stopped), max_rounds=3
            )
        except NotImplementedError:
            raise
        except (asyncio.CancelledError, KeyboardInterrupt) as exc:
            r.expect(
                type(exc) is type(stop) and script.streams == 1,
                f"a tool raised {kind} and your loop streamed again (or raised something else) "
                "before letting it out: stop at once",
            )
            continue
        except Exception as exc:
            r.expect(False, learner_error(exc, f"a tool raised {kind}"))
            continue
        r.expect(
            False,
            f"a tool raised {kind} (someone stopped the run) and your loop caught it and went on "
            f"({script.streams} stream(s)): CancelledError and KeyboardInterrupt (the kernel's "
            "Stop) are BaseException, not Exception; catch Exception, not BaseException (a bare "
            "`except:` catches them too), so that a stop stops the loop",
        )
