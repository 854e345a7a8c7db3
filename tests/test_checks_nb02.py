"""The checks of notebook 02 accept the solutions and reject typical wrong answers."""

from __future__ import annotations

import re

import pytest
from _notebooks import load_solutions
from _support import assert_explains

from streamlab.checks import nb02
from streamlab.sse import SSEDecoder


@pytest.fixture(scope="module")
def solutions():
    return load_solutions("02")


def _decoder_parser(chunks):
    decoder = SSEDecoder()
    for chunk in chunks:
        yield from decoder.feed(chunk)
    yield from decoder.close()


def test_parser_check_accepts_the_solution(solutions, capsys):
    assert nb02.check_parser(solutions["parse_full"])
    assert nb02.check_parser(solutions["parse_full"], solutions["FullEventBuilder"])
    assert capsys.readouterr().out.count("[PASS]") == 2


def test_parser_check_accepts_a_differently_written_builder(solutions, capsys):
    base = solutions["EventBuilder"]

    class FullEventBuilder(base):  # a regular expression for the digits, a dict of handlers
        def field(self, name, value):
            handlers = {"id": self._id, "retry": self._retry}
            handlers.get(name, super().field)(*([value] if name in handlers else [name, value]))

        def _id(self, value):
            self.last_id = self.last_id if "\x00" in value else value

        def _retry(self, value):
            if re.fullmatch("[0-9]+", value):
                self.retry = self.event_retry = int(value)

    def parse_full(chunks):
        return solutions["parse_events"](chunks, FullEventBuilder)

    assert nb02.check_parser(parse_full, FullEventBuilder)
    assert "[PASS]" in capsys.readouterr().out


def _right_id(self, value):
    if "\0" not in value:
        self.last_id = value


def _right_retry(self, value):
    if value.isascii() and value.isdigit():
        self.retry = self.event_retry = int(value)


def _only_event_retry(self, value):  # the reconnection time in force is never kept
    if value.isascii() and value.isdigit():
        self.event_retry = int(value)


def _bad_retry_resets(self, value):
    ok = value.isascii() and value.isdigit()
    self.retry = self.event_retry = int(value) if ok else None


def _stripped_id(self, value):
    if "\0" not in value:
        self.last_id = value.strip()


def _nul_id_clears(self, value):  # "ignored" read as "cleared"
    self.last_id = "" if "\0" in value else value


WRONG_BUILDERS = {
    "sets only event_retry": (
        _right_id,
        _only_event_retry,
        ["expected builder.retry == 2500", "set self.retry"],
    ),
    "a bad retry value resets": (
        _right_id,
        _bad_retry_resets,
        ["got retry=None", "left alone by a value"],
    ),
    "ids stripped": (_stripped_id, _right_retry, ["'id keeps its spaces'", "do not strip() it"]),
    "a NUL id clears the id": (_nul_id_clears, _right_retry, ["'id containing NUL'", "is ignored"]),
}


@pytest.mark.parametrize("name", WRONG_BUILDERS)
def test_parser_check_rejects_builder(solutions, capsys, name):
    on_id, on_retry, says = WRONG_BUILDERS[name]

    def field(self, name, value):
        if name == "id":
            on_id(self, value)
        elif name == "retry":
            on_retry(self, value)
        else:
            solutions["EventBuilder"].field(self, name, value)

    builder = type("FullEventBuilder", (solutions["EventBuilder"],), {"field": field})

    def parse_full(chunks):
        return solutions["parse_events"](chunks, builder)

    assert_explains(capsys, lambda p: nb02.check_parser(p, builder), parse_full, "[FAIL]", *says)


def test_parser_check_accepts_streamlab_decoder(capsys):
    # The expected events in the check agree with the package's decoder.
    assert nb02.check_parser(_decoder_parser)
    assert nb02.check_parser(nb02.reference_parser)


def test_reference_agrees_with_decoder_on_spot_the_bug_answers(solutions):
    for name in ("breaks_a", "breaks_b", "breaks_c"):
        chunks = solutions[name]
        ref = [nb02._norm(e) for e in nb02.reference_parser(chunks)]
        assert ref == [nb02._norm(e) for e in _decoder_parser(chunks)]


def test_parser_check_says_not_attempted_for_the_stub(capsys):
    def parse_full(chunks):
        raise NotImplementedError

    assert not nb02.check_parser(parse_full)
    assert "[TO DO]" in capsys.readouterr().out


def test_parser_check_rejects_splitting_each_read_on_newlines(capsys):
    assert not nb02.check_parser(nb02.parser_a)
    out = capsys.readouterr().out
    assert "[FAIL]" in out
    assert "a line can be cut across two reads: keep the unfinished end" in out


def test_parser_check_rejects_str_splitlines(capsys):
    assert not nb02.check_parser(nb02.parser_b)
    out = capsys.readouterr().out
    assert "stream 'JSON with U+2028' fed whole" in out
    assert "str.splitlines() also splits on U+2028" in out


def test_parser_check_rejects_decoding_each_read(capsys):
    assert not nb02.check_parser(nb02.parser_c)
    out = capsys.readouterr().out
    assert "stream 'UTF-8 text' split into two reads" in out
    assert "a UTF-8 character cut across two reads" in out


def test_parser_check_rejects_loose_retry_and_missing_ids(solutions, capsys):
    builder = solutions["EventBuilder"]

    class Loose(builder):
        def field(self, name, value):
            if name == "retry":
                self.event_retry = int(float(value)) if value.replace(".", "").isdigit() else None
            else:
                super().field(name, value)  # and ids are never read

    assert not nb02.check_parser(lambda chunks: solutions["parse_events"](chunks, Loose))
    out = capsys.readouterr().out
    assert "stream 'ids' fed whole" in out and "the id stays in force" in out
    assert "stream 'retry' fed whole" in out and "all ASCII digits" in out


def test_parser_check_rejects_a_parser_that_reads_everything_first(solutions, capsys):
    def parse_all(chunks):
        return list(solutions["parse_full"]([b"".join(chunks)]))

    assert not nb02.check_parser(parse_all)
    out = capsys.readouterr().out
    assert "yield each event as soon as its blank line has arrived" in out


def test_parser_check_reports_the_learners_exception(capsys):
    def parse_broken(chunks):
        for chunk in chunks:
            yield {"data": chunk.decode("utf-8")}  # strict decode, no lines at all

    assert not nb02.check_parser(parse_broken)
    out = capsys.readouterr().out
    assert "[FAIL]" in out and "Traceback" not in out


def test_spot_the_bug_accepts_the_solution(solutions, capsys):
    assert nb02.check_spot_the_bug(
        solutions["breaks_a"], solutions["breaks_b"], solutions["breaks_c"]
    )
    assert "[PASS]" in capsys.readouterr().out


def test_spot_the_bug_not_attempted(capsys):
    assert not nb02.check_spot_the_bug(..., ..., ...)
    assert "[TO DO]" in capsys.readouterr().out


def test_spot_the_bug_rejects_streams_the_parser_reads_correctly(solutions, capsys):
    # Whole events per read, even with non-ASCII text, do not break A.
    fine_for_a = ["data: café\n\n".encode(), b"data: ok\n\n"]
    assert not nb02.check_spot_the_bug(fine_for_a, solutions["breaks_b"], solutions["breaks_c"])
    out = capsys.readouterr().out
    assert "parser A reads" in out and "correctly" in out
    # A stream with whole events in one read breaks none of them.
    whole = [b"data: hello\n\n"]
    assert not nb02.check_spot_the_bug(whole, whole, whole)
    out = capsys.readouterr().out
    assert "3 of 3 checks fail" in out


def test_spot_the_bug_explains_a_wrong_shape(solutions, capsys):
    assert not nb02.check_spot_the_bug(b"data: hel", "data: x", solutions["breaks_c"])
    out = capsys.readouterr().out
    assert "give a list of reads" in out
    assert "should be a list of bytes objects" in out


def _with_field(solutions, field):
    """The worked parser with ``field(builder, name, value)`` for id and retry."""

    class Builder(solutions["EventBuilder"]):
        def field(self, name, value):
            if name in ("id", "retry"):
                field(self, name, value)
            else:
                super().field(name, value)

    return lambda chunks: solutions["parse_events"](chunks, Builder)


def retry_with_int(b, name, value):
    if name == "id":
        b.last_id = value if "\0" not in value else b.last_id
        return
    try:
        b.retry = b.event_retry = int(value)
    except ValueError:
        pass


def retry_with_isdigit(b, name, value):
    if name == "id":
        b.last_id = value if "\0" not in value else b.last_id
    elif value.isdigit():
        b.retry = b.event_retry = int(value)


def id_keeps_nul(b, name, value):
    if name == "id":
        b.last_id = value
    elif value.isascii() and value.isdigit():
        b.retry = b.event_retry = int(value)


def empty_id_does_not_reset(b, name, value):
    if name == "id":
        if value and "\0" not in value:
            b.last_id = value
    elif value.isascii() and value.isdigit():
        b.retry = b.event_retry = int(value)


def retry_only_in_force(b, name, value):
    if name == "id":
        b.last_id = value if "\0" not in value else b.last_id
    elif value.isascii() and value.isdigit():
        b.retry = int(value)  # but not this event's own retry


WRONG_FIELDS = {
    "retry read with int()": (retry_with_int, ["'retry values int() accepts'", "isascii()"]),
    "retry read with isdigit()": (
        retry_with_isdigit,
        ["'retry values int() accepts'", "your code raised ValueError"],
    ),
    "id with NUL kept": (id_keeps_nul, ["'id containing NUL'", "is ignored"]),
    "empty id does not reset": (empty_id_does_not_reset, ["'ids'", "an empty one resets it"]),
    "retry not on its own event": (retry_only_in_force, ["'retry'", "in its own block"]),
}


@pytest.mark.parametrize("name", WRONG_FIELDS)
def test_parser_check_rejects(solutions, name, capsys):
    field, says = WRONG_FIELDS[name]
    assert_explains(capsys, nb02.check_parser, _with_field(solutions, field), "[FAIL]", *says)


def test_a_differently_written_parser_passes(solutions, capsys):
    def field(b, name, value):
        if name == "id" and "\0" not in value:
            b.last_id = value
        elif name == "retry" and re.fullmatch("[0-9]+", value):
            b.retry = b.event_retry = int(value)

    assert nb02.check_parser(_with_field(solutions, field))
    assert "[PASS]" in capsys.readouterr().out


def test_spot_the_bug_rejects_the_wrong_bug_for_each_parser(solutions, capsys):
    cut_line = [b"data: hel", b"lo\n\n"]  # B and C keep a buffer: they read it right
    u2028 = ['data: {"text": "one\u2028two"}\n\n'.encode()]  # C splits on CR/LF only
    assert not nb02.check_spot_the_bug(solutions["breaks_a"], cut_line, u2028)
    out = capsys.readouterr().out
    assert "parser B reads [b'data: hel', b'lo\\n\\n'] correctly" in out
    assert "parser C reads" in out and "2 of 3 checks fail" in out


def test_spot_the_bug_accepts_a_crlf_split_for_b(solutions, capsys):
    crlf_split = [b"data: a\r", b"\ndata: b\r\n\r\n"]
    assert nb02.check_spot_the_bug(solutions["breaks_a"], crlf_split, solutions["breaks_c"])
    assert "[PASS]" in capsys.readouterr().out
