"""pydantic-ai against the local provider: a tool plus a structured ``output_type``.

Run by tests/test_provider_frameworks.py in the frameworks venv:
``python pydantic_ai_roundtrip.py BASE_URL``; prints one JSON line.
"""

import asyncio
import json
import sys

from pydantic import BaseModel
from pydantic_ai import Agent
from pydantic_ai.models.openai import OpenAIChatModel
from pydantic_ai.providers.openai import OpenAIProvider


class Weather(BaseModel):
    city: str
    summary: str


calls = []


async def main(base_url: str) -> None:
    provider = OpenAIProvider(base_url=base_url + "/v1", api_key="local")
    agent = Agent(OpenAIChatModel("streamlab-local", provider=provider), output_type=Weather)

    @agent.tool_plain
    def get_weather(city: str) -> str:
        """Get the current weather for a city."""
        calls.append(city)
        return f"Sunny and 21 C in {city}"

    async with agent.run_stream("What is the weather in Lisbon?") as run:
        output = await run.get_output()
        messages = run.all_messages()
    tools = [
        p.tool_name for m in messages for p in m.parts if getattr(p, "part_kind", "") == "tool-call"
    ]
    print(json.dumps({"output": output.model_dump(), "calls": calls, "tool_calls": tools}))


asyncio.run(main(sys.argv[1]))
