"""LiteLLM's streamed completion against the local provider, as OpenAI and as Anthropic.

Run by tests/test_provider_frameworks.py in the frameworks venv:
``python litellm_roundtrip.py BASE_URL``; prints one JSON line. Each route
streams a tool call, rebuilds it with ``stream_chunk_builder``, sends the
result and streams the answer.
"""

import json
import os
import sys

# Offline: the bundled model price list, not the copy LiteLLM fetches at import.
os.environ["LITELLM_LOCAL_MODEL_COST_MAP"] = "True"

import litellm  # noqa: E402

TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "get_weather",
            "description": "Get the current weather for a city.",
            "parameters": {
                "type": "object",
                "properties": {"city": {"type": "string"}},
                "required": ["city"],
            },
        },
    }
]


def loop(model: str, api_base: str) -> dict:
    messages = [{"role": "user", "content": "What is the weather in Lisbon?"}]
    calls, finishes = [], []
    for _ in range(3):
        chunks = list(
            litellm.completion(
                model=model,
                api_base=api_base,
                api_key="local",
                messages=messages,
                tools=TOOLS,
                max_tokens=1024,
                stream=True,
            )
        )
        full = litellm.stream_chunk_builder(chunks, messages=messages)
        choice = full.choices[0]
        finishes.append(choice.finish_reason)
        message = choice.message
        messages.append(message.model_dump())
        if not message.tool_calls:
            break
        for call in message.tool_calls:
            args = json.loads(call.function.arguments)
            calls.append([call.function.name, args])
            messages.append(
                {
                    "role": "tool",
                    "tool_call_id": call.id,
                    "content": f"Sunny and 21 C in {args['city']}",
                }
            )
    return {"calls": calls, "finishes": finishes, "final": message.content, "chunks": len(chunks)}


base = sys.argv[1]
print(
    json.dumps(
        {
            "openai": loop("openai/gpt-4o-mini", base + "/v1"),
            "anthropic": loop("anthropic/claude-sonnet-4-5", base),
        }
    )
)
