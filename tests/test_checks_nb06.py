"""The notebook 06 checks accept correct answers and reject plausible wrong ones, saying why."""

from __future__ import annotations

import ast
import json

import pytest
from _notebooks import load_solutions
from _support import assert_explains, assert_pending

from streamlab import stream_events
from streamlab.checks import nb06
from streamlab.events import StreamEnd, ToolCallDelta, ToolCallDone, ToolCallStart


@pytest.fixture(scope="module")
def sol():
    return load_solutions("06")


def test_solutions_pass(sol, capsys):
    assert nb06.check_assemble_tool_calls(sol["assemble_tool_calls"])
    assert nb06.check_agent_loop(sol["agent_loop"])
    assert capsys.readouterr().out.count("[PASS]") == 2


def test_unattempted_is_pending_not_wrong(capsys):
    assert_pending(capsys, nb06.check_assemble_tool_calls, nb06.check_agent_loop)


# -- 6.1 ------------------------------------------------------------------------


def _fragments(chunks):
    """(chunk, fragment) for every tool-call fragment, the usage chunk skipped."""
    for chunk in chunks:
        for frag in (chunk.choices[0].delta.tool_calls or []) if chunk.choices else []:
            yield chunk, frag


def assemble_by_list(chunks):
    """Differently written: a list grown as new indexes appear, fragments of one chunk joined."""
    calls = []
    for _, frag in _fragments(chunks):
        while len(calls) <= frag.index:
            calls.append({"id": None, "name": None, "parts": []})
        call = calls[frag.index]
        call["id"] = call["id"] or frag.id
        call["name"] = call["name"] or (frag.function.name if frag.function else None)
        call["parts"].append((frag.function.arguments if frag.function else None) or "")
    return [{"id": c["id"], "name": c["name"], "arguments": "".join(c["parts"])} for c in calls]


def assemble_by_parts(chunks):
    """Differently written: heads and argument parts in two dicts, joined and sorted at the end."""
    heads, parts = {}, {}
    for _, frag in _fragments(chunks):
        heads.setdefault(frag.index, (frag.id, frag.function.name))
        parts.setdefault(frag.index, []).append(frag.function.arguments or "")
    return [
        {"id": heads[i][0], "name": heads[i][1], "arguments": "".join(parts[i])}
        for i in sorted(heads)
    ]


@pytest.mark.parametrize("assemble", [assemble_by_list, assemble_by_parts])
def test_a_differently_written_assemble_passes(assemble, capsys):
    assert nb06.check_assemble_tool_calls(assemble)
    assert "[PASS]" in capsys.readouterr().out


def _assemble(*, key=lambda frag, pos: frag.index, start=None, join=None, order=sorted, first=True):
    """An assemble_tool_calls with one part spoiled; the defaults are right."""

    def assemble_tool_calls(chunks):
        calls = {}
        for chunk in chunks:
            if not chunk.choices:
                continue
            frags = chunk.choices[0].delta.tool_calls or []
            for pos, frag in enumerate(frags if first else frags[:1]):
                k = key(frag, pos)
                if start is not None:
                    start(calls, k, frag)
                elif k not in calls:
                    calls[k] = {"id": frag.id, "name": frag.function.name, "arguments": ""}
                if join is not None:
                    join(calls, k, frag)
                else:
                    calls[k]["arguments"] += frag.function.arguments or ""
        return [calls[k] for k in order(calls)]

    return assemble_tool_calls


def _overwrite(calls, k, frag):  # every fragment restarts the call's id and name
    old = calls.get(k, {"arguments": ""})
    calls[k] = {"id": frag.id, "name": frag.function.name, "arguments": old["arguments"]}


def _last_started():
    current = {}

    def join(calls, k, frag):
        if frag.id is not None:
            current["k"] = k
        calls[current["k"]]["arguments"] += frag.function.arguments or ""

    return join


def _one_buffer():
    buffer = []

    def join(calls, k, frag):
        buffer.append(frag.function.arguments or "")
        for call in calls.values():
            call["arguments"] = "".join(buffer)

    return join


def _later_fragments_only(calls, k, frag):
    if frag.id is None:
        calls[k]["arguments"] += frag.function.arguments or ""


def _no_none(calls, k, frag):
    calls[k]["arguments"] += frag.function.arguments


def usage_chunk_indexed(chunks):
    calls = {}
    for chunk in chunks:
        for frag in chunk.choices[0].delta.tool_calls or []:
            call = calls.setdefault(frag.index, {"id": frag.id, "name": frag.function.name})
            call["arguments"] = call.get("arguments", "") + (frag.function.arguments or "")
    return [calls[i] for i in sorted(calls)]


def parses_each_fragment(chunks):
    calls = {}
    for _, frag in _fragments(chunks):
        call = calls.setdefault(frag.index, {"id": frag.id, "name": frag.function.name})
        call.setdefault("parsed", []).append(json.loads(frag.function.arguments or "{}"))
    return [calls[i] for i in sorted(calls)]


def drops_empty_arguments(chunks):
    """Starts a call only once it has argument text: a call whose arguments are '' is lost."""
    calls = {}
    for _, frag in _fragments(chunks):
        if frag.function.arguments:
            call = calls.setdefault(frag.index, {"id": None, "name": None, "arguments": ""})
            call["arguments"] += frag.function.arguments
        if frag.id is not None:
            calls.setdefault(frag.index, {"arguments": ""}).update(
                id=frag.id, name=frag.function.name
            )
    return [c for _, c in sorted(calls.items()) if c["arguments"]]


def arrival_order(chunks):
    """Right by index, but returned in the order the calls started."""
    calls = {}
    for _, frag in _fragments(chunks):
        call = calls.setdefault(
            frag.index, {"id": frag.id, "name": frag.function.name, "arguments": ""}
        )
        call["arguments"] += frag.function.arguments or ""
    return list(calls.values())


def parsed_at_the_end(chunks):
    calls = _assemble()(chunks)
    return [{**c, "arguments": json.loads(c["arguments"])} for c in calls]


WRONG_ASSEMBLE = {
    "id and name overwritten by later fragments": (
        _assemble(start=_overwrite),
        ["id and name only in a call's first fragment", "do not overwrite them"],
    ),
    "grouped by id (later fragments have id None)": (
        _assemble(key=lambda frag, pos: frag.id, order=list),
        ["expected 2 call(s), got", "one list entry per index"],
    ),
    "grouped by position in the list": (
        _assemble(key=lambda frag, pos: pos),
        ["expected 2 call(s), got 1", "not its position in delta.tool_calls"],
    ),
    "fragments added to the last call started": (
        _assemble(join=_last_started()),
        ["fragments of different calls can interleave", "tool_call.index says which call"],
    ),
    "one argument buffer for all calls": (
        _assemble(join=_one_buffer()),
        ["join each call's fragments in arrival order"],
    ),
    "only the first fragment of each chunk": (
        _assemble(first=False),
        ["indexes past 9", "ead every entry of delta.tool_calls"],
    ),
    "indexes sorted as text": (
        _assemble(key=lambda frag, pos: str(frag.index)),
        ["indexes past 9", "sort the indexes as numbers"],
    ),
    "the first fragment's arguments dropped": (
        _assemble(join=_later_fragments_only),
        ["the first fragment of a call can carry arguments too"],
    ),
    "arguments None added": (
        _assemble(join=_no_none),
        ["TypeError", "function.arguments is None"],
    ),
    "choices[0] of the usage chunk": (usage_chunk_indexed, ["IndexError", "choices == []"]),
    "each fragment parsed as JSON": (parses_each_fragment, ["A fragment alone is not JSON"]),
    "arguments parsed at the end": (parsed_at_the_end, ["the JSON text as it arrived (a str)"]),
    "a call with empty arguments dropped": (
        drops_empty_arguments,
        ["the call to list_cities is missing", "it is still a call"],
    ),
    "calls in the order they started": (
        arrival_order,
        ["start out of index order", "in index order (not in the order they started)"],
    ),
}


@pytest.mark.parametrize("name", WRONG_ASSEMBLE)
def test_assemble_rejects(name, capsys):
    answer, says = WRONG_ASSEMBLE[name]
    assert_explains(capsys, nb06.check_assemble_tool_calls, answer, "[FAIL]", *says)


def test_chat_chunks_are_what_the_sdk_yields():
    chunks = nb06.chat_chunks([("call_1", "f", '{"a": 1}'), ("call_2", "g", "{}")], text="Hi")
    assert chunks[0].choices[0].delta.role == "assistant"
    assert chunks[-2].choices[0].finish_reason == "tool_calls"
    assert chunks[-1].choices == [] and chunks[-1].usage.total_tokens == 29
    firsts = [f for _, f in _fragments(chunks) if f.id]
    assert [(f.index, f.id, f.function.name) for f in firsts] == [
        (0, "call_1", "f"),
        (1, "call_2", "g"),
    ]
    assert all(f.function.name is None for _, f in _fragments(chunks) if not f.id)


# -- 6.2 ------------------------------------------------------------------------


def _end(req):
    return [e for e in stream_events(req.stream()) if isinstance(e, StreamEnd)][-1]


def _runner(catch=Exception, answer=lambda call, exc: f"error: {exc}"):
    """Runs every call of a round; what a tool raises (if ``catch`` catches it) is ``answer``ed."""

    def run(end, tools):
        results = {}
        for call in end.tool_calls:
            try:
                results[call.id] = tools[call.name](**call.parsed_arguments())
            except catch as exc:
                results[call.id] = answer(call, exc)
        return results

    return run


_run_all = _runner()


def loop_for_range(req, tools, *, max_rounds=3):
    """Differently written: a for loop over the rounds, then one last stream."""
    for _ in range(max_rounds):
        end = _end(req)
        if end.outcome != "tool_calls":
            return end
        req = req.then(end, _run_all(end, tools))
    return _end(req)


def loop_runs_on_done(req, tools, *, max_rounds=3):
    """Differently written: each call runs when its ToolCallDone arrives, unless at the limit."""
    rounds = 0
    while True:
        results, end = {}, None
        for event in stream_events(req.stream()):
            if isinstance(event, ToolCallDone) and rounds < max_rounds:
                try:
                    results[event.id] = json.dumps(tools[event.name](**event.parsed_arguments()))
                except Exception as exc:
                    results[event.id] = f"{type(exc).__name__}: {exc}"
            elif isinstance(event, StreamEnd):
                end = event
        if end.outcome != "tool_calls" or rounds >= max_rounds:
            return end
        req, rounds = req.then(end, results), rounds + 1


def loop_recursive(req, tools, *, max_rounds=3):
    """Differently written: one round per call, the limit counted down, tools looked up with get."""
    end = _end(req)
    if end.outcome != "tool_calls" or max_rounds == 0:
        return end
    results = {}
    for call in end.tool_calls:
        tool = tools.get(call.name)
        try:
            if tool is None:
                raise LookupError(f"no tool named {call.name!r}; the tools are {sorted(tools)}")
            results[call.id] = tool(**call.parsed_arguments())
        except Exception as exc:
            results[call.id] = repr(exc)
    return loop_recursive(req.then(end, results), tools, max_rounds=max_rounds - 1)


@pytest.mark.parametrize("loop", [loop_for_range, loop_runs_on_done, loop_recursive])
def test_a_differently_written_agent_loop_passes(loop, capsys):
    assert nb06.check_agent_loop(loop)
    assert "[PASS]" in capsys.readouterr().out


def _loop(*, more=lambda rounds, limit: rounds < limit, run=_run_all, then=None, limit=None):
    """An agent loop with one part spoiled; the defaults are right."""

    def agent_loop(req, tools, *, max_rounds=3):
        first, rounds = req, 0
        while True:
            end = _end(req)
            if end.outcome != "tool_calls" or not more(
                rounds, max_rounds if limit is None else limit
            ):
                return end
            results = run(end, tools)
            req = req.then(end, results) if then is None else then(first, req, end, results)
            rounds += 1

    return agent_loop


def _unguarded(end, tools):
    return {call.id: tools[call.name](**call.parsed_arguments()) for call in end.tool_calls}


def _by_name(end, tools):
    return {call.name: tools[call.name](**call.parsed_arguments()) for call in end.tool_calls}


def _first_call_only(end, tools):
    call = end.tool_calls[0]
    return {call.id: tools[call.name](**call.parsed_arguments())}


def _last_result_for_all(end, tools):
    result = None
    for call in end.tool_calls:
        result = tools[call.name](**call.parsed_arguments())
    return {call.id: result for call in end.tool_calls}


def runs_when_it_parses(req, tools, *, max_rounds=3):
    """Runs each call as soon as its arguments so far parse: before the stream has ended."""
    rounds = 0
    while True:
        names, arguments, results, end = {}, {}, {}, None
        for event in stream_events(req.stream()):
            if isinstance(event, ToolCallStart):
                names[event.id] = event.name
            elif isinstance(event, ToolCallDelta):
                arguments[event.id] = arguments.get(event.id, "") + event.arguments_delta
                try:
                    parsed = json.loads(arguments[event.id])
                except ValueError:
                    continue
                results[event.id] = tools[names[event.id]](**parsed)
            elif isinstance(event, StreamEnd):
                end = event
        if end.outcome != "tool_calls" or rounds == max_rounds:
            return end
        req, rounds = req.then(end, results), rounds + 1


def _lookup_outside_the_try(end, tools):
    results = {}
    for call in end.tool_calls:
        tool = tools[call.name]  # an unknown name raises here, outside the try
        try:
            results[call.id] = tool(**call.parsed_arguments())
        except Exception as exc:
            results[call.id] = f"error: {exc}"
    return results


def _parser(parse):
    def run(end, tools):
        results = {}
        for call in end.tool_calls:
            try:
                results[call.id] = tools[call.name](**parse(call.arguments))
            except Exception as exc:
                results[call.id] = f"error: {exc}"
        return results

    return run


def _unknown_tool_as_none(end, tools):
    results = {}
    for call in end.tool_calls:
        try:
            results[call.id] = tools.get(call.name)(**call.parsed_arguments())
        except Exception as exc:  # "'NoneType' object is not callable": which tool?
            results[call.id] = f"error: {exc}"
    return results


def _catches_keyboard_interrupt(end, tools):
    results = {}
    for call in end.tool_calls:
        try:
            results[call.id] = tools[call.name](**call.parsed_arguments())
        except (Exception, KeyboardInterrupt) as exc:
            results[call.id] = f"error: {exc!r}"
    return results


def keyed_on_the_finish_reason(req, tools, *, max_rounds=3):
    """Runs tools only when the raw finish reason says tool_calls (a named tool_choice says stop)."""
    rounds = 0
    while True:
        end = _end(req)
        if end.reason not in ("tool_calls", "tool_use", "completed") or rounds == max_rounds:
            return end
        req, rounds = req.then(end, _run_all(end, tools)), rounds + 1


def stops_after_one_round(req, tools, *, max_rounds=3):
    end = _end(req)
    if end.outcome == "tool_calls":
        end = _end(req.then(end, _run_all(end, tools)))
    return end


def loops_until_stop(req, tools, *, max_rounds=3):
    rounds = 0
    while True:
        end = _end(req)
        if end.outcome == "stop" or rounds == max_rounds:
            return end
        req, rounds = req.then(end, _run_all(end, tools)), rounds + 1


def runs_on_done_at_the_limit_too(req, tools, *, max_rounds=3):
    rounds = 0
    while True:
        results, end = {}, None
        for event in stream_events(req.stream()):
            if isinstance(event, ToolCallDone):
                results[event.id] = tools[event.name](**event.parsed_arguments())
            elif isinstance(event, StreamEnd):
                end = event
        if end.outcome != "tool_calls" or rounds == max_rounds:
            return end
        req, rounds = req.then(end, results), rounds + 1


def returns_the_text(req, tools, *, max_rounds=3):
    return _loop()(req, tools, max_rounds=max_rounds).text


WRONG_LOOP = {
    "runs a call as soon as its arguments parse": (
        runs_when_it_parses,
        ["ran before its stream had finished", "arguments were still partial"],
    ),
    "one round too many": (
        _loop(more=lambda rounds, limit: rounds <= limit),
        ["an off-by-one is the usual cause"],
    ),
    "one round too few": (
        _loop(more=lambda rounds, limit: rounds < limit - 1),
        ["an off-by-one is the usual cause"],
    ),
    "the limit hard-coded to 2": (_loop(limit=2), ["max_rounds=4", "take the limit from"]),
    "the limit hard-coded to 3": (_loop(limit=3), ["max_rounds=1", "take the limit from"]),
    "tool errors swallowed": (
        _loop(run=_runner(answer=lambda call, exc: "error")),
        ["do not swallow the error"],
    ),
    "tool errors sent without their message": (
        _loop(run=_runner(answer=lambda c, exc: f"error: {c.name} failed with {c.arguments}")),
        ["do not swallow the error", "its message"],
    ),
    "tool errors let out": (_loop(run=_unguarded), ["your loop let it out"]),
    "only ValueError caught": (
        _loop(run=_runner(catch=ValueError)),
        ["TimeoutError", "let it out"],
    ),
    "CancelledError swallowed (except BaseException)": (
        _loop(run=_runner(catch=BaseException)),
        ["CancelledError", "catch Exception, not BaseException"],
    ),
    "results keyed by tool name": (_loop(run=_by_name), ["one result per tool call", "call.id"]),
    "only the first call run": (_loop(run=_first_call_only), ["one result per tool call"]),
    "every call answered with the last result": (
        _loop(run=_last_result_for_all),
        ["send what that call's tool returned"],
    ),
    "the results go to the first request": (
        _loop(then=lambda first, req, end, results: first.then(end, results)),
        ["does not carry the earlier rounds", "req = req.then(end, results)"],
    ),
    "the results are never sent": (
        _loop(then=lambda first, req, end, results: req),
        ["no results were sent back", "req = req.then(end, results)"],
    ),
    "stops after the first round": (
        stops_after_one_round,
        ["takes 3 streams", "stream again after each round"],
    ),
    "keeps going after a cut-short stream": (loops_until_stop, ["cut short (outcome 'length')"]),
    "runs the calls at the limit too": (
        runs_on_done_at_the_limit_too,
        ["its calls not run", "at the limit return"],
    ),
    "returns the text, not the StreamEnd": (returns_the_text, ["return the final StreamEnd"]),
    "the tool looked up outside the try": (
        _loop(run=_lookup_outside_the_try),
        ["KeyError", "not in `tools`", "look the tool up inside the try"],
    ),
    "arguments parsed with json.loads": (
        _loop(run=_parser(json.loads)),
        ["('list_cities', {})", "call.parsed_arguments()"],
    ),
    "arguments parsed with ast.literal_eval": (
        _loop(run=_parser(ast.literal_eval)),
        ["JSON true and null", "'exact': True", "call.parsed_arguments()"],
    ),
    "an unknown tool answered without its name": (
        _loop(run=_unknown_tool_as_none),
        ["call_u7 (get_stock_price)", "'...get_stock_price...'"],
    ),
    "KeyboardInterrupt caught as a tool error": (
        _loop(run=_catches_keyboard_interrupt),
        ["KeyboardInterrupt", "catch Exception, not BaseException"],
    ),
    "decides on the raw finish reason": (
        keyed_on_the_finish_reason,
        ["forced by tool_choice", "not on the raw finish_reason"],
    ),
}


@pytest.mark.parametrize("name", WRONG_LOOP)
def test_agent_loop_rejects(name, capsys):
    answer, says = WRONG_LOOP[name]
    assert_explains(capsys, nb06.check_agent_loop, answer, "[FAIL]", *says)
