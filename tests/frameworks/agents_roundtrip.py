"""openai-agents against the local provider: Runner.run_streamed with a function tool.

Run by tests/test_provider_frameworks.py in the frameworks venv:
``python agents_roundtrip.py BASE_URL``; prints one JSON line.
"""

import asyncio
import json
import sys

from agents import Agent, OpenAIResponsesModel, Runner, function_tool, set_tracing_disabled
from openai import AsyncOpenAI

calls = []


@function_tool
def get_weather(city: str) -> str:
    """Get the current weather for a city."""
    calls.append(city)
    return f"Sunny and 21 C in {city}"


async def main(base_url: str) -> None:
    set_tracing_disabled(True)
    async with AsyncOpenAI(base_url=base_url + "/v1", api_key="local", max_retries=0) as client:
        agent = Agent(
            name="weather",
            instructions="Answer briefly.",
            tools=[get_weather],
            model=OpenAIResponsesModel(model="streamlab-local", openai_client=client),
        )
        result = Runner.run_streamed(agent, "What is the weather in Lisbon?")
        items, deltas = [], 0
        async for event in result.stream_events():
            if event.type == "run_item_stream_event":
                items.append(event.item.type)
            elif event.type == "raw_response_event" and event.data.type.endswith(".delta"):
                deltas += 1
    print(
        json.dumps({"final": result.final_output, "items": items, "calls": calls, "deltas": deltas})
    )


asyncio.run(main(sys.argv[1]))
