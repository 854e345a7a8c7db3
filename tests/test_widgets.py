"""StreamView state after feeding deltas: text, coalescing, stop, errors; compare; plot.

Widgets run here without a front end (ipywidgets' dummy comm), which is all
the state needs; what the browser shows is tested in tests/browser/.
"""

from __future__ import annotations

import asyncio
import threading
import time

import matplotlib
import pytest
from _support import PROMPT, wait_for

from streamlab.deltas import StreamError
from streamlab.widgets import Comparison, StreamResult, StreamView, compare, plot_timeline

matplotlib.use("Agg")


def paced(deltas, per_second):
    """Yield ``deltas`` at about ``per_second`` (bursts of what is due, like a socket)."""
    start = time.perf_counter()
    i = 0
    while i < len(deltas):
        due = min(len(deltas), int((time.perf_counter() - start) * per_second) + 1)
        while i < due:
            yield deltas[i]
            i += 1
        time.sleep(0.001)


def record_body_sets(pane):
    """Times of every value sent to the pane's body widget (what the browser receives)."""
    times: list[float] = []
    pane.body.observe(lambda change: times.append(time.perf_counter()), names="value")
    return times


def record_draws(pane):
    """(time, status) of every counted redraw, as the pane decided it (before rendering)."""
    draws: list[tuple[float, str]] = []
    draw = pane._draw

    def spy(now, *, count=True):
        if count:
            draws.append((now, pane.status))
        draw(now, count=count)

    pane._draw = spy
    return draws


# -- feeding ---------------------------------------------------------------------


def test_run_shows_every_delta_in_order_and_the_buffered_pane_at_the_end():
    deltas = [f"tok{i} " for i in range(200)] + ["é🎉\n", "<b>not markup</b>"]
    view = StreamView(label="t")
    result = view.run(iter(deltas))
    assert isinstance(result, StreamResult)
    assert view.text == result.text == "".join(deltas)
    assert (view.tokens, view.status, view.error) == (len(deltas), "done", None)
    assert view.ttft is not None and view.total is not None and view.ttft <= view.total
    b = view.buffered
    assert (b.text, b.status, b.deltas) == (view.text, "done", 1)  # one piece, at the end
    assert view.total <= b.ttft <= b.total  # all at once, after the stream ended
    assert "&lt;b&gt;not markup&lt;/b&gt;" in view.streamed.body.value  # plain text is escaped
    assert result.timeline[-1] == (pytest.approx(result.timeline[-1][0]), len(view.text))
    assert view.stop_button.disabled


def test_buffered_pane_waits_visibly_until_the_end():
    view = StreamView()
    seen = []

    def source():
        for piece in ["a", "b", "c"]:
            seen.append((view.buffered.status, view.buffered.text, view.buffered.body.value))
            yield piece

    view.run(source())
    assert all(
        status == "waiting" and text == "" and "waiting for the complete response" in html
        for status, text, html in seen
    )
    assert view.buffered.text == "abc"


def test_push_and_finish_from_a_hand_written_loop():
    view = StreamView()
    for piece in ["one ", "two ", "three"]:
        view.push(piece)
    assert view.status == "streaming" and view.buffered.text == ""
    result = view.finish()
    assert result.text == "one two three" and view.buffered.text == "one two three"


def test_markdown_renders_and_escapes_raw_html():
    view = StreamView(markdown=True)
    view.run(["# Title\n\n", "Some **bold** ", "and <script>alert(1)</script>"])
    body = view.streamed.body.value
    assert "<h1>Title</h1>" in body and "<strong>bold</strong>" in body
    assert "<script>" not in body and "&lt;script&gt;" in body
    assert view.text.endswith("<script>alert(1)</script>")  # the state keeps the raw text


def test_a_function_source_is_called_inside_the_timings():
    view = StreamView()

    def make():
        time.sleep(0.05)  # "the request"
        return ["x"]

    view.run(make)
    assert view.ttft >= 0.05


# -- coalescing --------------------------------------------------------------------


def test_a_burst_is_coalesced_and_nothing_is_lost():
    deltas = [f"{i}," for i in range(20_000)]
    view = StreamView()
    started = time.perf_counter()
    view.run(deltas)
    elapsed = time.perf_counter() - started
    assert view.text == "".join(deltas)
    assert view.tokens == 20_000
    # First token, final, and at most 30/s between (a few, on a busy machine).
    assert view.redraws <= 30 * elapsed + 3


def test_redraws_stay_under_max_fps_at_a_high_token_rate():
    deltas = [f"w{i} " for i in range(1500)]  # 1,500 tokens at 3,000/s: 0.5 s
    view = StreamView(max_fps=30)
    sets = record_body_sets(view.streamed)
    draws = record_draws(view.streamed)
    view.run(paced(deltas, 3000))
    assert view.text == "".join(deltas)
    assert len(sets) == len(draws) == view.redraws  # each redraw sends one body value
    # While streaming (from the first-token redraw on) at most one redraw per
    # 1/30 s. Measured at the redraw decisions, not when the value was set:
    # rendering time varies under load and would blur the gaps either way.
    streaming = [t for t, status in draws if status == "streaming"]
    gaps = [b - a for a, b in zip(streaming, streaming[1:], strict=False)]
    assert len(gaps) > 3, draws
    assert min(gaps) >= 1 / 30, min(gaps)
    duration = sets[-1] - sets[0]
    assert view.redraws <= 30 * duration + 3


def test_pending_text_is_drawn_when_the_stream_pauses():
    view = StreamView(max_fps=1)  # one redraw a second: a wide margin for a loaded machine
    view.push("first")  # drawn at once (first token)
    view.push(" second")  # within 1 s: held back
    assert "second" not in view.streamed.body.value
    wait_for(lambda: "second" in view.streamed.body.value)  # the ticker flushed it
    view.finish()
    wait_for(lambda: view._ticker is None)  # the timer thread ends with the run


def test_waiting_clock_ticks_before_the_first_token():
    view = StreamView()
    view.streamed.begin()
    first = view.streamed.stats.value
    wait_for(lambda: view.streamed.stats.value != first)
    assert "waiting for the first token" in view.streamed.body.value
    view.streamed.finish()


# -- stop --------------------------------------------------------------------------


def test_stop_from_another_thread_ends_a_sync_run_and_closes_the_source():
    closed = threading.Event()
    view = StreamView()

    def source():
        try:
            for i in range(10_000):
                time.sleep(0.002)
                yield f"{i} "
        finally:
            closed.set()

    def stop_after_three_tokens():  # not a timer: run() may start late on a busy machine
        wait_for(lambda: view.tokens >= 3)
        view.stop()

    threading.Thread(target=stop_after_three_tokens, daemon=True).start()
    result = view.run(source())
    assert result.status == "stopped" and closed.is_set()
    assert 3 <= view.tokens < 10_000 and view.text == "".join(f"{i} " for i in range(view.tokens))
    assert "stopped after" in view.streamed.body.value
    assert view.buffered.status == "stopped" and view.buffered.text == ""
    assert "shows nothing until it completes" in view.buffered.body.value


async def test_stop_cancels_a_background_task_while_it_awaits():
    closed = asyncio.Event()
    waiting = asyncio.Event()
    view = StreamView()

    async def source():
        try:
            yield "hello "
            waiting.set()  # the view took "hello " and asked for more
            await asyncio.sleep(30)  # stuck waiting for the network
            yield "never"
        finally:
            closed.set()

    task = view.start(source)
    await asyncio.wait_for(waiting.wait(), 5)
    assert view.text == "hello "
    view.stop_button.click()  # what the Stop button does in the browser
    result = await asyncio.wait_for(task, 2)
    assert result.status == "stopped" and closed.is_set() and view.text == "hello "


async def test_cancelling_the_run_from_outside_is_not_a_stop():
    view = StreamView()

    async def source():
        yield "a"
        await asyncio.sleep(30)

    task = asyncio.ensure_future(view.arun(source()))
    await asyncio.sleep(0.05)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert view.status == "error"


def test_start_without_a_loop_says_what_to_do():
    with pytest.raises(RuntimeError, match="view.run"):
        StreamView().start(["x"])


# -- errors --------------------------------------------------------------------------


def test_error_mid_stream_is_shown_and_raised():
    def source():
        yield "partial "
        yield "answer"
        raise ConnectionError("peer closed connection")

    view = StreamView()
    with pytest.raises(ConnectionError):
        view.run(source())
    assert (view.status, view.text, view.tokens) == ("error", "partial answer", 2)
    body = view.streamed.body.value
    assert "ConnectionError" in body and "peer closed connection" in body
    assert "2 deltas (14 characters) had arrived" in body
    assert "error after 2 deltas" in view.status_line.value
    assert (
        view.buffered.status == "error"
        and "shows nothing when it fails" in view.buffered.body.value
    )


async def test_error_can_be_returned_instead_of_raised():
    async def source():
        yield {"type": "response.output_text.delta", "delta": "Hi"}
        yield {"type": "error", "code": "server_error", "message": "boom"}

    view = StreamView()
    result = await view.arun(source(), raise_errors=False)
    assert (
        result.status == "error" and isinstance(result.error, StreamError) and result.text == "Hi"
    )
    # A background task shows the error and still raises it when awaited.
    view2 = StreamView()
    task = view2.start(source())
    with pytest.raises(StreamError):
        await task
    assert view2.status == "error"


# -- compare against the local provider -----------------------------------------------


SLOW = {"x-streamlab-ttft-ms": "50", "x-streamlab-tokens-per-second": "200"}
FAST = {"x-streamlab-ttft-ms": "0", "x-streamlab-tokens-per-second": "0"}
# The local provider sends a buffered answer only once all of it is generated:
# 61 tokens at 40/s, the last one 1.5 s after the request arrived. The first
# streamed token is sent at once.
TOKENS, RATE = 61, 40
GENERATION = (TOKENS - 1) / RATE
PACED = {
    "x-streamlab-ttft-ms": "0",
    "x-streamlab-tokens-per-second": str(RATE),
    "x-streamlab-tokens": str(TOKENS),
}
# Long enough (50 s) that no stop or disconnect in a test can come too late.
ENDLESS = {
    "x-streamlab-ttft-ms": "0",
    "x-streamlab-tokens-per-second": "20",
    "x-streamlab-tokens": "1000",
}


@pytest.fixture(scope="module")
def warm(local_server):
    """One fast comparison per API first: an SDK's first stream in a process
    pays one-off costs (imports, building its parsers; seconds on a busy
    machine) that would hide the difference these tests are about."""
    for api in ("responses", "chat", "anthropic"):
        compare("Hi", provider=local_server, api=api, extra_headers=FAST, display=False)
    return local_server


@pytest.mark.parametrize("api", ["responses", "chat", "anthropic"])
def test_compare_sends_both_requests_and_keeps_both_results(warm, api):
    cmp = compare(PROMPT, provider=warm, api=api, extra_headers=PACED, display=False)
    assert isinstance(cmp, Comparison) and cmp.done
    s, b = cmp.streamed, cmp.buffered
    assert (s.status, b.status) == ("done", "done")
    assert s.text == b.text and len(s.text) > 50
    # Causal, not a race: the server cannot finish generating (and so cannot
    # send the buffered answer, or the end of the stream) before GENERATION.
    # Streamed text shown earlier was shown while the answer was being
    # generated; a compare() that buffered the streamed side could not do it.
    assert b.ttft >= GENERATION - 0.005  # (5 ms: the server's and our clocks' granularity)
    assert s.ttft < GENERATION
    assert s.ttft < b.ttft  # the point of the whole course
    assert b.tokens > 0 and s.tokens > 5
    assert "first text after" in repr(cmp)


async def test_compare_in_a_running_loop_returns_at_once_and_can_be_awaited(local_server):
    cmp = compare(PROMPT, provider=local_server, extra_headers=SLOW, display=False)
    assert not cmp.done
    assert (await cmp) is cmp and cmp.done
    cmp.raise_for_error()


async def test_compare_stop_closes_both_requests_at_the_provider(local_server):
    before = local_server.stats["cancelled"]
    cmp = compare(PROMPT, provider=local_server, extra_headers=ENDLESS, display=False)
    while cmp.view.tokens < 2:
        await asyncio.sleep(0.02)
    cmp.stop()
    await asyncio.wait_for(cmp, 5)
    assert (cmp.streamed.status, cmp.buffered.status) == ("stopped", "stopped")
    deadline = time.monotonic() + 5
    while local_server.stats["cancelled"] < before + 2:  # the provider saw both disconnects
        assert time.monotonic() < deadline, local_server.stats
        await asyncio.sleep(0.02)


def test_compare_error_mid_stream_is_kept_and_raisable(local_server):
    fault = {"x-streamlab-fault": "error-after=8"}
    cmp = compare(PROMPT, provider=local_server, api="chat", extra_headers=fault, display=False)
    assert cmp.streamed.status == "error" and cmp.streamed.text  # what arrived stays
    assert "error" in repr(cmp)
    with pytest.raises(Exception):  # noqa: B017 - openai.APIError, raised by the SDK
        cmp.raise_for_error()


def test_compare_defaults_to_the_current_provider(monkeypatch):
    monkeypatch.setenv("STREAMLAB_PROVIDER", "local")
    cmp = compare(
        "Hi",
        extra_headers={"x-streamlab-ttft-ms": "0", "x-streamlab-tokens-per-second": "0"},
        display=False,
    )
    assert cmp.model == "streamlab-local" and cmp.streamed.text == cmp.buffered.text


# -- timeline ------------------------------------------------------------------------


def test_plot_timeline_overlays_runs_with_labels_and_ttft_marks():
    a, b = StreamView(label="fast"), StreamView(label="slow")
    a.run(paced([f"{i} " for i in range(40)], 2000))
    b.run(paced([f"{i} " for i in range(40)], 800))
    ax = plot_timeline([a, ("renamed", b)])
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels == ["fast: streamed", "fast: buffered", "renamed: streamed", "renamed: buffered"]
    assert sum("TTFT" in t.get_text() for t in ax.texts) == 4
    # The streamed line ends at the full length, at the total time.
    x, y = ax.get_lines()[0].get_data()
    assert y[-1] == len(a.text) and x[-1] == pytest.approx(a.total)
    with pytest.raises(TypeError, match="cannot plot"):
        plot_timeline([42])


# -- reasoning and tool calls ------------------------------------------------------


def thinking_then_tool_then_text(n_reasoning=3, n_args=3):
    from streamlab.events import (
        ReasoningDelta,
        StreamEnd,
        TextDelta,
        ToolCallDelta,
        ToolCallDone,
        ToolCallStart,
        Usage,
    )

    events = [ReasoningDelta(f"r{i} ") for i in range(n_reasoning)]
    events.append(ToolCallStart(0, "call_1", "get_weather"))
    args = [f'"a{i}"' for i in range(n_args)]
    events += [ToolCallDelta(0, "call_1", a) for a in args]
    events.append(ToolCallDone(0, "call_1", "get_weather", "".join(args)))
    events += [TextDelta("The "), TextDelta("answer.")]
    events.append(StreamEnd("stop", Usage(3, 9), text="The answer."))
    return events


def test_reasoning_and_tool_calls_are_shown_beside_the_text():
    view = StreamView()
    events = thinking_then_tool_then_text()
    for event in events[:4]:  # the reasoning and the start of the call
        view.push(event)
    s = view.streamed
    assert s.reasoning_box.layout.display != "none" and "r0 r1 r2" in s.reasoning_html.value
    assert "Reasoning" in s.reasoning_box.titles[0] and s.reasoning_box.selected_index == 0
    assert "get_weather" in s.tools.value and "streaming" in s.tools.value
    # While the call streams, the text area says what the model is doing.
    assert "calling get_weather&hellip;" in s.body.value and view.ttft is None
    assert "waiting for" not in s.body.value
    for event in events[4:8]:  # the arguments, then the call is complete
        view.push(event)
    s.tick(time.perf_counter() + 1)  # redraws are coalesced: let the next one be due
    assert "called get_weather; the answer comes after the tool results" in s.body.value
    for event in events[8:]:
        view.push(event)
    result = view.finish()
    assert s.reasoning_box.selected_index is None  # folded once the answer started
    assert (result.text, result.reasoning, result.outcome) == ("The answer.", "r0 r1 r2 ", "stop")
    assert result.tool_calls[0].arguments == '"a0""a1""a2"' and result.tool_calls[0].done
    assert "complete" in s.tools.value and result.reasoning_ttft < result.ttft
    assert result.tokens == 9 and result.deltas == 2  # tokens from usage, deltas counted
    stats = s.stats.value
    assert (
        "deltas: <b>2</b>" in stats
        and "tokens (usage): <b>9</b>" in stats
        and "first reasoning" in stats
    )
    b = view.buffered
    assert b.reasoning == "r0 r1 r2 " and b.tool_calls == result.tool_calls


def test_endings_other_than_stop_are_said_under_the_text():
    from streamlab.events import StreamEnd

    view = StreamView()
    view.push("Half an ans")
    view.push(StreamEnd("length", reason="max_output_tokens", text="Half an ans"))
    view.finish()
    assert "cut short (max_output_tokens)" in view.streamed.body.value
    assert "ended: length" in view.status_line.value


def test_a_burst_of_reasoning_and_arguments_is_coalesced_and_nothing_is_lost():
    events = thinking_then_tool_then_text(n_reasoning=10_000, n_args=10_000)
    view = StreamView()
    started = time.perf_counter()
    view.run(events)
    elapsed = time.perf_counter() - started
    assert view.reasoning == "".join(f"r{i} " for i in range(10_000))
    assert view.tool_calls[0].arguments == "".join(f'"a{i}"' for i in range(10_000))
    assert view.redraws <= 30 * elapsed + 5  # the first of each kind, final, 30/s between


def test_real_stream_with_thinking_and_a_tool_call(local_server):
    from streamlab import Tool, request

    weather = Tool("get_weather", "Current weather for a city", {"type": "object", "properties": {"city": {"type": "string"}}})  # fmt: skip
    req = request("Weather in Paris?", provider=local_server, api="anthropic", tools=[weather], reasoning="low", ttft_ms=0, tokens_per_second=0)  # fmt: skip
    view = StreamView()
    result = view.run(lambda: req.stream())
    assert (
        result.outcome == "tool_calls"
        and result.reasoning
        and result.tool_calls[0].name == "get_weather"
    )
    assert "the model asked for tools" in view.streamed.body.value


def test_the_reasoning_title_stops_saying_streaming_once_a_tool_call_starts():
    view = StreamView()
    events = thinking_then_tool_then_text()
    for event in events[:3]:  # reasoning only
        view.push(event)
    view.push(events[3])  # the call starts (drawn at once): the reasoning is over
    titles = view.streamed.reasoning_box.titles[0]
    assert "…" not in titles and "(9 characters)" in titles, titles


def test_reasoning_is_drawn_in_paragraphs_with_bold_titles_and_no_blank_lines():
    from streamlab.widgets._render import render_reasoning

    out = render_reasoning("**Reading the question**\n\nIs <b> safe?\nyes\n\n\n", streaming=False)
    assert "<b>Reading the question</b>" in out and "**" not in out
    assert "Is &lt;b&gt; safe?\nyes" in out  # the model's text stays escaped
    assert "\n\n" not in out  # a blank line drew a whole empty line: an empty band
    assert "line-height: 1.4" in out  # not ipywidgets' 28 px row height
