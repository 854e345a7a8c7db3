"""LangChain's ChatOpenAI (Chat Completions and Responses) and ChatAnthropic against the local provider.

Run by tests/test_provider_frameworks.py in the frameworks venv:
``python langchain_roundtrip.py BASE_URL``; prints one JSON line. Each model
runs a streamed tool loop by hand: stream, add the chunks up, run the tool
calls, send the results, stream again.
"""

import json
import sys

from langchain_anthropic import ChatAnthropic
from langchain_core.messages import HumanMessage, ToolMessage
from langchain_core.tools import tool
from langchain_openai import ChatOpenAI


@tool
def get_weather(city: str) -> str:
    """Get the current weather for a city."""
    return f"Sunny and 21 C in {city}"


def loop(model) -> dict:
    llm = model.bind_tools([get_weather])
    messages = [HumanMessage("What is the weather in Lisbon?")]
    calls, chunks = [], 0
    for _ in range(3):
        full = None
        for chunk in llm.stream(messages):
            full = chunk if full is None else full + chunk
            chunks += 1
        messages.append(full)
        if not full.tool_calls:
            break
        for call in full.tool_calls:
            calls.append([call["name"], call["args"]])
            messages.append(ToolMessage(get_weather.invoke(call["args"]), tool_call_id=call["id"]))
    return {"calls": calls, "final": str(full.text), "chunks": chunks}


base = sys.argv[1]
models = {
    "chat": ChatOpenAI(model="gpt-4o-mini", base_url=base + "/v1", api_key="local"),
    "responses": ChatOpenAI(
        model="gpt-4o-mini", base_url=base + "/v1", api_key="local", use_responses_api=True
    ),
    "messages": ChatAnthropic(model="claude-sonnet-4-5", base_url=base, api_key="local"),
}
print(json.dumps({name: loop(model) for name, model in models.items()}))
