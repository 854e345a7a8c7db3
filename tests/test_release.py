"""Release policies and the harness that measures them (streamlab.release)."""

from __future__ import annotations

import pytest

from streamlab import release as r


def test_samples_hold_the_secret_where_they_say():
    s = r.samples()
    assert s["clean"].bad is None and r.find_secret(s["clean"].text) is None
    for name in ("secret mid-answer", "secret, 1-char deltas", "secret at the end"):
        start, end = s[name].bad
        assert s[name].text[start:end] == r.SECRET
        assert all(r.find_secret(d) is None for d in s[name].deltas), "no delta holds the key whole"


def test_each_delta_leaks_the_whole_key_and_at_end_shows_nothing_until_done():
    mid = r.samples()["secret mid-answer"]
    assert r.run_policy(r.release_each_delta, mid).leaked == len(r.SECRET)
    leaky = r.run_policy(r.release_checked_prefix, mid)
    assert 0 < leaky.leaked < len(r.SECRET) and leaky.stopped
    clean = r.run_policy(r.release_at_end, r.samples()["clean"])
    assert clean.complete and len(clean.releases) == 1
    assert clean.releases[0][0] == len(clean.text), "released only after everything arrived"


def test_lag_counts_characters_that_arrived_after_each_released_one():
    def hold_all_but_last(deltas, check):
        held = list(deltas)
        yield "".join(held)

    o = r.run_policy(hold_all_but_last, r.Sample("x", ("ab", "cd")))
    assert o.mean_lag == pytest.approx((3 + 2 + 1 + 0) / 4)


def test_out_of_order_and_returned_strings_are_reported():
    def reversed_policy(deltas, check):
        for d in deltas:
            yield d[::-1]

    assert not r.run_policy(reversed_policy, r.Sample("x", ("ab",))).in_order
    with pytest.raises(TypeError, match="yield"):
        r.run_policy(lambda deltas, check: "".join(deltas), r.Sample("x", ("ab",)))


def test_splice_inserts_at_a_delta_boundary():
    s = r.splice(["one ", "two ", "three"], "XYZW", 4, piece=2)
    assert s.deltas == ("one ", "XY", "ZW", "two ", "three")
    assert s.text[s.bad[0] : s.bad[1]] == "XYZW"


def test_compare_prints_one_row_per_run_and_skips_unwritten(capsys):
    def unwritten(deltas, check):
        raise NotImplementedError

    outcomes = r.compare({"each": r.release_each_delta, "todo": unwritten})
    out = capsys.readouterr().out
    assert "not written yet" in out and len(outcomes) == len(r.samples())
