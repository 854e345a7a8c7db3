"""JSON output: valid JSON matching the requested schema, streamed as text deltas."""

from __future__ import annotations

import json

import pytest
from pydantic import BaseModel

from streamlab.provider.generation import generate_json

SCHEMA = {
    "type": "object",
    "properties": {
        "title": {"type": "string", "maxLength": 40},
        "rating": {"type": "integer", "minimum": 1, "maximum": 5},
        "price": {"type": "number", "minimum": 0, "maximum": 10},
        "in_stock": {"type": "boolean"},
        "mood": {"type": "string", "enum": ["happy", "sad", "curious"]},
        "tags": {"type": "array", "items": {"type": "string"}, "minItems": 1, "maxItems": 4},
        "origin": {
            "type": "object",
            "properties": {"country": {"type": "string"}, "year": {"type": "integer"}},
            "required": ["country", "year"],
            "additionalProperties": False,
        },
        "note": {"type": ["string", "null"]},
    },
    "required": ["title", "rating", "price", "in_stock", "mood", "tags", "origin", "note"],
    "additionalProperties": False,
}


def check(value, schema=SCHEMA):
    """A small validator for the subset used here (no jsonschema dependency)."""
    kind = schema.get("type")
    if "enum" in schema:
        assert value in schema["enum"]
    if isinstance(kind, list):
        assert value is None or check(value, {**schema, "type": kind[0]}) is None
        return
    if kind == "object":
        assert isinstance(value, dict)
        assert set(schema.get("required", [])) <= set(value)
        assert set(value) <= set(schema["properties"])
        for k, v in value.items():
            check(v, schema["properties"][k])
    elif kind == "array":
        assert isinstance(value, list)
        assert schema.get("minItems", 0) <= len(value) <= schema.get("maxItems", 10**9)
        for item in value:
            check(item, schema["items"])
    elif kind == "string":
        assert isinstance(value, str) and len(value) <= schema.get("maxLength", 10**9)
    elif kind == "integer":
        assert isinstance(value, int) and not isinstance(value, bool)
        assert schema.get("minimum", -(10**9)) <= value <= schema.get("maximum", 10**9)
    elif kind == "number":
        assert isinstance(value, (int, float)) and schema.get(
            "minimum", -1e18
        ) <= value <= schema.get("maximum", 1e18)
    elif kind == "boolean":
        assert isinstance(value, bool)


@pytest.mark.parametrize("seed", range(20))
def test_generated_json_matches_schema_for_many_seeds(seed):
    check(json.loads(generate_json(SCHEMA, "a product", seed)))


def test_responses_json_schema_streamed(local_server):
    client = local_server.openai(max_retries=0)
    fmt = {"format": {"type": "json_schema", "name": "product", "schema": SCHEMA, "strict": True}}
    full = client.responses.create(model="m", input="Describe a coffee", text=fmt)
    events = list(
        client.responses.create(model="m", input="Describe a coffee", text=fmt, stream=True)
    )
    deltas = [e.delta for e in events if e.type == "response.output_text.delta"]
    assert len(deltas) > 10, "JSON arrives in many token-sized pieces"
    assert "".join(deltas) == full.output_text
    check(json.loads(full.output_text))


def test_responses_parse_with_pydantic(local_server):
    class Origin(BaseModel):
        country: str
        year: int

    class Review(BaseModel):
        title: str
        stars: int
        origin: Origin
        tags: list[str]
        recommended: bool

    client = local_server.openai(max_retries=0)
    parsed = client.responses.parse(
        model="m", input="Review a café", text_format=Review
    ).output_parsed
    assert isinstance(parsed, Review) and isinstance(parsed.origin, Origin)
    with client.responses.stream(model="m", input="Review a café", text_format=Review) as stream:
        for _ in stream:
            pass
        assert stream.get_final_response().output_parsed == parsed


def test_chat_json_object_and_schema(local_server):
    client = local_server.openai(max_retries=0)
    msgs = [{"role": "user", "content": "Give me JSON about space"}]
    obj = client.chat.completions.create(
        model="m", messages=msgs, response_format={"type": "json_object"}
    )
    assert isinstance(json.loads(obj.choices[0].message.content), dict)
    fmt = {"type": "json_schema", "json_schema": {"name": "p", "schema": SCHEMA, "strict": True}}
    chunks = client.chat.completions.create(
        model="m", messages=msgs, response_format=fmt, stream=True
    )
    check(json.loads("".join(c.choices[0].delta.content or "" for c in chunks if c.choices)))


def test_anthropic_output_config_json(local_server):
    client = local_server.anthropic(max_retries=0)
    m = client.messages.create(
        model="m",
        max_tokens=1024,
        messages=[{"role": "user", "content": "JSON please"}],
        output_config={"format": {"type": "json_schema", "schema": SCHEMA}},
    )
    check(json.loads(m.content[0].text))


def test_refs_anyof_and_bad_schema(local_server):
    import openai

    schema = {
        "type": "object",
        "$defs": {
            "P": {"type": "object", "properties": {"x": {"type": "integer"}}, "required": ["x"]}
        },
        "properties": {
            "p": {"$ref": "#/$defs/P"},
            "q": {"anyOf": [{"type": "null"}, {"type": "boolean"}]},
        },
        "required": ["p", "q"],
    }
    value = json.loads(generate_json(schema, "x", 0))
    assert isinstance(value["p"]["x"], int) and isinstance(value["q"], bool)
    bad = {"type": "object", "properties": {}, "required": ["missing"]}
    with pytest.raises(openai.BadRequestError, match="missing"):
        local_server.openai(max_retries=0).responses.create(
            model="m",
            input="x",
            text={"format": {"type": "json_schema", "name": "b", "schema": bad}},
        )


def _grid(rows: int, columns: int) -> dict:
    row = {"type": "array", "items": {"type": "string", "maxLength": 8}, "minItems": columns}
    return {"type": "array", "items": {**row, "maxItems": columns}, "minItems": rows}


def test_an_answer_may_have_exactly_max_json_nodes_values():
    # 1 outer array + 100 rows + 100 x 98 strings = 9,901 values; 100 x 99 = 10,001.
    # A string used to count twice, so the first was refused as well.
    from streamlab.provider.generation import MAX_JSON_NODES, SchemaError

    fits = json.loads(generate_json({**_grid(100, 98), "maxItems": 100}, "x"))
    assert 1 + len(fits) + sum(map(len, fits)) == 9_901 <= MAX_JSON_NODES
    with pytest.raises(SchemaError, match=f"at most {MAX_JSON_NODES} values"):
        generate_json({**_grid(100, 99), "maxItems": 100}, "x")
