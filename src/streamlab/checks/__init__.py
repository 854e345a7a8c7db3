"""Checks for the notebooks' exercises: one module per notebook (``nb02`` ...).

A check never raises on a wrong answer: it prints what is right and what is
still wrong, in words a learner understands, and returns ``True`` or
``False``. That keeps "Run All" working while exercises are unsolved.
"""

from streamlab.checks._report import Report, run_check

__all__ = ["Report", "run_check"]
