"""instructor against the local provider: TOOLS mode (streamed partials too) and JSON mode.

Run by tests/test_provider_frameworks.py in its venv:
``python instructor_tools.py BASE_URL``; prints one JSON line.
"""

import json
import sys

import instructor
from openai import OpenAI
from pydantic import BaseModel


class CityFact(BaseModel):
    city: str
    population: int


base_url = sys.argv[1]
ask = [{"role": "user", "content": "Extract: Lisbon has about 545000 people."}]
raw = OpenAI(base_url=base_url + "/v1", api_key="local", max_retries=0)
tools = instructor.from_openai(raw, mode=instructor.Mode.TOOLS)
fact = tools.chat.completions.create(model="streamlab-local", response_model=CityFact, messages=ask)
partial = [
    p.model_dump()
    for p in tools.chat.completions.create_partial(
        model="streamlab-local", response_model=CityFact, messages=ask
    )
]
as_json = instructor.from_openai(raw, mode=instructor.Mode.JSON)
fact_json = as_json.chat.completions.create(
    model="streamlab-local", response_model=CityFact, messages=ask
)
print(json.dumps({"tools": fact.model_dump(), "partial": partial, "json": fact_json.model_dump()}))
