"""Server settings and the per-request controls read from ``x-streamlab-*`` headers.

Settings are the server-wide defaults (``serve(ttft_ms=...)``); each request
may override the timing ones with headers, which the SDKs send with
``extra_headers={...}`` and real providers ignore.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from typing import Any

from starlette.datastructures import Headers

# The defaults make streaming visible to a person: the first token after about
# a third of a second, then ~30 tokens/s, so a typical answer takes 2-4 s.
DEFAULT_TTFT_MS = 300.0
DEFAULT_TOKENS_PER_SECOND = 30.0
DEFAULT_JITTER_MS = 15.0

HEADER_TTFT = "x-streamlab-ttft-ms"
HEADER_TPS = "x-streamlab-tokens-per-second"
HEADER_JITTER = "x-streamlab-jitter-ms"
HEADER_SEED = "x-streamlab-seed"
HEADER_FAULT = "x-streamlab-fault"
HEADER_TOKENS = "x-streamlab-tokens"


# Bounds of every control value (headers, fault options, lesson parameters,
# WebSocket options): far beyond any lesson's needs, and small enough that no
# value can hang a request or make the server build something huge.
MAX_TTFT_MS = 600_000.0  # 10 minutes
MAX_TOKENS_PER_SECOND = 1_000_000.0
MAX_JITTER_MS = 60_000.0
MAX_TOKENS = 100_000  # x-streamlab-tokens, and any generated answer
MAX_FAULT_SECONDS = 3600.0  # stall-after seconds=, slow-headers=, retry-after=
MAX_EVENT_COUNT = 1_000_000_000  # drop-after=, error-after=, stall-after=, times=
MAX_WRITE_BYTES = 65_536  # tiny-writes=
MAX_WRITE_DELAY_MS = 10_000.0  # tiny-writes delay-ms=
MAX_SEED = 2**63 - 1  # seeds are 64-bit, as OpenAI's


class ControlError(ValueError):
    """An ``x-streamlab-*`` header has a value the server cannot use."""


def bounded(
    name: str, value: Any, maximum: float, *, integer: bool = False, minimum: float = 0
) -> Any:
    """``value`` if it is a finite number (an integer if asked) in [minimum, maximum].

    Raises ControlError naming ``name`` and the bounds otherwise: NaN,
    infinities (``1e309``) and absurd values would hang a request or make the
    server build something huge.
    """
    kind = "an integer" if integer else "a number"
    ok = isinstance(value, int) if integer else isinstance(value, (int, float))
    if not ok or isinstance(value, bool) or not math.isfinite(value):
        raise ControlError(f"{name}: expected {kind}, got {value!r}")
    if not minimum <= value <= maximum:
        raise ControlError(f"{name}: must be between {minimum:g} and {maximum:g}, got {value!r}")
    return value


@dataclass(frozen=True)
class Settings:
    """Server-wide defaults. ``tokens_per_second=0`` (or ``inf``) means no delay."""

    ttft_ms: float = DEFAULT_TTFT_MS
    tokens_per_second: float = DEFAULT_TOKENS_PER_SECOND
    jitter_ms: float = DEFAULT_JITTER_MS
    seed: int = 0
    api_key: str | None = None
    model: str = "streamlab-local"

    def __post_init__(self) -> None:
        tps = self.tokens_per_second
        # inf is the one non-finite value allowed: it means "no delay", like 0.
        if not (isinstance(tps, (int, float)) and tps == math.inf):
            bounded("tokens_per_second", tps, MAX_TOKENS_PER_SECOND)
        bounded("ttft_ms", self.ttft_ms, MAX_TTFT_MS)
        bounded("jitter_ms", self.jitter_ms, MAX_JITTER_MS)
        bounded("seed", self.seed, MAX_SEED, integer=True, minimum=-MAX_SEED)

    def __repr__(self) -> str:  # never show the key
        key = "None" if self.api_key is None else "'***'"
        return (
            f"Settings(ttft_ms={self.ttft_ms}, tokens_per_second={self.tokens_per_second}, "
            f"jitter_ms={self.jitter_ms}, seed={self.seed}, api_key={key}, model={self.model!r})"
        )


@dataclass(frozen=True)
class Fault:
    """One injected fault, parsed from ``x-streamlab-fault``.

    ``kind`` is one of drop, error, stall, status, slow-headers, tiny-writes;
    ``times`` limits it to the first attempts of a retrying SDK (it reads the
    SDKs' ``x-stainless-retry-count`` header).
    """

    kind: str
    after: int = 0
    seconds: float = 0.0
    status: int = 0
    retry_after: str | None = None
    retry_after_ms: str | None = None
    should_retry: str | None = None
    size: int = 0
    delay_ms: float = 0.0
    times: int | None = None


def parse_number(
    name: str, raw: str, maximum: float, *, integer: bool = False, minimum: float = 0
) -> Any:
    """The number written in ``raw`` (a header or query value), checked by :func:`bounded`."""
    try:
        value = int(raw) if integer else float(raw)
    except ValueError:
        kind = "an integer" if integer else "a number"
        raise ControlError(f"{name}: expected {kind}, got {raw[:40]!r}") from None
    return bounded(name, value, maximum, integer=integer, minimum=minimum)


def _seconds(name: str, raw: str) -> str:
    """A retry header value as sent (a lesson shows it), once checked to be a sane number."""
    parse_number(name, raw, MAX_FAULT_SECONDS * (1000 if name.endswith("-ms") else 1))
    return raw


FAULT_SYNTAX = (
    "drop-after=N | error-after=N | stall-after=N;seconds=S | status=429;retry-after=S | "
    "status=500 | status=503 | status=529 | slow-headers=S | tiny-writes=N "
    "(options: ;times=K ;retry-after-ms=MS ;should-retry=true|false ;delay-ms=MS)"
)


def parse_fault(value: str) -> list[Fault]:
    """Parse ``x-streamlab-fault``; several faults may be joined with commas.

    >>> parse_fault("stall-after=3;seconds=2")
    [Fault(kind='stall', after=3, seconds=2.0, ...)]
    """
    faults: list[Fault] = []
    for spec in filter(None, (s.strip() for s in value.split(","))):
        parts = [p.strip() for p in spec.split(";") if p.strip()]
        head, _, arg = parts[0].partition("=")
        opts: dict[str, str] = {}
        for p in parts[1:]:
            k, eq, v = p.partition("=")
            if not eq:
                raise ControlError(
                    f"{HEADER_FAULT}: option {p!r} needs a value; syntax: {FAULT_SYNTAX}"
                )
            opts[k.strip().lower()] = v.strip()
        head = head.strip().lower()
        kw: dict[str, Any] = {}
        if "times" in opts:
            kw["times"] = parse_number("times", opts.pop("times"), MAX_EVENT_COUNT, integer=True)
        if head in ("drop-after", "error-after", "stall-after"):
            kw["after"] = parse_number(head, arg, MAX_EVENT_COUNT, integer=True)
            kind = head.removesuffix("-after")
            if kind == "stall":
                kw["seconds"] = parse_number(
                    "seconds", opts.pop("seconds", "30"), MAX_FAULT_SECONDS
                )
        elif head == "status":
            kind = "status"
            try:
                kw["status"] = parse_number("status", arg, 599, integer=True, minimum=400)
            except ControlError:
                raise ControlError(
                    f"status: expected an HTTP error status 400-599, got {arg[:40]!r}"
                ) from None
            for opt in ("retry-after", "retry-after-ms"):
                if opt in opts:
                    kw[opt.replace("-", "_")] = _seconds(opt, opts.pop(opt))
            should = opts.pop("should-retry", None)
            if should is not None and should not in ("true", "false"):
                raise ControlError(f"should-retry: expected true or false, got {should!r}")
            kw["should_retry"] = should
        elif head == "slow-headers":
            kind = "slow-headers"
            kw["seconds"] = parse_number(head, arg, MAX_FAULT_SECONDS)
        elif head == "tiny-writes":
            kind = "tiny-writes"
            kw["size"] = parse_number(head, arg or "3", MAX_WRITE_BYTES, integer=True) or 1
            kw["delay_ms"] = parse_number("delay-ms", opts.pop("delay-ms", "0"), MAX_WRITE_DELAY_MS)
        else:
            raise ControlError(f"{HEADER_FAULT}: unknown fault {spec!r}; syntax: {FAULT_SYNTAX}")
        if opts:
            raise ControlError(f"{HEADER_FAULT}: unknown option(s) {sorted(opts)} in {spec!r}")
        faults.append(Fault(kind=kind, **kw))
    return faults


@dataclass
class RequestControls:
    """The settings in force for one request, after applying its headers."""

    ttft_ms: float
    tokens_per_second: float
    jitter_ms: float
    seed: int
    faults: list[Fault] = field(default_factory=list)
    attempt: int = 0  # from x-stainless-retry-count: 0 on the first try
    length: int | None = None  # x-streamlab-tokens: exact answer length in tokens

    def fault(self, kind: str) -> Fault | None:
        """The active fault of this kind, if any (``times`` counts attempts)."""
        for f in self.faults:
            if f.kind == kind and (f.times is None or self.attempt < f.times):
                return f
        return None

    def token_interval(self) -> float:
        """Seconds between two tokens (0 when unthrottled)."""
        tps = self.tokens_per_second
        return 0.0 if tps <= 0 or tps == float("inf") else 1.0 / tps

    def due_times(self, n_tokens: int, rng: random.Random | None = None) -> Iterator[float]:
        """Offsets in seconds, from the request's arrival, at which each token is due.

        Absolute offsets (not sleeps between tokens) so that lateness never
        accumulates; jitter moves each token by up to ±jitter_ms but never
        before the previous one. Computed as they are asked for: a long
        answer has millions of tokens, and the whole list, built before the
        first write, held the event loop for 100 ms and more.
        """
        rng = rng or random.Random(self.seed)
        first = self.ttft_ms / 1000.0
        step = self.token_interval()
        jitter = self.jitter_ms / 1000.0
        prev = 0.0
        for i in range(n_tokens):
            t = first + i * step
            if jitter and i:
                t += rng.uniform(-jitter, jitter)
            prev = max(prev, t)
            yield prev


def controls_from(
    headers: Headers, settings: Settings, *, body_seed: int | None = None
) -> RequestControls:
    """Apply a request's ``x-streamlab-*`` headers on top of the server settings.

    Raises ControlError with a message naming the header when a value is bad.
    """

    def num(name: str, default: float, maximum: float) -> float:
        raw = headers.get(name)
        return default if raw is None else parse_number(name, raw.strip(), maximum)

    seed_raw = headers.get(HEADER_SEED)
    if seed_raw is not None:
        seed = parse_number(
            HEADER_SEED, seed_raw.strip(), MAX_SEED, integer=True, minimum=-MAX_SEED
        )
    elif body_seed is not None:
        seed = body_seed
    else:
        seed = settings.seed
    length_raw = headers.get(HEADER_TOKENS)
    length = (
        None
        if length_raw is None
        else parse_number(HEADER_TOKENS, length_raw.strip(), MAX_TOKENS, integer=True)
    )
    try:
        attempt = int(headers.get("x-stainless-retry-count", "0"))
    except ValueError:
        attempt = 0
    return RequestControls(
        ttft_ms=num(HEADER_TTFT, settings.ttft_ms, MAX_TTFT_MS),
        tokens_per_second=num(HEADER_TPS, settings.tokens_per_second, MAX_TOKENS_PER_SECOND),
        jitter_ms=num(HEADER_JITTER, settings.jitter_ms, MAX_JITTER_MS),
        seed=seed,
        faults=parse_fault(headers.get(HEADER_FAULT, "")),
        attempt=attempt,
        length=length,
    )


def with_overrides(settings: Settings, **changes: Any) -> Settings:
    return replace(settings, **{k: v for k, v in changes.items() if v is not None})
