"""The notebook 03 checks accept correct answers and reject plausible wrong ones, saying why."""

from __future__ import annotations

from itertools import dropwhile

import anthropic
import httpx
import httpx2
import openai
import pytest
from _notebooks import load_solutions
from _support import assert_explains, assert_pending

from streamlab.checks import nb03


@pytest.fixture(scope="module")
def sol():
    return load_solutions("03")


def test_solutions_pass(sol, capsys):
    assert nb03.check_read_all(sol["read_all"])
    assert nb03.check_is_retryable(sol["is_retryable"])
    assert capsys.readouterr().out.count("[PASS]") == 2


def test_unattempted_is_pending_not_wrong(capsys):
    assert_pending(capsys, nb03.check_read_all, nb03.check_is_retryable, nb03.check_read_background)


def test_differently_written_correct_answers_pass(capsys):
    def read_all(connect, max_retries=3):
        got, last, in_a_row = [], None, 0
        while True:
            try:
                fresh = connect(last)
                for event in dropwhile(lambda e, a=last: a and int(e.id) <= int(a), fresh):
                    got.append(event)
                    last, in_a_row = event.id, 0
                return got
            except (httpx.TransportError, httpx2.TransportError):
                if in_a_row == max_retries:
                    raise
                in_a_row += 1

    def is_retryable(error):  # by module and class name, not isinstance
        response = getattr(error, "response", None)
        if hasattr(error, "status_code") and response is not None:
            header = response.headers.get("x-should-retry")
            if header == "true":
                return True
            if header == "false":
                return False
            return error.status_code in {408, 409, 429} or 500 <= error.status_code
        names = {c.__module__.split(".")[0] + "." + c.__name__ for c in type(error).__mro__}
        network = {"openai.APIConnectionError", "anthropic.APIConnectionError"}
        network |= {"httpx.TransportError", "httpx2.TransportError"}
        return bool(names & network)

    assert nb03.check_read_all(read_all)
    assert nb03.check_is_retryable(is_retryable)
    assert capsys.readouterr().out.count("[PASS]") == 2


def _loop(
    connect,
    max_retries,
    *,
    resume=True,
    skip="resent",
    skip_first=False,
    limit=True,
    reset="new",
    own_limit=None,
    give_up_quietly=False,
    off_by_one=False,
):
    """A resume loop, right unless told to make one of the usual mistakes."""
    events, seen, seen_data, last_id, failures = [], set(), set(), None, 0
    retries = max_retries if own_limit is None else own_limit
    while True:
        resumed_from = last_id
        try:
            for n, event in enumerate(connect(last_id if resume else None)):
                if reset == "any":
                    failures = 0
                if skip_first and resumed_from is not None and n == 0:
                    continue  # "the server resends the first one": not every server does
                if skip == "data" and event.data in seen_data:
                    continue
                if skip == "seen" and event.id in seen:
                    continue
                if skip == "resent" and resumed_from is not None:
                    if int(event.id) <= int(resumed_from):
                        continue
                if skip == "as strings" and resumed_from is not None:
                    if event.id <= resumed_from:
                        continue
                if reset == "new":
                    failures = 0
                seen.add(event.id)
                seen_data.add(event.data)
                events.append(event)
                last_id = event.id
            return events
        except httpx.TransportError:
            failures += 1
            if limit and (failures >= retries if off_by_one else failures > retries):
                if give_up_quietly:
                    return events
                raise


WRONG_RESUME = {
    "each id once (a seen set)": (dict(skip="seen"), ["the final `done` event is missing"]),
    "ids compared as strings": (dict(skip="as strings"), ["compare ids as numbers"]),
    "no skipping at all": (dict(skip=None), ["appear twice"]),
    "count reset by a resent event": (
        dict(reset="any"),
        ["kept reconnecting", "a resent event is not progress"],
    ),
    "count never reset": (dict(reset=None), ["count only failures in a row"]),
    "reconnects without the last id": (dict(resume=False), ["last_event_id=None"]),
    "retries forever": (dict(limit=False), ["kept reconnecting 60 times"]),
    "a limit of its own": (dict(own_limit=3), ["max_retries=5", "the `max_retries` argument"]),
    "one attempt too few": (dict(off_by_one=True), ["exactly max_retries=3", "you made 2"]),
    "gives up without raising": (dict(give_up_quietly=True), ["as if all went well"]),
    "repeats skipped by their data": (
        dict(skip="data"),
        ["events whose text repeats", "never by its data"],
    ),
    "always skips the first event after a reconnect": (
        dict(skip=None, skip_first=True),
        ["drops after 3 and after 2 more events", "the ids"],
    ),
}


@pytest.mark.parametrize("name", WRONG_RESUME)
def test_read_all_rejects(name, capsys):
    options, says = WRONG_RESUME[name]

    def read_all(connect, max_retries=3):
        return _loop(connect, max_retries, **options)

    assert_explains(capsys, nb03.check_read_all, read_all, "[FAIL]", *says)


def test_read_all_rejects_connecting_outside_the_try(sol, capsys):
    def read_all(connect, max_retries=3):
        events, last, failures = [], None, 0
        while True:
            stream = connect(last)  # a failed reconnection escapes from here
            try:
                for event in stream:
                    if last is None or int(event.id) > int(last) or event.event == "done":
                        events.append(event)
                        last, failures = event.id, 0
                return events
            except httpx.TransportError:
                failures += 1
                if failures > max_retries:
                    raise

    assert_explains(capsys, nb03.check_read_all, read_all, "call connect() inside the try")


def test_read_all_rejects_no_reconnect_at_all(capsys):
    assert_explains(
        capsys,
        nb03.check_read_all,
        lambda connect, max_retries=3: list(connect(None)),
        "catch httpx.TransportError and connect again",
    )


def test_scripted_feed_resumes_after_the_id_and_ends_with_done():
    feed = nb03.ScriptedFeed(total=4, drops=[2], resend=True)
    with pytest.raises(httpx.RemoteProtocolError):
        list(feed.connect(None))
    events = list(feed.connect("2"))
    assert [(e.id, e.event) for e in events] == [
        ("2", "message"),
        ("3", "message"),
        ("4", "message"),
        ("4", "done"),
    ]
    assert feed.calls == [None, "2"]


BOTH_NETWORK = (
    openai.APIConnectionError,
    anthropic.APIConnectionError,
    httpx.TransportError,
    httpx2.TransportError,
)


def _retryable(
    *,
    network=(openai.APIConnectionError, httpx.TransportError),
    status_classes=(openai.APIStatusError,),
    statuses=None,
    header="exact",
    above=500,
):
    def is_retryable(error):
        if isinstance(error, status_classes):
            value = error.response.headers.get("x-should-retry")
            if header == "exact" and value in ("true", "false"):
                return value == "true"
            if header == "truthy" and value:
                return True
            code = error.status_code
            if statuses is not None:
                return code in statuses
            return code in (408, 409, 429) or code >= above
        return isinstance(error, network)

    return is_retryable


WRONG_RETRY = {
    "everything": (
        lambda error: True,
        ["BadRequestError (400) is not worth a retry", "ValueError (a bug in your own code)"],
    ),
    "only some SDK classes": (
        lambda error: isinstance(
            error, (openai.RateLimitError, openai.InternalServerError, openai.APIConnectionError)
        ),
        ["httpx.ReadTimeout is worth a retry", "529 overloaded"],
    ),
    "httpx but not httpx2": (_retryable(), ["httpx2.RemoteProtocolError", "check for both"]),
    "above 500, not from 500": (_retryable(above=501), ["InternalServerError (500) is worth"]),
    "header ignored": (_retryable(header=None), ["x-should-retry header wins"]),
    "header read as truthy": (_retryable(header="truthy"), ["(503) with x-should-retry: false"]),
    "a list of statuses": (
        _retryable(statuses={429, 500, 503}),
        ["(502) is worth a retry", "(409 conflict) is worth a retry"],
    ),
    "the openai SDK's classes only (no anthropic)": (
        _retryable(
            network=(openai.APIConnectionError, httpx.TransportError, httpx2.TransportError)
        ),
        [
            "anthropic.APITimeoutError (a stalled anthropic stream) is worth a retry",
            "anthropic.RateLimitError (429) is worth a retry",
            "check both SDKs",
        ],
    ),
    "anthropic's network errors but not its statuses": (
        _retryable(network=BOTH_NETWORK),
        [
            "anthropic.RateLimitError (429) is worth",
            "anthropic.APIStatusError (529 overloaded) is worth",
        ],
    ),
    "httpx.HTTPError for the network": (
        _retryable(
            network=(openai.APIConnectionError, anthropic.APIConnectionError, httpx.HTTPError),
            status_classes=(openai.APIStatusError, anthropic.APIStatusError),
        ),
        ["httpx.HTTPStatusError (400, from raise_for_status()) is not worth a retry"],
    ),
    "from 499 on": (
        _retryable(
            network=BOTH_NETWORK,
            status_classes=(openai.APIStatusError, anthropic.APIStatusError),
            above=499,
        ),
        ["(499, a status just below 500) is not worth a retry"],
    ),
    "every 4xx but a few": (
        lambda error: (
            error.status_code not in (400, 401, 403, 404)
            if isinstance(error, openai.APIStatusError)
            else _retryable()(error)
        ),
        ["UnprocessableEntityError (422) is not worth a retry"],
    ),
}


def test_is_retryable_names_the_case_that_raised_and_runs_the_rest(capsys):
    def is_retryable(error):
        return (
            error.status_code in (408, 409, 429) or error.status_code >= 500
        )  # no status on a drop

    assert_explains(
        capsys,
        nb03.check_is_retryable,
        is_retryable,
        "is_retryable(APITimeoutError): your code raised AttributeError",
        "is_retryable(ValueError (a bug in your own code)): your code raised AttributeError",
        "BadRequestError (400) with x-should-retry: true is worth a retry",
    )


def test_the_anthropic_drop_case_follows_the_installed_version():
    label, error = nb03.anthropic_drop(httpx2.Request("GET", "http://127.0.0.1/"), "cut")
    if nb03._version(anthropic.__version__) >= (2, 17):
        assert isinstance(error, anthropic.APIConnectionError), label
        assert isinstance(error.__cause__, httpx2.RemoteProtocolError)
    else:
        assert isinstance(error, httpx2.RemoteProtocolError), label
    assert anthropic.__version__ in label
    assert nb03._version("2.5.0") < (2, 17) <= nb03._version("2.17.0rc1")


@pytest.mark.parametrize("name", WRONG_RETRY)
def test_is_retryable_rejects(name, capsys):
    answer, says = WRONG_RETRY[name]
    assert_explains(capsys, nb03.check_is_retryable, answer, "[FAIL]", *says)


# --------------------------------------------------------------------------- 3.3


def test_read_background_solution_passes(sol, capsys):
    assert nb03.check_read_background(sol["read_background"])
    assert "[PASS]" in capsys.readouterr().out


def test_read_background_written_differently_passes(capsys):
    def read_background(client, model, prompt, max_retries=3):
        got, rid, last, misses = [], None, None, 0
        open_stream = lambda: client.responses.create(  # noqa: E731
            model=model, input=prompt, background=True, stream=True
        )
        while misses <= max_retries:
            try:
                for event in open_stream():
                    rid = rid or event.response.id
                    last, misses = event.sequence_number, 0
                    got.append(event)
                return got
            except openai.APIConnectionError as exc:
                error, misses = exc, misses + 1
                if rid is not None:
                    open_stream = lambda rid=rid, last=last: client.responses.retrieve(  # noqa: E731
                        rid, stream=True, starting_after=last
                    )
        raise error

    assert nb03.check_read_background(read_background)
    assert "[PASS]" in capsys.readouterr().out


def _background(
    client,
    model,
    prompt,
    max_retries=3,
    *,
    restart=False,
    at=False,
    last_events=True,
    counting=False,
    one_drop=False,
):
    """A background resume loop, right unless told to make one of the usual mistakes."""
    events, failures, per_connection = [], 0, 0
    while True:
        try:
            if not events or restart:
                stream = client.responses.create(
                    model=model, input=prompt, background=True, stream=True
                )
            else:
                after = events[-1].sequence_number
                if at:
                    after -= 1
                if counting:
                    after = per_connection - 1
                stream = client.responses.retrieve(
                    events[0].response.id, stream=True, starting_after=after
                )
            per_connection = 0
            for event in stream:
                if not last_events and event.type == "response.output_text.done":
                    return events
                events.append(event)
                per_connection += 1
                failures = 0
            return events
        except openai.APIConnectionError:
            failures += 1
            if failures > (1 if one_drop else max_retries) or (one_drop and len(events) > 5):
                raise


WRONG_BACKGROUND = {
    "restarting from zero": (dict(restart=True), ["started over", "a new create"]),
    "resuming at N instead of after it": (dict(at=True), ["appear twice", "*after* N"]),
    "dropping the last events": (dict(last_events=False), ["the last events", "are missing"]),
    "counting events instead of reading sequence_number": (
        dict(counting=True),
        ["made 60 requests", "starting_after=4, 4", "read from the event itself"],
    ),
    "giving up after one drop": (dict(one_drop=True), ["you gave up", "after 1 resume"]),
}


@pytest.mark.parametrize("name", WRONG_BACKGROUND)
def test_read_background_rejects(name, capsys):
    options, says = WRONG_BACKGROUND[name]

    def read_background(client, model, prompt, max_retries=3):
        return _background(client, model, prompt, max_retries, **options)

    assert_explains(capsys, nb03.check_read_background, read_background, "[FAIL]", *says)
