// Read a relay's UI message stream with the AI SDK's own client code, as useChat does:
// DefaultChatTransport POSTs the chat, parses the SSE (parseJsonEventStream with the
// SDK's chunk schema) and readUIMessageStream assembles the assistant message.
// Usage: node read_ui_stream.mjs URL PROMPT  -> prints {"message", "types"} as JSON.
import { DefaultChatTransport, readUIMessageStream } from "ai";

const [url, prompt] = process.argv.slice(2);
const transport = new DefaultChatTransport({ api: url });
const chunks = await transport.sendMessages({
  chatId: "chat-1",
  trigger: "submit-message",
  messageId: undefined,
  abortSignal: undefined,
  messages: [{ id: "user-1", role: "user", parts: [{ type: "text", text: prompt }] }],
});
const [forReader, forTypes] = chunks.tee();
const types = [];
const counting = (async () => {
  for await (const chunk of forTypes) types.push(chunk.type);
})();
let message = null;
for await (const m of readUIMessageStream({ stream: forReader, terminateOnError: true })) {
  message = m;
}
await counting;
console.log(JSON.stringify({ message, types }));
