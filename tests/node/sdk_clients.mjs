// Real Node clients against the local provider: the openai and @anthropic-ai/sdk
// packages (their stream helpers), and the AI SDK's OpenAI and Anthropic
// providers (which check every event against zod schemas). Prints one JSON
// line: what each client assembled, for the Python test to judge.
//
// usage: node sdk_clients.mjs <base-url>
import OpenAI from "openai";
import Anthropic from "@anthropic-ai/sdk";
import { streamText, tool, stepCountIs } from "ai";
import { createOpenAI } from "@ai-sdk/openai";
import { createAnthropic } from "@ai-sdk/anthropic";
import { z } from "zod";

const base = process.argv[2];
const key = "sk-local";
const MODEL = "gpt-4o-mini";
// Reasoning needs a model that reasons: the local provider refuses it on gpt-4o-mini, as the real API does.
const REASONER = "gpt-5-mini";
const CLAUDE = "claude-sonnet-4-5";
const weatherSchema = {
  type: "object",
  properties: { city: { type: "string" } },
  required: ["city"],
  additionalProperties: false,
};
const out = {};

const openai = new OpenAI({ apiKey: key, baseURL: `${base}/v1`, maxRetries: 0 });
const anthropic = new Anthropic({ apiKey: key, baseURL: base, maxRetries: 0 });

// openai: Responses, text then a tool call, with reasoning summaries.
{
  const s = openai.responses.stream({ model: MODEL, input: "Tell me about the ocean." });
  let deltas = "";
  s.on("response.output_text.delta", (e) => (deltas += e.delta));
  const final = await s.finalResponse();
  out.responses_text = { deltas, output_text: final.output_text, status: final.status };
}
{
  const s = openai.responses.stream({
    model: REASONER,
    input: "What is the weather in Paris?",
    tools: [{ type: "function", name: "get_weather", parameters: weatherSchema, strict: true }],
    reasoning: { effort: "low", summary: "auto" },
  });
  let args = "";
  let summary = "";
  s.on("response.function_call_arguments.delta", (e) => (args += e.delta));
  s.on("response.reasoning_summary_text.delta", (e) => (summary += e.delta));
  const final = await s.finalResponse();
  const call = final.output.find((item) => item.type === "function_call");
  out.responses_tool = {
    args,
    summary,
    call: call && { name: call.name, arguments: call.arguments, call_id: call.call_id },
    kinds: final.output.map((item) => item.type),
    reasoning_tokens: final.usage?.output_tokens_details?.reasoning_tokens,
  };
}

// openai: Chat Completions, the stream helper's accumulated tool calls.
{
  const s = openai.chat.completions.stream({
    model: MODEL,
    messages: [{ role: "user", content: "What is the weather in Paris?" }],
    tools: [{ type: "function", function: { name: "get_weather", parameters: weatherSchema } }],
    stream_options: { include_usage: true },
  });
  const final = await s.finalChatCompletion();
  const choice = final.choices[0];
  out.chat_tool = {
    finish_reason: choice.finish_reason,
    calls: (choice.message.tool_calls || []).map((c) => ({
      id: c.id,
      name: c.function.name,
      arguments: c.function.arguments,
    })),
    usage: final.usage?.total_tokens,
  };
}

// anthropic: Messages, thinking then a tool_use block.
{
  const s = anthropic.messages.stream({
    model: CLAUDE,
    max_tokens: 2048,
    thinking: { type: "enabled", budget_tokens: 1024 },
    tools: [{ name: "get_weather", input_schema: weatherSchema }],
    messages: [{ role: "user", content: "What is the weather in Paris?" }],
  });
  let thinking = "";
  s.on("thinking", (delta) => (thinking += delta));
  const final = await s.finalMessage();
  out.messages_tool = {
    thinking,
    stop_reason: final.stop_reason,
    blocks: final.content.map((b) => b.type),
    input: final.content.find((b) => b.type === "tool_use")?.input,
    signature: final.content.find((b) => b.type === "thinking")?.signature?.length > 0,
  };
}

// The AI SDK: a two-step agent loop (tool call, then the answer using its result).
async function agent(model) {
  const result = streamText({
    model,
    prompt: "What is the weather in Paris?",
    tools: {
      get_weather: tool({
        description: "Get the weather for a city",
        inputSchema: z.object({ city: z.string() }),
        execute: async ({ city }) => ({ city, forecast: "sunny, 21 degrees" }),
      }),
    },
    stopWhen: stepCountIs(3),
  });
  const parts = [];
  for await (const part of result.fullStream) {
    if (part.type === "error") throw part.error;
    parts.push(part.type);
  }
  const steps = await result.steps;
  return {
    text: await result.text,
    steps: steps.map((s) => ({ finish: s.finishReason, calls: s.toolCalls.map((c) => c.toolName) })),
    parts: [...new Set(parts)],
  };
}
const aiOpenAI = createOpenAI({ apiKey: key, baseURL: `${base}/v1` });
const aiAnthropic = createAnthropic({ apiKey: key, baseURL: `${base}/v1` });
out.ai_responses = await agent(aiOpenAI.responses(MODEL));
out.ai_chat = await agent(aiOpenAI.chat(MODEL));
out.ai_messages = await agent(aiAnthropic(CLAUDE));

console.log(JSON.stringify(out));
