"""Background responses through the real openai SDK: create, drop, resume, cancel, limits, expiry."""

from __future__ import annotations

import asyncio
import time

import openai
import pytest

import streamlab
from streamlab.provider.background import BackgroundStore

PROMPT = "one sentence about soup"
SLOW = {"x-streamlab-tokens-per-second": "40", "x-streamlab-tokens": "12"}


@pytest.fixture(scope="module")
def server():
    with streamlab.serve(ttft_ms=0, tokens_per_second=0, jitter_ms=0) as s:
        yield s


@pytest.fixture
def client(server):
    return server.openai(max_retries=0)


def _drop(n: int) -> dict[str, str]:
    return {"x-streamlab-fault": f"drop-after={n}"}


def _read_until_drop(stream) -> list:
    seen = []
    try:
        for event in stream:
            seen.append(event)
    except openai.APIConnectionError:
        pass
    return seen


def _wait_idle(server) -> None:
    deadline = time.monotonic() + 10
    while server.stats["active_generations"] and time.monotonic() < deadline:
        time.sleep(0.01)
    assert server.stats["active_generations"] == 0


def test_create_answers_queued_at_once_and_finishes_on_its_own(client, server):
    r = client.responses.create(model="m", input=PROMPT, background=True, extra_headers=SLOW)
    assert (r.status, r.background, r.output) == ("queued", True, [])
    _wait_idle(server)
    done = client.responses.retrieve(r.id)
    assert done.status == "completed" and done.background is True
    plain = client.responses.create(model="m", input=PROMPT, extra_headers=SLOW)
    assert done.output_text == plain.output_text


def test_stream_starts_with_created_queued_and_every_event_has_its_sequence_number(client):
    events = list(client.responses.create(model="m", input=PROMPT, background=True, stream=True))
    assert events[0].type == "response.created" and events[0].response.status == "queued"
    assert events[1].type == "response.in_progress"
    assert [e.sequence_number for e in events] == list(range(len(events)))
    assert events[-1].type == "response.completed"
    assert events[-1].response.background is True


def _full(client) -> list:
    return list(client.responses.create(model="m", input=PROMPT, background=True, stream=True))


def test_a_drop_at_every_position_then_resume_loses_and_repeats_nothing(client):
    full = [e.model_dump() for e in _full(client)]
    for n in range(1, len(full)):
        seen = _read_until_drop(
            client.responses.create(
                model="m", input=PROMPT, background=True, stream=True, extra_headers=_drop(n)
            )
        )
        assert len(seen) == n
        rid, last = seen[0].response.id, seen[-1].sequence_number
        rest = list(client.responses.retrieve(rid, stream=True, starting_after=last))
        got = [e.model_dump() for e in seen + rest]
        assert [e["sequence_number"] for e in got] == list(range(len(full)))
        assert [e["type"] for e in got] == [e["type"] for e in full]
        text = "".join(e.get("delta", "") for e in got if e["type"] == "response.output_text.delta")
        assert text == full[-1]["response"]["output"][0]["content"][0]["text"]


def test_resume_follows_a_generation_still_running(client, server):
    seen = _read_until_drop(
        client.responses.create(
            model="m",
            input=PROMPT,
            background=True,
            stream=True,
            extra_headers={**SLOW, **_drop(4)},
        )
    )
    rid = seen[0].response.id
    assert client.responses.retrieve(rid).status == "in_progress"  # the drop did not stop it
    rest = list(client.responses.retrieve(rid, stream=True, starting_after=3))
    assert rest[0].sequence_number == 4 and rest[-1].type == "response.completed"
    assert client.responses.retrieve(rid).status == "completed"
    _wait_idle(server)


def test_the_sdk_stream_helper_resumes_too(client):
    seen = _read_until_drop(
        client.responses.create(
            model="m", input=PROMPT, background=True, stream=True, extra_headers=_drop(6)
        )
    )
    rid, last = seen[0].response.id, seen[-1].sequence_number
    with client.responses.stream(response_id=rid, starting_after=last) as stream:
        rest = list(stream)
        final = stream.get_final_response()
    assert rest[0].sequence_number == last + 1
    assert final.status == "completed" and final.output_text


def test_a_plain_stream_dropped_is_gone(client):
    seen = _read_until_drop(
        client.responses.create(model="m", input=PROMPT, stream=True, extra_headers=_drop(4))
    )
    with pytest.raises(openai.NotFoundError, match="not found"):
        client.responses.retrieve(seen[0].response.id)


def test_a_restart_between_the_drop_and_the_resume_is_a_404():
    with streamlab.serve(ttft_ms=0, tokens_per_second=0, jitter_ms=0) as first:
        port = first.port
        seen = _read_until_drop(
            first.openai(max_retries=0).responses.create(
                model="m", input=PROMPT, background=True, stream=True, extra_headers=_drop(3)
            )
        )
    rid = seen[0].response.id
    with streamlab.serve(port=port, ttft_ms=0, tokens_per_second=0, jitter_ms=0) as second:
        with pytest.raises(openai.NotFoundError, match=rid):
            list(
                second.openai(max_retries=0).responses.retrieve(rid, stream=True, starting_after=2)
            )


def test_cancel_ends_a_running_response_and_its_followers(client, server):
    slow = {"x-streamlab-tokens-per-second": "20", "x-streamlab-tokens": "400"}
    stream = client.responses.create(
        model="m", input=PROMPT, background=True, stream=True, extra_headers=slow
    )
    first = next(iter(stream))
    rid = first.response.id
    cancelled = client.responses.cancel(rid)
    assert cancelled.status == "cancelled"
    rest = list(stream)  # the follower's stream ends, with no completed event
    assert all(e.type != "response.completed" for e in rest)
    assert client.responses.retrieve(rid).status == "cancelled"
    assert client.responses.cancel(rid).status == "cancelled"  # idempotent
    _wait_idle(server)


def test_cancel_of_a_finished_response_returns_it_as_is(client, server):
    r = client.responses.create(model="m", input=PROMPT, background=True)
    _wait_idle(server)
    assert client.responses.cancel(r.id).status == "completed"


def test_store_false_is_refused(client):
    with pytest.raises(openai.BadRequestError, match="store") as info:
        client.responses.create(model="m", input=PROMPT, background=True, store=False)
    assert info.value.body["param"] == "background"


def test_a_response_made_without_stream_cannot_be_streamed_only_polled(client, server):
    r = client.responses.create(model="m", input=PROMPT, background=True)
    with pytest.raises(openai.BadRequestError, match="poll"):
        list(client.responses.retrieve(r.id, stream=True))
    _wait_idle(server)
    assert client.responses.retrieve(r.id).status == "completed"


def test_bad_starting_after_is_a_400(client):
    events = _full(client)
    with pytest.raises(openai.BadRequestError, match="starting_after"):
        client.responses.retrieve(events[0].response.id, extra_query={"starting_after": "x"})


def test_websocket_mode_refuses_background(server):
    with server.openai(max_retries=0).responses.connect() as conn:
        conn.response.create(model="m", input=PROMPT, background=True)
        event = next(iter(conn))
    assert event.type == "error" and "background" in event.error.message


@pytest.fixture
def small_store(server):
    """The server's store swapped for one with small limits and a clock the test moves."""
    now = [0.0]
    old = server.app.state.background
    store = BackgroundStore(
        server.app.state.stats,
        max_responses=3,
        max_bytes=40_000,
        retention_s=60,
        clock=lambda: now[0],
    )
    server.app.state.background = store
    yield store, now
    server.app.state.background = old


def test_the_oldest_response_is_evicted_first_past_the_count(client, server, small_store):
    ids = [client.responses.create(model="m", input=PROMPT, background=True).id for _ in range(4)]
    _wait_idle(server)
    with pytest.raises(openai.NotFoundError, match="evicted"):
        client.responses.retrieve(ids[0])
    assert [client.responses.retrieve(i).status for i in ids[1:]] == ["completed"] * 3


def test_the_byte_limit_evicts_oldest_first(client, server, small_store):
    store, _ = small_store
    long = {"x-streamlab-tokens": "60"}
    ids = [
        client.responses.create(model="m", input=PROMPT, background=True, extra_headers=long).id
        for _ in range(3)
    ]
    _wait_idle(server)
    assert store.size <= store.max_bytes
    with pytest.raises(openai.NotFoundError, match="evicted"):
        client.responses.retrieve(ids[0])
    assert client.responses.retrieve(ids[-1]).status == "completed"


def test_a_finished_response_expires_after_the_retention(client, server, small_store):
    _, now = small_store
    r = client.responses.create(model="m", input=PROMPT, background=True)
    _wait_idle(server)
    now[0] = 59.0
    assert client.responses.retrieve(r.id).status == "completed"
    now[0] = 60.0
    with pytest.raises(openai.NotFoundError, match="expired"):
        client.responses.retrieve(r.id)


def test_stop_cancels_background_generations():
    with streamlab.serve(ttft_ms=0, tokens_per_second=5, jitter_ms=0) as s:
        s.openai(max_retries=0).responses.create(model="m", input=PROMPT, background=True)
        deadline = time.monotonic() + 5
        while not s.stats["active_generations"] and time.monotonic() < deadline:
            time.sleep(0.005)
        assert s.stats["active_generations"] == 1
    assert s.stats["active_generations"] == 0


def test_async_drop_and_resume(server):
    async def main() -> tuple[list, list]:
        async with server.async_openai(max_retries=0) as client:
            seen = []
            stream = await client.responses.create(
                model="m", input=PROMPT, background=True, stream=True, extra_headers=_drop(7)
            )
            try:
                async for event in stream:
                    seen.append(event)
            except openai.APIConnectionError:
                pass
            rest = [
                e
                async for e in await client.responses.retrieve(
                    seen[0].response.id, stream=True, starting_after=seen[-1].sequence_number
                )
            ]
            return seen, rest

    seen, rest = asyncio.run(main())
    numbers = [e.sequence_number for e in seen + rest]
    assert numbers == list(range(len(numbers))) and len(seen) == 7
    assert rest[-1].type == "response.completed"
