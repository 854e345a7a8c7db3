"""Deterministic, offline text and JSON generation for the local provider.

No model is involved: answers are assembled from a small built-in corpus of
English sentences, chosen and ordered by a random generator seeded with the
prompt and the seed. The same (prompt, seed) always gives the same answer, on
every endpoint, streamed or not, which is what lets a lesson compare them.

Text is cut into *token-sized* pieces (``tokenize``): a word with its leading
space, punctuation on its own, long words split in two, roughly what a real
tokenizer produces. Usage counts are counts of these pieces.
"""

from __future__ import annotations

import functools
import hashlib
import json
import math
import random
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

# Topics: keywords that select them, and the sentences they are built from.
CORPUS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "streaming": (
        ("stream", "token", "sse", "latency", "delta", "llm", "model", "event"),
        (
            "Streaming sends each token to the reader as soon as the model produces it.",
            "The first token usually arrives long before the whole answer is ready.",
            "A buffered response makes the user wait for the last word before showing the first.",
            "Each chunk on the wire carries a small piece of text called a delta.",
            "Server-Sent Events frame every delta as a few lines of plain text.",
            "The client joins the deltas in order to rebuild the full answer.",
            "Time to first token is the number people notice most.",
            "A stream can stop early, so the client must handle a partial answer.",
            "Usage figures arrive at the very end, after the last piece of text.",
        ),
    ),
    "http": (
        ("http", "chunk", "header", "server", "request", "socket", "network", "tcp"),
        (
            "An HTTP response can be sent in chunks when its length is unknown in advance.",
            "Headers travel first, and the body follows in as many pieces as needed.",
            "The network is free to split or merge those pieces on the way.",
            "A careful reader buffers bytes until a whole line has arrived.",
            "A long pause between chunks looks exactly like a dead connection.",
            "Timeouts protect the client from waiting forever on a silent server.",
            "A proxy that buffers the body can quietly turn a stream into a single reply.",
            "Closing the connection early is how a client says it is no longer listening.",
        ),
    ),
    "ocean": (
        ("ocean", "sea", "wave", "water", "fish", "beach", "tide", "whale"),
        (
            "The ocean covers most of the surface of our planet.",
            "Waves carry energy across thousands of kilometres of open water.",
            "Tides rise and fall twice a day, pulled by the moon.",
            "Whales sing songs that can travel for hundreds of kilometres.",
            "Sunlight fades quickly below the first few hundred metres.",
            "Coral reefs shelter a quarter of all known marine species.",
            "Sailors once read the colour of the water to find their way.",
            "The deepest trench is deeper than the tallest mountain is high.",
        ),
    ),
    "coffee": (
        ("coffee", "tea", "cafe", "café", "espresso", "breakfast", "drink", "cup"),
        (
            "A good café smells of roasted beans and warm bread.",
            "Espresso is brewed by forcing hot water through finely ground coffee.",
            "Tea and coffee have been traded around the world for centuries.",
            "A slow pour over a paper filter gives a clean and gentle cup.",
            "Milk foamed to the right texture makes a smooth and glossy top.",
            "Most of the flavour comes from how the beans were roasted.",
            "Many people drink their first cup before they have said a word.",
            "Fresh water and a clean grinder matter more than an expensive machine.",
        ),
    ),
    "space": (
        ("space", "star", "planet", "moon", "rocket", "orbit", "galaxy", "mars"),
        (
            "Light from the nearest star takes more than four years to reach us.",
            "A rocket must reach great speed to stay in orbit around the Earth.",
            "The moon always shows the same face to our planet.",
            "Mars has the tallest volcano known in the solar system.",
            "Our galaxy holds hundreds of billions of stars.",
            "Astronauts exercise every day to keep their bones strong in orbit.",
            "Telescopes in space see clearly above the blur of the atmosphere.",
            "A day on Venus lasts longer than its year.",
        ),
    ),
    "garden": (
        ("garden", "plant", "flower", "tree", "seed", "soil", "grow", "vegetable"),
        (
            "A garden grows best in soil that is rich and well drained.",
            "Seeds need warmth, water and patience before they sprout.",
            "Tomatoes love the sun and a steady supply of water.",
            "Bees visit flowers and carry pollen from one plant to the next.",
            "Old leaves turn into compost that feeds next year's plants.",
            "Pruning in winter helps fruit trees grow strong new branches.",
            "A small herb garden fits on a sunny windowsill.",
            "Weeds are simply plants growing where nobody planned them.",
        ),
    ),
    "cooking": (
        ("cook", "cooking", "recipe", "bread", "soup", "kitchen", "bake", "food", "pasta"),
        (
            "A simple soup starts with onions cooked slowly in a little oil.",
            "Bread needs time for the dough to rise and develop flavour.",
            "Salt brings out the taste of almost every dish.",
            "Fresh pasta cooks in only a few minutes in boiling water.",
            "A sharp knife is safer than a dull one in the kitchen.",
            "Tasting as you go is the habit of every good cook.",
            "Roasting vegetables makes them sweet and golden at the edges.",
            "A recipe is a starting point, not a set of strict rules.",
        ),
    ),
}
DEFAULT_TOPICS = ("streaming", "ocean", "space", "garden", "coffee", "cooking")
TOPICS = tuple(CORPUS)

_TOKEN_RE = re.compile(r" ?[^\W\d_]+| ?\d{1,3}| ?[^\w\s]+|\s+|_+")
_WORD_RE = re.compile(r"[a-zé]+")


def tokenize(text: str) -> list[str]:
    """Cut text into token-sized pieces whose concatenation is exactly ``text``.

    Words keep their leading space (" stream"), punctuation stands alone and
    words longer than eight letters are split after their sixth character,
    roughly like a real BPE tokenizer would.
    """
    pieces: list[str] = []
    for m in _TOKEN_RE.finditer(text):
        piece = m.group()
        if len(piece) > 8 and piece.strip().isalpha():
            pieces += [piece[:6], piece[6:]]
        else:
            pieces.append(piece)
    return pieces


_EXACT_CHARS = 32_768
_SAMPLES, _SAMPLE_CHARS = 8, 4096


def count_tokens(text: str) -> int:
    """How many tokens ``tokenize`` makes of ``text`` (used for usage figures).

    Exact up to 32 KiB. A longer text is estimated from 8 slices of 4 KiB
    spread over it, so counting a prompt costs the same at any size (a 50 MiB
    prompt once took seconds and a gigabyte of token strings).
    """
    if len(text) <= _EXACT_CHARS:
        return _count(text)
    step = (len(text) - _SAMPLE_CHARS) // (_SAMPLES - 1)
    sampled = sum(_count(text[i * step : i * step + _SAMPLE_CHARS]) for i in range(_SAMPLES))
    return round(sampled * len(text) / (_SAMPLES * _SAMPLE_CHARS))


def _count(text: str) -> int:
    # The same pieces as tokenize(), counted as they are found: no list is kept.
    n = 0
    for m in _TOKEN_RE.finditer(text):
        piece = m.group()
        n += 2 if len(piece) > 8 and piece.strip().isalpha() else 1
    return n


#: How much of a prompt the simulated model reads (see ``gist``).
READ_CHARS = 32_768


def gist(text: str) -> str:
    """What the simulated model reads of ``text``: all of it up to ``READ_CHARS``,
    else its first and last ``READ_CHARS // 2`` characters.

    Every look at a prompt (its topic, length words, tool names, cities, a
    schema in the instructions) is one regex or string call in C that holds
    the GIL from start to end, so on a 4 MiB prompt each held the event loop
    100-500 ms, even from a worker thread. A question usually sits at the
    start or the end of a long prompt, so that is what is read. Hashing and
    token counts still see all of it.
    """
    if len(text) <= READ_CHARS:
        return text
    half = READ_CHARS // 2
    return text[:half] + "\n" + text[-half:]


def rng_for(prompt: str, seed: int) -> random.Random:
    """A random generator that depends only on (prompt, seed), in every process."""
    digest = hashlib.sha256(f"{seed}\x00{prompt}".encode()).digest()
    return random.Random(int.from_bytes(digest[:8], "big"))


def pick_topic(text: str, rng: random.Random | None = None) -> str | None:
    """The corpus topic whose keywords appear in ``text`` first, else None."""
    # Cached because the JSON generator asks once per value with the same
    # prompt (uncached, this scan was most of a tool call's setup); long
    # texts are not kept, so the cache stays small.
    text = gist(text)
    return _topic_of(text) if len(text) <= 4096 else _topic_of.__wrapped__(text)


# The first word that starts with a keyword, found by one regex scan in C (a
# word-by-word loop in Python took 8 s on a 4 MiB prompt); that word's topic
# is then the first in corpus order, as it was word by word.
_KEYWORD_RE = re.compile(
    "(?<![a-zé])(?:"
    + "|".join(re.escape(k) for keywords, _ in CORPUS.values() for k in keywords)
    + ")"
)


@functools.lru_cache(maxsize=256)
def _topic_of(text: str) -> str | None:
    lowered = text.lower()
    found = _KEYWORD_RE.search(lowered)
    if found is None:
        return None
    word = _WORD_RE.match(lowered, found.start()).group()  # type: ignore[union-attr]
    return next(t for t, (keywords, _) in CORPUS.items() if any(map(word.startswith, keywords)))


@functools.cache
def _topic_words(topic: str) -> tuple[str, ...]:
    """The corpus words of ``topic`` longer than three letters (for word-like strings)."""
    return tuple(w for w in _WORD_RE.findall(" ".join(CORPUS[topic][1]).lower()) if len(w) > 3)


def requested_sentences(prompt: str, rng: random.Random) -> int:
    """How long the answer should be: the prompt may ask for short or long."""
    p = gist(prompt).lower()
    if re.search(r"\b(one sentence|single sentence|one line|a word|yes or no)\b", p):
        return 1
    if re.search(r"\b(short|brief|briefly|quick|concise|tl;dr)\b", p):
        return 2
    if re.search(r"\b(long|detailed|in detail|essay|explain at length|story)\b", p):
        return 9
    return rng.randint(4, 6)


@dataclass
class Composer:
    """An endless supply of sentences on a topic, in a deterministic order.

    The WebSocket lesson steers it while it runs (``topic``, ``tone``); the
    HTTP endpoints take a fixed number of sentences from it.
    """

    rng: random.Random
    topic: str
    tone: str = "plain"  # plain | excited | calm | shouting
    _queue: list[str] = field(default_factory=list)

    def next_sentence(self) -> str:
        if not self._queue:
            self._queue = list(CORPUS[self.topic][1])
            self.rng.shuffle(self._queue)
        sentence = self._queue.pop()
        if self.tone == "excited":
            sentence = sentence[:-1] + "!"
        elif self.tone == "shouting":
            sentence = sentence.upper()
        elif self.tone == "calm":
            sentence = sentence[0].lower() + sentence[1:]
            sentence = "Gently, " + sentence
        return sentence

    def switch_topic(self, topic: str) -> None:
        if topic != self.topic:
            self.topic = topic
            self._queue = []


def composer_for(prompt: str, seed: int) -> Composer:
    rng = rng_for(prompt, seed)
    topic = pick_topic(prompt) or DEFAULT_TOPICS[rng.randrange(len(DEFAULT_TOPICS))]
    return Composer(rng=rng, topic=topic)


def generate_tokens(prompt: str, seed: int = 0, *, tokens: int | None = None) -> list[str]:
    """The answer to ``prompt`` for ``seed`` as token-sized pieces.

    A few sentences on the prompt's topic; with ``tokens``, exactly that many
    tokens (sentences are added as needed and the last one is cut), for long
    benchmark streams.
    """
    composer = composer_for(prompt, seed)
    n = requested_sentences(prompt, composer.rng)
    pieces: list[str] = []
    for i in range(n):
        pieces += _sentence_tokens(composer.next_sentence(), i > 0)
    if tokens is None:
        return pieces
    while len(pieces) < tokens:
        pieces += _sentence_tokens(composer.next_sentence(), True)
    return pieces[:tokens]


@functools.lru_cache(maxsize=1024)
def _sentence_tokens(sentence: str, leading_space: bool) -> tuple[str, ...]:
    # The corpus is small and fixed: tokenize each sentence once per process.
    return tuple(tokenize(" " + sentence if leading_space else sentence))


def generate_text(prompt: str, seed: int = 0, *, tokens: int | None = None) -> str:
    """The full answer to ``prompt`` for ``seed`` (see ``generate_tokens``)."""
    return "".join(generate_tokens(prompt, seed, tokens=tokens))


# -- JSON output --------------------------------------------------------------


class SchemaError(ValueError):
    """The JSON schema in the request cannot be satisfied or is malformed."""


#: Bounds of a generated JSON value: a schema asking for more is a 400.
MAX_ARRAY_ITEMS = 100  # minItems
MAX_STRING_LENGTH = 10_000  # minLength
MAX_JSON_NODES = 10_000  # values in one answer
MAX_JSON_CHARS = 200_000  # characters of string values in one answer


@dataclass
class _Budget:
    nodes: int = MAX_JSON_NODES
    chars: int = MAX_JSON_CHARS

    def spend(self, where: str, *, nodes: int = 1, chars: int = 0) -> None:
        self.nodes -= nodes
        self.chars -= chars
        if self.nodes < 0 or self.chars < 0:
            raise SchemaError(
                f"In context={where}: the schema asks for a value larger than the local provider "
                f"generates (at most {MAX_JSON_NODES} values and {MAX_JSON_CHARS} characters "
                "of strings); lower minItems or minLength."
            )


def generate_json(schema: dict[str, Any] | None, prompt: str, seed: int = 0) -> str:
    """Valid JSON text: a value matching ``schema``, or a generic object if None.

    Supports the subset structured outputs use: object (properties, required),
    array (items, minItems, maxItems), string (enum, format, maxLength),
    number, integer (minimum, maximum), boolean, null, enum, const,
    anyOf/oneOf (first branch), type lists and ``$ref`` to ``#/$defs/...``.
    A keyword of the wrong type, a bound that is not a finite number, or a
    value bigger than the ``MAX_*`` bounds above raise SchemaError naming
    where in the schema it is.
    """
    rng = rng_for(prompt, seed)
    topic = pick_topic(prompt) or DEFAULT_TOPICS[rng.randrange(len(DEFAULT_TOPICS))]
    if schema is None:  # json_object mode: any object is fine, make it useful
        sentences = list(CORPUS[topic][1])
        rng.shuffle(sentences)
        value: Any = {"topic": topic, "summary": sentences[0], "points": sentences[1:4]}
    else:
        value = _value(schema, schema, rng, topic, "value", 0, "schema", _Budget())
    return json.dumps(value, ensure_ascii=False)


def _resolve(node: dict[str, Any], root: dict[str, Any], where: str = "schema") -> dict[str, Any]:
    for _ in range(32):  # a chain of refs to refs; a cycle of them ends here
        ref = node.get("$ref")
        if ref is None:
            return node
        if not isinstance(ref, str) or not ref.startswith("#/"):
            raise SchemaError(
                f"In context={where}: unsupported $ref {ref!r}: only local refs like "
                "'#/$defs/Name' work"
            )
        target: Any = root
        for part in ref[2:].split("/"):
            if not isinstance(target, dict) or part not in target:
                raise SchemaError(f"In context={where}: $ref {ref!r} points nowhere in the schema")
            target = target[part]
        if not isinstance(target, dict):
            raise SchemaError(f"In context={where}: $ref {ref!r} must point to a schema object")
        node = target
    raise SchemaError(f"In context={where}: $ref chain too long (a cycle of refs?)")


def _keyword(node: dict[str, Any], key: str, kinds: tuple[type, ...], where: str) -> Any:
    """``node[key]`` if it has one of ``kinds`` (never a bool for a number), else SchemaError."""
    value = node.get(key)
    ok = isinstance(value, kinds) and (bool in kinds or not isinstance(value, bool))
    if value is not None and (not ok or (isinstance(value, float) and not math.isfinite(value))):
        want = {
            (int,): "a non-negative integer",
            (int, float): "a finite number",
            (list,): "an array",
            (dict,): "an object",
            (str,): "a string",
            (dict, bool): "a schema object",
            (str, list): "a type name or an array of them",
        }.get(kinds, "/".join(k.__name__ for k in kinds))
        raise SchemaError(
            f"In context={where}, '{key}' must be {want}, got {json.dumps(value)[:40]}"
        )
    if isinstance(value, int) and kinds == (int,) and value < 0:
        raise SchemaError(
            f"In context={where}, '{key}' must be a non-negative integer, got {value}"
        )
    return value


def _count_keyword(node: dict[str, Any], key: str, default: int, cap: int, where: str) -> int:
    value = _keyword(node, key, (int,), where)
    if value is None:
        return default
    if key.startswith("min") and value > cap:
        raise SchemaError(
            f"In context={where}, '{key}' is {value}: the local provider generates at most {cap}"
        )
    return value


def _value(
    node: Any,
    root: dict[str, Any],
    rng: random.Random,
    topic: str,
    name: str,
    depth: int,
    where: str,
    budget: _Budget,
) -> Any:
    if depth > 12:
        raise SchemaError(
            f"In context={where}: schema nests deeper than 12 levels (recursive $ref?)"
        )
    budget.spend(where)
    if node is True or node == {}:
        return _string(rng, topic, name, {}, budget, where)
    if not isinstance(node, dict):
        raise SchemaError(
            f"In context={where}: schema for {name!r} must be an object, got {type(node).__name__}"
        )
    node = _resolve(node, root, where)
    if "const" in node:
        return node["const"]
    if "enum" in node:
        choices = node["enum"]
        if not isinstance(choices, list) or not choices:
            raise SchemaError(f"In context={where}: enum for {name!r} must be a non-empty list")
        return choices[rng.randrange(len(choices))]
    for key in ("anyOf", "oneOf", "allOf"):
        if key in node:
            options = _keyword(node, key, (list,), where)
            if not options or not all(isinstance(b, (dict, bool)) for b in options):
                raise SchemaError(
                    f"In context={where}, '{key}' must be a non-empty array of schemas"
                )
            # The first branch that is not just null: a model fills optional fields in.
            branches = [
                b
                for b in options
                if not (isinstance(b, dict) and _resolve(b, root, where).get("type") == "null")
            ] or options
            return _value(branches[0], root, rng, topic, name, depth + 1, f"{where}.{key}", budget)
    kind = _keyword(node, "type", (str, list), where)
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    if kind is None:
        kind = "object" if "properties" in node else "array" if "items" in node else "string"
    if kind == "object":
        props = _keyword(node, "properties", (dict,), where) or {}
        required = _keyword(node, "required", (list,), where)
        required = list(props) if required is None else required
        if not all(isinstance(r, str) for r in required):
            raise SchemaError(f"In context={where}, 'required' must be an array of property names")
        missing = [r for r in required if r not in props]
        if missing:
            raise SchemaError(
                f"In context={where}: {name!r} requires {missing} but does not define them in properties"
            )
        return {
            k: _value(v, root, rng, topic, k, depth + 1, f"{where}.properties.{k}", budget)
            for k, v in props.items()
        }
    if kind == "array":
        lo = _count_keyword(node, "minItems", 2, MAX_ARRAY_ITEMS, where)
        hi = _count_keyword(node, "maxItems", max(lo, 3), MAX_ARRAY_ITEMS, where)
        if hi < lo:
            raise SchemaError(f"In context={where}: {name!r}: maxItems {hi} < minItems {lo}")
        n = rng.randint(lo, min(hi, lo + 3))
        item = _keyword(node, "items", (dict, bool), where)
        item = {"type": "string"} if item is None else item
        singular = name[:-1] if name.endswith("s") else name
        return [
            _value(item, root, rng, topic, singular, depth + 1, f"{where}.items", budget)
            for _ in range(n)
        ]
    if kind == "string":
        return _string(rng, topic, name, node, budget, where)
    if kind == "integer":
        lo = _bound(node, "minimum", "exclusiveMinimum", 1, +1, where)
        hi = _bound(node, "maximum", "exclusiveMaximum", lo + 99, -1, where)
        if hi < lo:
            raise SchemaError(f"In context={where}: {name!r}: no integer between {lo} and {hi}")
        return rng.randint(lo, hi)
    if kind == "number":
        lo = _keyword(node, "minimum", (int, float), where)
        lo = 0.0 if lo is None else float(lo)
        hi = _keyword(node, "maximum", (int, float), where)
        hi = lo + 100.0 if hi is None else float(hi)
        value = round(rng.uniform(lo, hi), 2)
        if not math.isfinite(value):
            raise SchemaError(
                f"In context={where}: {name!r}: no finite number between {lo} and {hi}"
            )
        return value
    if kind == "boolean":
        return rng.random() < 0.5
    if kind == "null":
        return None
    raise SchemaError(f"In context={where}: unsupported type {kind!r} for {name!r}")


_PEOPLE = (
    "Ada Lovelace",
    "Grace Hopper",
    "Alan Turing",
    "Katherine Johnson",
    "Barbara Liskov",
    "Margaret Hamilton",
    "Dennis Ritchie",
    "Radia Perlman",
    "Tim Berners-Lee",
    "Frances Allen",
)


def _bound(
    node: dict[str, Any], inclusive: str, exclusive: str, default: int, step: int, where: str
) -> int:
    if inclusive in node:
        v = _keyword(node, inclusive, (int, float), where)
        return math.ceil(v) if step > 0 else math.floor(v)
    if exclusive in node:
        v = _keyword(node, exclusive, (int, float), where)
        return math.floor(v) + 1 if step > 0 else math.ceil(v) - 1
    return default


def _string(
    rng: random.Random,
    topic: str,
    name: str,
    node: dict[str, Any],
    budget: _Budget | None = None,
    where: str = "schema",
) -> str:
    fmt = node.get("format")
    lname = "" if fmt else name.lower()  # a format wins over what the name suggests
    if fmt == "date" or lname.endswith("date"):
        s = f"2026-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
    elif fmt == "date-time":
        s = f"2026-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}T{rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}:00Z"
    elif fmt == "email" or "email" in lname:
        s = f"{rng.choice(['ada', 'grace', 'alan', 'linus', 'barbara'])}@example.com"
    elif fmt in ("uri", "url") or lname in ("url", "uri", "link", "website"):
        s = f"https://example.com/{topic}/{rng.randint(1, 999)}"
    elif fmt == "uuid" or lname in ("id", "uuid"):
        s = (
            f"{rng.getrandbits(32):08x}-{rng.getrandbits(16):04x}-4{rng.getrandbits(12):03x}-"
            f"a{rng.getrandbits(12):03x}-{rng.getrandbits(48):012x}"
        )
    else:
        if lname in ("name", "author", "person", "owner", "user", "username") or lname.endswith(
            "name"
        ):
            s = rng.choice(_PEOPLE)
        elif lname in ("title", "label", "heading", "headline", "subject", "topic"):
            s = " ".join(
                w.capitalize() for w in rng.choice(CORPUS[topic][1]).rstrip(".!").split()[:4]
            )
        elif lname in ("word", "keyword", "tag", "category", "tags", "keywords"):
            s = rng.choice(_topic_words(topic))
        else:
            s = rng.choice(CORPUS[topic][1])
    max_len = _keyword(node, "maxLength", (int,), where)
    if max_len is not None and len(s) > max_len:
        s = s[:max_len]
    min_len = _count_keyword(node, "minLength", 0, MAX_STRING_LENGTH, where)
    if len(s) < min_len:
        s = s + "x" * (min_len - len(s))
    if budget is not None:
        budget.spend(where, nodes=0, chars=len(s))  # the value itself was counted by _value
    return s


def iter_tokens(text: str) -> Iterator[str]:
    """The token-sized deltas of ``text``, in order."""
    yield from tokenize(text)
