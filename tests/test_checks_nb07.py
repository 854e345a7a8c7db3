"""The notebook 07 checks accept the solutions and reject typical wrong answers."""

from __future__ import annotations

from _notebooks import load_solutions

from streamlab.checks import nb07


def test_solutions_pass(capsys):
    sol = load_solutions("07")
    assert nb07.check_redraws(sol["redraws"])
    assert nb07.check_collect(sol["collect"])
    assert capsys.readouterr().out.count("✅") == 2


def test_redrawing_every_delta_is_too_often(capsys):
    def redraws(events, interval=1 / 30):
        text, plan = "", []
        for t, d in events:
            text += d
            plan.append((t, text))
        return plan

    assert not nb07.check_redraws(redraws)
    assert "2,000 deltas/s) stream: 1998 redraws come less than 33 ms" in capsys.readouterr().out


def test_forgetting_the_final_flush_loses_the_end(capsys):
    def redraws(events, interval=1 / 30):
        text, plan, last = "", [], None
        for t, d in events:
            text += d
            if last is None or t - last >= interval:
                plan.append((t, text))
                last = t
        return plan

    assert not nb07.check_redraws(redraws)
    assert "draw whatever is still pending" in capsys.readouterr().out


def test_counting_deltas_instead_of_time_delays_slow_streams(capsys):
    def redraws(events, interval=1 / 30):
        text, plan = "", []
        for i, (t, d) in enumerate(events):
            text += d
            if i % 70 == 0:
                plan.append((t, text))
        plan.append((events[-1][0], text))
        return plan

    assert not nb07.check_redraws(redraws)
    assert "do not count deltas, look at the time" in capsys.readouterr().out


def test_collect_must_keep_what_arrived(capsys):
    def collect(deltas):
        text = ""
        try:
            for d in deltas:
                text += d
        except Exception as exc:
            return "", str(exc)
        return text, None

    assert not nb07.check_collect(collect)
    assert "keep what arrived" in capsys.readouterr().out

    def collect_uncaught(deltas):
        return "".join(deltas), None

    assert not nb07.check_collect(collect_uncaught)
    assert "the stream's error escaped" in capsys.readouterr().out
