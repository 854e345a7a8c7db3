"""Server settings and the per-request controls read from ``x-streamlab-*`` headers.

Settings are the server-wide defaults (``serve(ttft_ms=...)``); each request
may override the timing ones with headers, which the SDKs send with
``extra_headers={...}`` and real providers ignore.
"""

from __future__ import annotations

import random
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


class ControlError(ValueError):
    """An ``x-streamlab-*`` header has a value the server cannot use."""


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
        for name in ("ttft_ms", "tokens_per_second", "jitter_ms"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be >= 0, got {getattr(self, name)!r}")

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


def _number(name: str, raw: str, *, integer: bool = False) -> Any:
    try:
        value = int(raw) if integer else float(raw)
    except ValueError:
        kind = "an integer" if integer else "a number"
        raise ControlError(f"{name}: expected {kind}, got {raw!r}") from None
    if value < 0:
        raise ControlError(f"{name}: must be >= 0, got {raw!r}")
    return value


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
            kw["times"] = _number("times", opts.pop("times"), integer=True)
        if head in ("drop-after", "error-after", "stall-after"):
            kw["after"] = _number(head, arg, integer=True)
            kind = head.removesuffix("-after")
            if kind == "stall":
                kw["seconds"] = _number("seconds", opts.pop("seconds", "30"))
        elif head == "status":
            kind = "status"
            status = _number("status", arg, integer=True)
            if not 400 <= status <= 599:
                raise ControlError(f"status: expected an HTTP error status 400-599, got {arg!r}")
            kw["status"] = status
            kw["retry_after"] = opts.pop("retry-after", None)
            kw["retry_after_ms"] = opts.pop("retry-after-ms", None)
            should = opts.pop("should-retry", None)
            if should is not None and should not in ("true", "false"):
                raise ControlError(f"should-retry: expected true or false, got {should!r}")
            kw["should_retry"] = should
        elif head == "slow-headers":
            kind = "slow-headers"
            kw["seconds"] = _number(head, arg)
        elif head == "tiny-writes":
            kind = "tiny-writes"
            kw["size"] = _number(head, arg or "3", integer=True) or 1
            kw["delay_ms"] = _number("delay-ms", opts.pop("delay-ms", "0"))
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

    def schedule(self, n_tokens: int, rng: random.Random | None = None) -> list[float]:
        """Offsets in seconds, from the request's arrival, at which each token is due.

        Absolute offsets (not sleeps between tokens) so that lateness never
        accumulates; jitter moves each token by up to ±jitter_ms but never
        before the previous one.
        """
        rng = rng or random.Random(self.seed)
        first = self.ttft_ms / 1000.0
        step = self.token_interval()
        jitter = self.jitter_ms / 1000.0
        out: list[float] = []
        prev = 0.0
        for i in range(n_tokens):
            t = first + i * step
            if jitter and i:
                t += rng.uniform(-jitter, jitter)
            prev = max(prev, t)
            out.append(prev)
        return out


def controls_from(
    headers: Headers, settings: Settings, *, body_seed: int | None = None
) -> RequestControls:
    """Apply a request's ``x-streamlab-*`` headers on top of the server settings.

    Raises ControlError with a message naming the header when a value is bad.
    """

    def num(name: str, default: float) -> float:
        raw = headers.get(name)
        return default if raw is None else _number(name, raw.strip())

    seed_raw = headers.get(HEADER_SEED)
    if seed_raw is not None:
        try:
            seed = int(seed_raw.strip())
        except ValueError:
            raise ControlError(f"{HEADER_SEED}: expected an integer, got {seed_raw!r}") from None
    elif body_seed is not None:
        seed = body_seed
    else:
        seed = settings.seed
    length_raw = headers.get(HEADER_TOKENS)
    length = (
        None if length_raw is None else _number(HEADER_TOKENS, length_raw.strip(), integer=True)
    )
    try:
        attempt = int(headers.get("x-stainless-retry-count", "0"))
    except ValueError:
        attempt = 0
    return RequestControls(
        ttft_ms=num(HEADER_TTFT, settings.ttft_ms),
        tokens_per_second=num(HEADER_TPS, settings.tokens_per_second),
        jitter_ms=num(HEADER_JITTER, settings.jitter_ms),
        seed=seed,
        faults=parse_fault(headers.get(HEADER_FAULT, "")),
        attempt=attempt,
        length=length,
    )


def with_overrides(settings: Settings, **changes: Any) -> Settings:
    return replace(settings, **{k: v for k, v in changes.items() if v is not None})
