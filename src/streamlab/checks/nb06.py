"""Checks for notebook 06: tool calls, reasoning and agent loops on a stream.

- :func:`check_assemble_tool_calls`: ``assemble_tool_calls(chunks)`` rebuilds
  parallel tool calls from raw Chat Completions chunks (SDK objects, built
  as the openai SDK builds them while streaming), where ``id`` and ``name``
  come only in a call's first fragment and fragments of two calls interleave.
- :func:`check_agent_loop`: ``agent_loop(req, tools, max_rounds=...)`` runs
  the loop on a stream against a scripted model that records when each tool
  ran, with what, and what was sent back.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from streamlab.checks._report import Report, run_check

__all__ = ["check_assemble_tool_calls", "check_agent_loop", "chat_chunks", "ScriptedRequest"]


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


def _fragment(
    index: int, arguments: str, call_id: str | None = None, name: str | None = None
) -> dict[str, Any]:
    function: dict[str, Any] = {"arguments": arguments}
    call: dict[str, Any] = {"index": index, "function": function}
    if call_id is not None:  # the first fragment of a call: the only one with id and name
        call.update(id=call_id, type="function")
        function["name"] = name
    return {"tool_calls": [call]}


def chat_chunks(
    calls: list[tuple[str, str, str]], *, text: str = "", interleave: bool = True
) -> list[Any]:
    """The Chat chunks of a turn that makes ``calls`` [(id, name, arguments)], as the wire sends them.

    Each call's arguments come in pieces of 5 characters; with
    ``interleave`` the pieces of consecutive calls alternate. A role chunk
    first, ``text`` (if any) before the calls, ``finish_reason`` and the
    usage chunk (``choices == []``) last.
    """
    out = [_chunk({"role": "assistant", "content": None})]
    if text:
        out += [_chunk({"content": text[i : i + 6]}) for i in range(0, len(text), 6)]
    pieces = [[a[i : i + 5] for i in range(0, len(a), 5)] or [""] for _, _, a in calls]
    started: set[int] = set()
    order: list[tuple[int, int]] = []
    if interleave:
        for step in range(max((len(p) for p in pieces), default=0)):
            order += [(i, step) for i in range(len(calls)) if step < len(pieces[i])]
    else:
        order = [(i, step) for i in range(len(calls)) for step in range(len(pieces[i]))]
    for i, step in order:
        call_id, name, _ = calls[i]
        first = i not in started
        started.add(i)
        frag = _fragment(i, pieces[i][step], call_id if first else None, name if first else None)
        out.append(_chunk(frag))
    out.append(_chunk({}, "tool_calls" if calls else "stop"))
    out.append(_chunk(None, usage=True))
    return out


_WEATHER = ("call_w1", "get_weather", '{"city": "Paris", "unit": "celsius"}')
_TIME = ("call_t2", "get_time", '{"timezone": "Europe/Paris"}')
_SEARCH = ("call_s3", "search", '{"query": "streaming tool calls", "limit": 3}')


def _as_call(call: Any) -> tuple[Any, Any, Any]:
    if isinstance(call, dict):
        return call.get("id"), call.get("name"), call.get("arguments")
    return getattr(call, "id", None), getattr(call, "name", None), getattr(call, "arguments", None)


def check_assemble_tool_calls(assemble_tool_calls: Callable[[Any], Any]) -> bool:
    """Exercise 6.1: rebuild parallel tool calls from raw Chat chunks by ``index``."""

    def body(r: Report) -> None:
        try:
            assemble_tool_calls(iter([_chunk(None, usage=True)]))
        except NotImplementedError:
            raise
        except IndexError:
            r.expect(
                False,
                "on the usage chunk (choices == []) your function raised IndexError: with "
                "stream_options={'include_usage': True} the last chunk has no choices; skip it",
            )
            return
        cases = [
            ("two calls whose fragments interleave", [_WEATHER, _TIME], True, ""),
            ("three calls, one after the other, after some text", [_WEATHER, _TIME, _SEARCH], False, "Let me check."),
            ("one call", [_SEARCH], True, ""),
            ("a text answer with no call", [], True, "It is sunny."),
        ]  # fmt: skip
        for what, calls, interleave, text in cases:
            try:
                got = assemble_tool_calls(
                    iter(chat_chunks(calls, text=text, interleave=interleave))
                )
            except ValueError as exc:
                r.expect(
                    False,
                    f"for {what} your function raised {type(exc).__name__}: {exc}. A fragment alone is "
                    "not JSON: join each call's fragments first (parse, if at all, only at the end)",
                )
                continue
            got = [_as_call(c) for c in (got or [])]
            want = [(i, n, a) for i, n, a in calls]
            if got == want:
                r.expect(True, "")
                continue
            if len(got) != len(want):
                r.expect(
                    False,
                    f"for {what} expected {len(want)} call(s), got {len(got)}: parallel calls come "
                    "with index 0, 1, 2...; one list entry per index, in index order",
                )
                continue
            for k, ((gi, gn, ga), (wi, wn, wa)) in enumerate(zip(got, want, strict=True)):
                if gi != wi or gn != wn:
                    r.expect(
                        False,
                        f"for {what}, call {k} has id {gi!r} and name {gn!r}, expected {wi!r} and "
                        f"{wn!r}: Chat sends id and name only in a call's first fragment (later ones "
                        "have id=None and no name); keep them from there, do not overwrite them",
                    )
                    break
                if ga != wa:
                    r.expect(
                        False,
                        f"for {what}, call {k} ({wn}) has arguments {ga!r}, expected {wa!r}: "
                        "fragments of different calls can interleave; tool_call.index says which "
                        "call a fragment belongs to (not its position in the list, not the last "
                        "call started). Join each call's fragments in arrival order",
                    )
                    break

    return run_check("Exercise 6.1: assemble parallel tool calls", body)


# -- the agent loop ---------------------------------------------------------------


@dataclass
class _Script:
    """What the scripted model does on each turn, and what it saw."""

    turns: list[list[tuple[str, str, str]] | str]  # calls to make, or "text" / "!length"
    streams: int = 0
    results: list[dict[str, Any]] = field(default_factory=list)
    finished: bool = False  # the current stream has sent its finish_reason

    def stream(self) -> Iterator[Any]:
        self.finished = False
        turn = self.turns[min(self.streams, len(self.turns) - 1)]
        self.streams += 1
        if isinstance(turn, str):
            chunks = chat_chunks([], text=turn.lstrip("!"))
            if turn.startswith("!"):  # cut short by the token limit
                chunks[-2] = _chunk({}, "length")
        else:
            chunks = chat_chunks(turn)
        for chunk in chunks:
            if chunk.choices and chunk.choices[0].finish_reason:
                self.finished = True
            yield chunk


class ScriptedRequest:
    """Stands in for :class:`streamlab.Request` in the check: a model that follows a script.

    ``stream()`` gives the next turn's Chat chunks; ``then(end, results)``
    records the results sent back and checks one result per call, as the
    real ``Request.then`` does.
    """

    def __init__(self, script: _Script) -> None:
        self._script = script

    def stream(self, client: Any = None) -> Iterator[Any]:
        return self._script.stream()

    def then(self, end: Any, results: Any = None) -> ScriptedRequest:
        results = dict(results or {})
        calls = [c.id for c in getattr(end, "tool_calls", ())]
        if sorted(results) != sorted(calls):
            raise ValueError(
                f"then() needs one result per tool call: the calls were {calls}, the results were "
                f"for {sorted(results)}"
            )
        self._script.results.append(results)
        return ScriptedRequest(self._script)


def _tools(
    script: _Script, log: list[tuple[str, dict[str, Any], bool]]
) -> dict[str, Callable[..., Any]]:
    def get_weather(city: str, unit: str = "fahrenheit") -> dict[str, Any]:
        log.append(("get_weather", {"city": city, "unit": unit}, script.finished))
        return {"city": city, "temperature": 21 if unit == "celsius" else 70, "unit": unit}

    def get_time(timezone: str) -> str:
        log.append(("get_time", {"timezone": timezone}, script.finished))
        if timezone == "Mars/Olympus":
            raise ValueError(f"unknown timezone {timezone!r}")
        return "14:05"

    def search(query: str, limit: int = 10) -> list[str]:
        log.append(("search", {"query": query, "limit": limit}, script.finished))
        return [f"result {i}" for i in range(limit)]

    return {"get_weather": get_weather, "get_time": get_time, "search": search}


def _run(
    agent_loop: Callable[..., Any], turns: list[Any], max_rounds: int
) -> tuple[Any, _Script, list[Any]]:
    script = _Script(turns)
    log: list[tuple[str, dict[str, Any], bool]] = []
    end = agent_loop(ScriptedRequest(script), _tools(script, log), max_rounds=max_rounds)
    return end, script, log


def check_agent_loop(agent_loop: Callable[..., Any]) -> bool:
    """Exercise 6.2: the agent loop on a stream, two tool rounds, a round limit, errors sent back."""

    def body(r: Report) -> None:
        two_rounds = [[_WEATHER, _SEARCH], [_TIME], "It is 21 C and 14:05 in Paris."]
        end, script, log = _run(agent_loop, two_rounds, max_rounds=3)
        early = [name for name, _, finished in log if not finished]
        if not r.expect(
            not early,
            f"{early} ran before its stream had finished: its arguments were still partial. A "
            "tool runs only on a complete call (ToolCallDone, or the StreamEnd's tool_calls)",
        ):
            return
        r.equal(
            [(n, a) for n, a, _ in log],
            [
                ("get_weather", {"city": "Paris", "unit": "celsius"}),
                ("search", {"query": "streaming tool calls", "limit": 3}),
                ("get_time", {"timezone": "Europe/Paris"}),
            ],
            "the tools run (name, arguments) over two rounds; pass every argument: "
            "tools[call.name](**call.parsed_arguments())",
        )
        r.expect(
            script.streams == 3,
            f"two tool rounds then an answer take 3 streams; your loop streamed {script.streams} "
            "time(s): stream again after each round of results, until the outcome is not 'tool_calls'",
        )
        r.expect(
            getattr(end, "outcome", None) == "stop" and getattr(end, "text", None) == two_rounds[2],
            f"return the final StreamEnd (outcome 'stop', its text the answer); got {end!r:.120}",
        )
        if script.results:
            sent = script.results[0].get("call_w1")
            r.expect(
                isinstance(sent, (dict, str)) and "21" in json.dumps(sent),
                f"the result sent back for get_weather was {sent!r}: send what the tool returned",
            )

        # The round limit: tools run at most max_rounds times, the last stream is kept.
        end, script, log = _run(agent_loop, [[_WEATHER], [_TIME], [_SEARCH], "done"], max_rounds=2)
        r.expect(
            len(script.results) == 2 and script.streams == 3,
            f"with max_rounds=2 and a model that keeps calling tools, run 2 rounds of tools and "
            f"stop after the 3rd stream; your loop sent {len(script.results)} round(s) of results "
            f"and streamed {script.streams} time(s) (an off-by-one is the usual cause)",
        )
        r.expect(
            getattr(end, "outcome", None) == "tool_calls",
            "at the round limit return the last StreamEnd as it is (outcome 'tool_calls', its "
            f"calls not run), so the caller sees the loop did not finish; got {end!r:.100}",
        )

        # A tool that fails: its error goes back to the model as the result.
        bad_time = ("call_t9", "get_time", '{"timezone": "Mars/Olympus"}')
        try:
            end, script, log = _run(agent_loop, [[bad_time], "Sorry, unknown place."], max_rounds=3)
        except ValueError as exc:
            r.expect(
                False,
                f"a tool raised ValueError({exc}) and your loop let it out: send the error "
                "text back as that call's result (the model can correct itself)",
            )
        else:
            sent = script.results[0].get("call_t9") if script.results else None
            r.expect(
                "Mars/Olympus" in str(sent),
                f"a tool that raised was answered with {sent!r}: do not swallow the error, send "
                "its message (e.g. f'error: {exc}') as the result",
            )

        # An ending that is not a tool call ends the loop: no more streams.
        end, script, _ = _run(agent_loop, ["!Half an ans", "never"], max_rounds=3)
        r.expect(
            script.streams == 1 and getattr(end, "outcome", None) == "length",
            f"a stream cut short (outcome 'length') must end the loop and be returned; your loop "
            f"streamed {script.streams} time(s) and returned {getattr(end, 'outcome', end)!r}",
        )

    return run_check("Exercise 6.2: the agent loop on a stream", body)
