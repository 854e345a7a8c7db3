"""A long prompt is read at its start and end only (``generation.gist``).

Each look at a prompt is one regex or string call in C that holds the GIL,
so on a 4 MiB prompt the server's event loop stopped for 100-500 ms per
look, even when planning ran in a worker thread. The simulated model now
reads the first and last 16 KiB of a longer prompt: the question a long
prompt asks is at one of its ends. These tests pin that behaviour (they
fail if a look at the whole prompt comes back), through the real SDK.
"""

from __future__ import annotations

import pytest

from streamlab.provider.generation import READ_CHARS, gist, pick_topic, requested_sentences, rng_for
from streamlab.provider.prompted import prompted_schema

PAD = "zzz " * (2 * READ_CHARS)  # filler with no keyword, longer than what is read
TOOLS = [
    {
        "type": "function",
        "name": "get_weather",
        "description": "Current weather for a city",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}},
            "required": ["city"],
        },
    }
]


def test_gist_keeps_short_texts_and_both_ends_of_long_ones():
    short = "x" * READ_CHARS
    assert gist(short) is short
    long = "A" * READ_CHARS + "middle" + "B" * READ_CHARS
    read = gist(long)
    assert len(read) == READ_CHARS + 1 and "middle" not in read
    assert read.startswith("A" * (READ_CHARS // 2)) and read.endswith("B" * (READ_CHARS // 2))


@pytest.mark.parametrize("where", ["start", "middle", "end"])
def test_topic_and_length_words_count_only_at_the_ends(where):
    ask = " Tell me briefly about the ocean. "
    prompt = {"start": ask + PAD + PAD, "middle": PAD + ask + PAD, "end": PAD + PAD + ask}[where]
    rng = rng_for(prompt, 0)
    if where == "middle":
        assert pick_topic(prompt) is None
        assert requested_sentences(prompt, rng) in range(4, 7)
    else:
        assert pick_topic(prompt) == "ocean"
        assert requested_sentences(prompt, rng) == 2


def test_a_schema_in_long_instructions_is_found_at_the_start():
    schema = '{"type": "object", "properties": {"answer": {"type": "string"}}}'
    assert prompted_schema("Reply with JSON: " + schema + PAD + PAD) is not None
    assert prompted_schema(PAD + schema + PAD) is None


@pytest.mark.parametrize("where, called", [("middle", False), ("end", True)])
def test_a_tool_named_only_in_the_middle_is_not_called(local_server, where, called):
    ask = " What is the weather in Lisbon? "
    prompt = PAD + ask + PAD if where == "middle" else PAD + PAD + ask
    client = local_server.openai(max_retries=0)
    with client.responses.stream(model="m", input=prompt, tools=TOOLS) as stream:
        final = stream.get_final_response()
    calls = [o for o in final.output if o.type == "function_call"]
    assert bool(calls) is called
    assert final.usage.input_tokens > READ_CHARS // 8, "usage still counts the whole prompt"
