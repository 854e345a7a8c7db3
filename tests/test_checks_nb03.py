"""The notebook 03 checks accept the solutions and reject typical wrong answers."""

from __future__ import annotations

import httpx
import openai
import pytest
from _notebooks import load_solutions
from _support import assert_pending

from streamlab.checks import nb03


@pytest.fixture(scope="module")
def sol():
    return load_solutions("03")


def test_solutions_pass(sol, capsys):
    assert nb03.check_read_all(sol["read_all"])
    assert nb03.check_is_retryable(sol["is_retryable"])
    assert capsys.readouterr().out.count("✅") == 2


def test_unattempted_is_pending_not_wrong(capsys):
    assert_pending(capsys, nb03.check_read_all, nb03.check_is_retryable)


def _loop(connect, max_retries, *, resume=True, dedup=True, limit=True, reset=True):
    events, seen, last_id, failures = [], set(), None, 0
    while True:
        try:
            for event in connect(last_id if resume else None):
                if reset:
                    failures = 0
                if dedup and event.id in seen:
                    continue
                seen.add(event.id)
                events.append(event)
                last_id = event.id
            return events
        except httpx.TransportError:
            failures += 1
            if limit and failures > max_retries:
                raise


def test_no_dedup_repeats_events(capsys):
    assert not nb03.check_read_all(lambda c, max_retries=3: _loop(c, max_retries, dedup=False))
    assert "appear twice" in capsys.readouterr().out


def test_reconnecting_without_the_last_id_starts_over(capsys):
    assert not nb03.check_read_all(lambda c, max_retries=3: _loop(c, max_retries, resume=False))
    assert "reconnected with last_event_id=None" in capsys.readouterr().out


def test_retrying_forever_or_counting_all_failures(capsys):
    assert not nb03.check_read_all(lambda c, max_retries=3: _loop(c, max_retries, limit=False))
    assert "kept reconnecting" in capsys.readouterr().out
    assert not nb03.check_read_all(lambda c, max_retries=3: _loop(c, max_retries, reset=False))
    assert "count only failures in a row" in capsys.readouterr().out


def test_no_reconnect_at_all(capsys):
    assert not nb03.check_read_all(lambda connect, max_retries=3: list(connect(None)))
    assert "catch httpx.TransportError and connect again" in capsys.readouterr().out


def test_scripted_feed_resumes_after_the_id():
    feed = nb03.ScriptedFeed(total=4, drops=[2])
    with pytest.raises(httpx.RemoteProtocolError):
        list(feed.connect(None))
    assert [e.id for e in feed.connect("2")] == ["3", "4"]
    assert feed.calls == [None, "2"]


def test_everything_retryable_is_wrong(capsys):
    assert not nb03.check_is_retryable(lambda error: True)
    out = capsys.readouterr().out
    assert "BadRequestError (400) is not worth a retry" in out
    assert "ValueError (a bug in your own code) is not worth a retry" in out


def test_only_sdk_classes_misses_transport_errors_and_header(capsys):
    def is_retryable(error):
        return isinstance(
            error, (openai.RateLimitError, openai.InternalServerError, openai.APIConnectionError)
        )

    assert not nb03.check_is_retryable(is_retryable)
    out = capsys.readouterr().out
    assert "httpx.ReadTimeout is worth a retry" in out
    assert "x-should-retry header wins" in out
    assert "529 overloaded" in out
