"""The local simulated provider, and the switch to a real one.

A real HTTP server that streams exactly like OpenAI and Anthropic, so every
lesson runs offline with the real ``openai`` and ``anthropic`` SDKs, unchanged.
Answers are readable English from a small built-in corpus, deterministic for
a (prompt, seed): the same request gives the same text streamed or not, on
all three APIs.

Running it
==========

In a notebook::

    import streamlab
    server = streamlab.serve()            # background thread, free port
    client = server.openai()              # openai.OpenAI pointed at it
    server.base_url, server.openai_base_url
    server.stop()                         # or: with streamlab.serve() as server: ...

    provider = streamlab.get_provider()   # what the notebooks use (see below)
    client = provider.openai(); model = provider.model

From a shell: ``streamlab serve [--host 127.0.0.1] [--port 8765] [--ttft-ms 300]
[--tokens-per-second 30] [--jitter-ms 15] [--seed 0] [--fast] [--api-key KEY]``.

As an ASGI app (tests): ``create_app(ttft_ms=0, tokens_per_second=0, jitter_ms=0)``.

``serve(host="127.0.0.1", port=0, *, ttft_ms=300, tokens_per_second=30,
jitter_ms=15, seed=0, api_key=None) -> LocalServer``. ``LocalServer`` has
``base_url`` ("http://127.0.0.1:PORT", for Anthropic), ``openai_base_url``
(base_url + "/v1"), ``openai(**kw)``, ``async_openai(**kw)``,
``anthropic(**kw)``, ``async_anthropic(**kw)`` (real SDK clients with a dummy
key), ``stats`` (``active_generations`` is 0 when nothing streams), ``stop()``
and is a context manager.

Endpoints
=========

``POST /v1/responses``          OpenAI Responses API, ``stream`` true or false.
    Events (text answer; reasoning items and function calls: see below):
    response.created, response.in_progress, response.output_item.added,
    response.content_part.added, response.output_text.delta (one per token),
    response.output_text.done, response.content_part.done,
    response.output_item.done, response.completed; every event has
    ``sequence_number`` from 0 and an ``event:`` line. When
    ``max_output_tokens`` cuts the answer the last event is
    ``response.incomplete`` (status "incomplete", incomplete_details.reason
    "max_output_tokens"), as with the real API. The Response object has
    every field the real API sends (2026): it echoes the request's
    ``tools``, ``tool_choice``, ``parallel_tool_calls``, ``reasoning``,
    ``text``, ``temperature``, ``top_p``, ``top_logprobs`` (0),
    ``frequency_penalty`` / ``presence_penalty`` (0.0), ``prompt_cache_key``,
    ``prompt_cache_retention`` ("24h"), ``safety_identifier``, ``user``,
    ``truncation``, ``store`` and ``metadata``, with ``moderation: null``;
    ``service_tier`` is the requested tier ("auto" when none) in
    ``response.created`` / ``in_progress`` and the resolved one ("default"
    for auto) at the end. Message items of gpt-5.x models carry ``phase:
    "final_answer"``. Every delta event (``output_text``, ``refusal``,
    ``function_call_arguments``, ``reasoning_summary_text``) carries
    ``obfuscation``, random-looking padding of the token (real since August
    2025); ``stream_options={"include_obfuscation": False}`` turns it off.
    ``usage.input_tokens_details.cached_tokens`` counts (see Prompt caching).
    ``openai_responses.plan_response(body, controls)`` makes the events of
    a response (body in, frames out) for any transport (``JSON_ENCODER``
    for bare JSON messages).
``POST /v1/responses/compact``  ``client.responses.compact(model=..., input=[...])``:
    a ``response.compaction`` object whose ``output`` is every user message
    then one ``compaction`` item (opaque ``encrypted_content``), to pass as
    the next request's input. ``model`` is required.
``WS /v1/responses``            the Responses API's WebSocket mode, what the openai
    SDK's ``client.responses.connect()`` (sync and async) opens. Client events:
    ``response.create`` (the POST fields; ``stream_id`` names a lane: one
    response at a time per lane, FIFO, lanes in parallel, events echo it)
    and ``response.steer`` ``{input, previous_response_id}``. A create
    streams the same events as the SSE stream, one JSON text frame each,
    paced the same way. A steer gets ``response.steer.accepted`` (the server
    owns the input); the response ends at the next word boundary with
    ``response.incomplete`` (``incomplete_details.reason: "steered"``) and
    an automatic successor follows: its ``response.created``
    (``previous_response_id`` = the steered response, same settings, the
    queued input as input) is the commit point. ``response.steer.failed``
    returns input it cannot commit (``invalid_input``,
    ``response_not_found``, ``steering_not_supported``,
    ``too_many_pending_steers``, ``response_already_completed``,
    ``successor_creation_failed``); a response that stopped for a
    ``function_call`` gets ``response.steer.pending`` after
    ``response.completed`` and the input waits for the next create naming
    it. ``previous_response_id`` must name a response made on the same
    connection; a ``function_call_output`` whose ``call_id`` that response
    never made is an error, and the response is then forgotten (a retry
    naming it gets ``previous_response_not_found``), as with the real API.
    Bad frames (binary, invalid JSON, NaN/Infinity, unknown
    ``type``, negative or out-of-range numbers, what POST would refuse) get
    an ``error`` event ``{"type": "error", "status": 400, "error": {...}}``
    and the socket stays open. Handshake headers (``connect(extra_headers=
    {...})``) set the controls below for the whole connection; a
    ``drop-after`` fault closes it with code 1011; a wrong key refuses the
    handshake with HTTP 401. Closing the socket cancels its generations.
``POST /v1/chat/completions``   Chat Completions: ``chat.completion.chunk`` per
    token (first carries the role), finish_reason "stop" or "length",
    ``stream_options={"include_usage": True}`` adds a last chunk with
    ``choices: []`` and the usage, then ``data: [DONE]``. Every chunk
    carries ``obfuscation`` (``include_obfuscation: False`` turns it off);
    a ``stream_options`` flag that is not a boolean is a 400. Honours
    ``max_completion_tokens``/``max_tokens`` (an error names the one
    sent), ``stop``, ``seed``.
``POST /v1/messages``           Anthropic Messages: message_start,
    content_block_start, ping, content_block_delta (text_delta) ...,
    content_block_stop, message_delta (stop_reason end_turn / max_tokens /
    stop_sequence, usage), message_stop. Honours ``max_tokens``,
    ``stop_sequences``. ``message_start`` usage: ``input_tokens``,
    ``cache_creation_input_tokens``, ``cache_read_input_tokens``,
    ``cache_creation`` {``ephemeral_5m_input_tokens``,
    ``ephemeral_1h_input_tokens``}, ``output_tokens`` (1), ``service_tier``
    "standard", ``inference_geo`` "not_available". ``message_delta`` usage is
    cumulative: the three input counts again, and the final
    ``output_tokens`` (a client should take the last value of each).
``GET /v1/models``, ``GET /v1/models/{id}``  a model list both SDKs parse.
``GET /streamlab/stats``        counters (JSON): requests, active_generations,
    started, completed, cancelled, dropped, and token lateness p50/p99/max in
    ms (``?reset=1`` clears the lateness samples).

The model name is echoed back; any name works.

JSON output: Responses ``text={"format": {"type": "json_schema", "name": ...,
"schema": {...}}}`` or ``{"type": "json_object"}``; Chat ``response_format``
(same two kinds); Anthropic ``output_config={"format": {"type": "json_schema",
"schema": {...}}}``. The answer is valid JSON matching the schema (object
with properties/required, array with items/minItems/maxItems, string with
enum/format/maxLength, number, integer with minimum/maximum, boolean, null,
enum, const, anyOf, ``$ref`` to ``$defs``), streamed as text deltas, so
``client.responses.parse(text_format=MyModel)`` works. A max-tokens cut
leaves JSON unfinished, exactly like a real model.

Prompted JSON: in ``json_object`` mode (Chat ``response_format``, Responses
``text.format``), and on Anthropic without ``output_config``, a JSON Schema
written in the system prompt / instructions / developer messages is followed
as if it had been sent as ``json_schema`` (pydantic-ai's ``PromptedOutput``
and instructor's JSON mode rely on this).

Tool calls
==========

Function tools: Responses ``tools=[{"type": "function", "name", "description",
"parameters", "strict"}]``, Chat ``tools=[{"type": "function", "function":
{...}}]`` (``openai.pydantic_function_tool(Model)`` works), Anthropic
``tools=[{"name", "description", "input_schema"}]``. Hosted and custom tools
(web_search, code interpreter, ``custom``, ``web_search_20250305`` ...) get a
400 "not supported by the local provider". A bad definition is a 400 that
names the field: ``parameters`` not an object schema (or one the generator
cannot satisfy), a duplicate or malformed name, a ``tool_choice`` naming an
unknown tool, a tool result whose id matches no earlier call.

The rule (deterministic; see ``streamlab.provider.tools``). The *prompt* is
the last user message with text. A tool *matches* when the prompt contains
its name ("get_weather" or "get weather"), a word of four letters or more of
its name ("weather"), or a word of five letters or more of its description
(leaving out common words such as "current" or "value"). A matching tool is
*pending* until it has been called after the prompt.

- ``tool_choice`` "none" (Anthropic ``{"type": "none"}``): never calls.
- "auto" (the default): calls the pending tools, all at once when parallel
  calls are allowed (``parallel_tool_calls``, default true; Anthropic
  ``disable_parallel_tool_use``), else only the first; no pending tool: a
  text answer.
- "required" (Anthropic "any"): as "auto", but with nothing pending calls the
  first tool not yet called after the prompt (else the first tool).
- A named tool (Responses ``{"type": "function", "name"}``, Chat
  ``{"type": "function", "function": {"name"}}``, Anthropic ``{"type":
  "tool", "name"}``): always calls it. Responses/Chat ``allowed_tools`` limits
  the tools first.

Arguments are JSON valid for the tool's schema (the JSON generator above),
streamed as token-sized fragments (``{"``, ``city``, ``":"`` ...), with
plausible values for well-known property names: ``city`` (the city the
prompt names, else a real one), ``location`` ("Lisbon, Portugal"),
``country``, ``query``/``q``/``search`` (the prompt), ``unit`` ("celsius"),
``timezone``, ``language``, ``currency``. Same request, same calls and ids.

- Responses: ``function_call`` output items (``id`` "fc_...", ``call_id``
  "call_...", status in_progress then completed), one ``output_index`` per
  call: ``response.output_item.added`` (arguments ""),
  ``response.function_call_arguments.delta`` ...,
  ``response.function_call_arguments.done``, ``response.output_item.done``.
- Chat: ``delta.tool_calls[i]`` by ``index``; ``id``, ``type`` and
  ``function.name`` only in a call's first fragment (arguments ""; the
  first call's rides on the role chunk), ``content: null``,
  ``finish_reason: "tool_calls"``, but "stop" when ``tool_choice`` names
  the function, as the real API does (``stream_events`` still reports
  the calls, outcome "tool_calls").
- Anthropic: a short text block ("I'll use the get_weather tool to help.",
  left out when ``tool_choice`` forces the call), then per call a
  ``tool_use`` block (``id`` "toolu_...", ``input: {}``, ``caller: {"type":
  "direct"}``) with
  ``input_json_delta`` fragments, the first ``partial_json: ""``;
  ``stop_reason: "tool_use"``.

The next turn closes the loop: results (Responses ``function_call_output``
items, Chat ``role: "tool"`` messages, Anthropic ``tool_result`` blocks)
after the prompt count as calls made, so once every matching tool has been
called the answer is text that quotes each result ("Here is what I found.
The get_weather tool returned: Sunny, 21 C"), or JSON in a JSON mode. Every
agent loop ends, one call per round without parallel calls.

Reasoning
=========

Reasoning comes before the answer and takes simulated time: it fills paced
token slots (``x-streamlab-tokens-per-second``), so the answer's time to
first token grows with the effort; the slots are counted as reasoning tokens.

- Responses ``reasoning={"effort": ..., "summary": ...}``: effort none (no
  reasoning), minimal 8, low 24, medium 48 (default), high 96, xhigh 160
  slots (at least the summary's length). A ``reasoning`` output item at
  index 0; with ``summary`` "auto"/"detailed" two summary parts, "concise"
  one, none: an empty ``summary`` (the item still takes its time). Per part:
  ``response.reasoning_summary_part.added``,
  ``response.reasoning_summary_text.delta`` ..., ``...text.done``,
  ``response.reasoning_summary_part.done``. With
  ``include=["reasoning.encrypted_content"]`` the item has
  ``encrypted_content``, the opaque string, already on
  ``output_item.added`` (as the real API sends it) and on
  ``output_item.done``. ``usage.output_tokens_details.reasoning_tokens``.
  Reasoning items passed back in ``input`` are accepted. Chat
  ``reasoning_effort`` takes the same slots silently
  (``completion_tokens_details.reasoning_tokens``).
- Anthropic ``thinking={"type": "enabled", "budget_tokens": N}`` (N >= 1024
  and < max_tokens) or ``{"type": "adaptive"}``: a ``thinking`` block first
  (48 slots): ``thinking_delta`` fragments, then exactly one
  ``signature_delta`` just before its ``content_block_stop``; ``display:
  "omitted"`` sends the signature only (``thinking: ""``).
  ``usage.output_tokens_details.thinking_tokens``. A later request that
  passes the thinking block back is accepted (one without its
  ``signature`` is a 400); thinking with a forced ``tool_choice`` is a 400,
  as with the real API.

Prompt caching
==============

As with the real APIs, a prompt that starts like an earlier one on the same
server is cheaper, and the usage says so (``streamlab.provider.prompt_cache``:
deterministic, a bounded set of prefix hashes):

- OpenAI, automatic: a prompt whose first 1,024 tokens or more repeat an
  earlier request's reports ``cached_tokens`` (Responses
  ``usage.input_tokens_details``, Chat ``usage.prompt_tokens_details``), in
  steps of 128 tokens; ``input_tokens`` still counts them.
- Anthropic, explicit: the prompt up to a block marked ``cache_control``
  (tools, system, messages, in that order; ``{"type": "ephemeral", "ttl":
  "1h"}`` or 5 minutes) is written on first use
  (``cache_creation_input_tokens``) and read by a later request with the
  same prefix (``cache_read_input_tokens``); ``input_tokens`` is only what
  follows the last breakpoint. Below the model's minimum (1,024 tokens;
  4,096 for Haiku 4.5 / Opus 4.5) nothing is cached.

Open Responses departures
=========================

The provider passes the Open Responses compliance checks
(``tests/test_open_responses.py``) except where that specification
deliberately departs from OpenAI's API; there it follows OpenAI:

- Responses streams end with the terminal event: no ``data: [DONE]`` (the
  specification requires one; OpenAI sends none).
- A mid-stream ``error`` event is flat (``code``, ``message``, ``param``),
  as OpenAI sends it and the SDK's ``ResponseErrorEvent`` types it; the
  specification nests them in an ``error`` object.
- ``presence_penalty`` / ``frequency_penalty``, required by the
  specification, are sent because OpenAI sends them too (2026).

Length: the answer is 4-6 sentences (~70-110 tokens); a prompt that says
"short"/"brief" gets 2, "one sentence" gets 1, "detailed"/"long"/"story" gets 9.
Usage: input tokens counted from the last user message (plus system /
instructions), output tokens = the number of deltas streamed.

Per-request controls (HTTP headers)
===================================

Send them with the SDKs' ``extra_headers={...}`` (real providers ignore them)::

    client.responses.create(model=..., input=..., stream=True,
        extra_headers={"x-streamlab-ttft-ms": "0", "x-streamlab-fault": "drop-after=5"})

``x-streamlab-ttft-ms: MS``              time to first token (server default 300)
``x-streamlab-tokens-per-second: N``     pace; 0 = as fast as possible (default 30)
``x-streamlab-jitter-ms: MS``            random ± per token (default 15)
``x-streamlab-seed: N``                  generation seed (default 0; Chat's ``seed`` too)
``x-streamlab-tokens: N``                answer exactly N tokens long (long streams for
                                         timelines and benchmarks; finish reason stays "stop")
``x-streamlab-fault: SPEC``              inject a fault; SPEC is one of:

- ``drop-after=N``      close the connection after N events (``drop-after=0``
  sends the headers and no event), without the final empty chunk. While
  iterating, openai raises ``APIConnectionError``, and so does anthropic from
  2.17 (before 2.17 it let the transport error through: ``httpx2.
  RemoteProtocolError: peer closed connection without sending complete
  message body``), as with the real API.
- ``error-after=N``     after N events send the provider's mid-stream error
  and end the stream: Responses an ``error`` event then ``response.failed``
  (handed to you as events), Chat a payload with a top-level ``"error"``
  (``openai.APIError`` raised), Anthropic ``event: error`` overloaded_error
  (``anthropic.APIStatusError`` with status 200).
- ``stall-after=N;seconds=S``  pause S seconds (default 30) after N events, then
  go on: longer than the client's read timeout gives ``APITimeoutError``
  (anthropic before 2.17, mid-stream: ``httpx2.ReadTimeout``).
- ``status=429;retry-after=S``  HTTP 429 rate_limit body (``RateLimitError``)
  with ``retry-after`` (omit it and no header is sent).
- ``status=500`` / ``status=503`` / ``status=529``  InternalServerError;
  Anthropic: 503 ``ServiceUnavailableError``, 529 ``OverloadedError``.
  Any 4xx/5xx works. Options: ``;retry-after-ms=MS``,
  ``;should-retry=true|false`` (the ``x-should-retry`` header both SDKs obey).
- ``slow-headers=S``    wait S seconds before sending the response headers
  (longer than the timeout: ``APITimeoutError`` from both SDKs, after their
  retries unless ``max_retries=0``).
- ``tiny-writes=N``     write the stream N bytes at a time (default 3), cutting
  lines and UTF-8 characters; ``;delay-ms=MS`` waits between writes.

``x-streamlab-ending: NAME[;after=N]``  end the stream another way (``after=N``:
answer tokens sent before a cut, default half the answer; ``_`` = ``-``):

- ``refusal``: Responses a message whose content part is a refusal
  (``response.content_part.added`` type refusal, ``response.refusal.delta``
  ..., ``response.refusal.done``; status completed, ``output_text`` empty);
  Chat ``delta.refusal`` chunks (the stream helper's ``refusal.delta``
  events, ``message.refusal``), finish_reason "stop"; Anthropic the answer
  cut, ``stop_reason: "refusal"`` with ``stop_details`` (type refusal,
  category null, an explanation).
- ``content-filter``: Responses ``response.incomplete`` with
  ``incomplete_details.reason`` "content_filter"; Chat finish_reason
  "content_filter" (the parse helpers raise ``ContentFilterFinishReasonError``).
- ``failed`` (Responses): the text cut, then ``response.failed`` (status
  failed, ``error`` {code "server_error", message}), handed to you as an event.
- ``max-tokens``: as if max tokens cut the answer (``response.incomplete``
  reason "max_output_tokens", finish_reason "length", stop_reason "max_tokens").
- ``pause-turn``, ``context-window`` (Anthropic): stop_reason "pause_turn",
  "model_context_window_exceeded".

An ending another API does not have is a 400 that lists the ones it has.
``responses.stream().get_final_response()`` raises ``RuntimeError`` unless
the stream ended with ``response.completed``: read the last event instead.

Event counts start at 0 and include every event (response.created, ping,
...); a count past the end of the stream means the fault never fires. Any
fault takes ``;times=K``: apply it only to the first K attempts, read
from the SDKs' ``x-stainless-retry-count`` header, so
``status=429;retry-after=0;times=1`` fails once and then succeeds on the SDK's
own retry. Join several faults with commas:
``tiny-writes=2,error-after=8``. Status faults and slow headers also apply
to non-streamed requests; the others only to streams. A bad header value is
a 400 that names it.

Non-streamed requests wait as long as the stream would take (ttft + all
tokens), then answer at once: the cost of buffering is visible.

Errors and keys: bad requests (invalid JSON, missing model/input/messages/
max_tokens, wrong types) get the provider's 400 body and an unknown path its
404 (Anthropic shape under /v1/messages, OpenAI elsewhere), so the SDKs raise
``BadRequestError`` / ``NotFoundError``. Any API key is accepted unless the
server was started with ``api_key=``; then a wrong or missing key gets the
provider's 401 (``AuthenticationError``); both ``Authorization: Bearer`` and
``x-api-key`` are accepted. Keys are never printed.

A client that disconnects cancels its generation at once (no task is left
running: ``server.stats["active_generations"]`` returns to 0).

Limits
======

Every request's work is bounded. Past a limit the answer is a 4xx in the
provider's shape (on a WebSocket: an error message, and the socket stays
open), never a 500, a hang or a huge answer. Each limit is a named constant
of a module of this package:

- Requests (``app``, ``common``): ``MAX_HEADER_BYTES`` 32 KiB of request line
  and headers (431; ``LocalServer`` stops reading at the socket, a WebSocket
  handshake is closed with 1009); ``MAX_BODY_BYTES`` 4 MiB of body (413);
  ``MAX_JSON_VALUES`` 100,000 JSON values, counted as commas before parsing
  (413); ``MAX_JSON_DEPTH`` 64 levels of nesting (400); ``MAX_PROMPT_TOKENS``
  200,000 estimated prompt tokens (400, the context-length message).
- JSON schemas (``generation``): ``MAX_ARRAY_ITEMS`` 100 for ``minItems`` /
  ``maxItems``, ``MAX_STRING_LENGTH`` 10,000 for ``minLength``, and one
  generated answer at most ``MAX_JSON_NODES`` 10,000 values and
  ``MAX_JSON_CHARS`` 200,000 characters of strings (400 naming the keyword).
- Controls (``config``): headers, fault options, lesson parameters and
  WebSocket options must be finite numbers within ``MAX_TTFT_MS`` 600,000
  (10 minutes), ``MAX_TOKENS_PER_SECOND`` 1,000,000, ``MAX_JITTER_MS``
  60,000, ``MAX_TOKENS`` 100,000 (``x-streamlab-tokens``, a lesson's
  ``max_tokens``), ``MAX_FAULT_SECONDS`` 3,600 (stall ``seconds``,
  ``slow-headers``, ``retry-after``; ``retry-after-ms`` 1000 times that),
  ``MAX_EVENT_COUNT`` 10^9 (the ``-after=N`` faults, ``times``),
  ``MAX_WRITE_BYTES`` 65,536 (``tiny-writes``, ``chunk_size``),
  ``MAX_WRITE_DELAY_MS`` 10,000 (``delay-ms``, ``delay_ms``) and ``MAX_SEED``
  2^63 - 1 either side of 0 (400 naming the value).
- Lesson feeds (``lessons``): ``MAX_FEED_EVENTS`` 10,000 (``count``,
  ``drop_after``, ``drop_every``) and ``MAX_RETRY_MS`` 3,600,000.
- Prompt cache (``prompt_cache``): ``MAX_PREFIXES`` 16,384 prefix hashes
  per server, the least recently used forgotten first; ``openai_responses``
  keeps the call ids of the last 1,024 stored responses (``STORED_RESPONSES``)
  to check ``function_call_output`` after ``previous_response_id``.
- WebSockets (``server``): ``MAX_WS_MESSAGE_BYTES`` 1 MiB per message (a
  bigger one closes the socket with 1009). The Responses mode allows 16
  lanes per connection, 32 responses waiting on a lane and 16 queued
  steering inputs per response (error events past them).

Lesson endpoints
================

``GET /lesson/chunked?chunk_size=5&delay_ms=200&text=...``
    ``text/plain`` sent with ``Transfer-Encoding: chunked``, no SSE framing,
    ``chunk_size`` bytes per HTTP chunk. The default text contains "café", ☕
    and 🚀, and 5-byte chunks split words and both multi-byte characters.

``GET /lesson/events?count=10&delay_ms=500&retry_ms=1000&drop_after=K&drop_every=K``
    A plain SSE feed. Opens with a comment and a ``retry:`` field; events
    ``id: 1`` .. ``id: count`` with JSON data ``{"n": N, "text": " word"}``;
    a ``: keep-alive`` comment before every 4th event; ends with
    ``event: done`` / ``data: end``. ``Last-Event-ID: N`` (header, or
    ``?last_event_id=N``) resumes at N+1; once N >= count the answer is
    ``204 No Content`` (an EventSource stops reconnecting). ``drop_after=K``
    cuts the first connection (no Last-Event-ID) after K events, so the
    client must reconnect and resume; ``drop_every=K`` cuts every connection.

``WS /lesson/ws``  two-way generation. Client -> server (JSON text frames):
    ``{"type": "generate", "prompt": "...", "max_tokens"?: N, "ttft_ms"?: MS,
    "tokens_per_second"?: N, "seed"?: N}``, ``{"type": "stop"}``,
    ``{"type": "feedback", "text": "..."}``. Server -> client:
    ``{"type": "start", "topic", "tone"}``, ``{"type": "delta", "text"}``,
    ``{"type": "ack", "text", "applied": {...}, "generating": bool}`` for
    feedback, ``{"type": "done", "reason": "stop" | "length" | "client_stop"
    | "superseded", ...}``, ``{"type": "error", "message"}``. Feedback steers
    the rest of the answer from the next sentence:
    a topic word ("ocean", "space", "coffee", "garden", "cooking", "http",
    "streaming") switches topic; "shorter"/"wrap up" ends after the current
    sentence; "longer"/"more" adds three sentences; "excited", "calm",
    "shout", "normal" change the tone. A new ``generate`` supersedes the
    running one.

Choosing the provider: ``get_provider()``
=========================================

``STREAMLAB_PROVIDER=local|openai|anthropic``: default ``local`` even when
API keys are set. ``STREAMLAB_BASE_URL`` (or ``OPENAI_BASE_URL`` with
``STREAMLAB_PROVIDER=openai``) points at any OpenAI-compatible server (Ollama,
vLLM, LM Studio); ``STREAMLAB_MODEL`` overrides the model name. ``Provider``
has ``kind``, ``is_local``, ``model``, ``anthropic_model``, ``openai()``,
``async_openai()``, ``anthropic()``, ``async_anthropic()`` and ``server``
(the shared LocalServer, started once per process, for local). A real
provider without its key raises ``ProviderConfigError`` saying which
variable to set. The shared server's timing can be set from the environment
with ``STREAMLAB_TTFT_MS``, ``STREAMLAB_TOKENS_PER_SECOND`` and
``STREAMLAB_JITTER_MS`` (e.g. all ``0`` to run notebooks fast in CI);
per-request headers still override it.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

_EXPORTS: dict[str, str] = {
    "serve": "streamlab.provider.server",
    "LocalServer": "streamlab.provider.server",
    "create_app": "streamlab.provider.app",
    "get_provider": "streamlab.provider.switch",
    "Provider": "streamlab.provider.switch",
    "ProviderConfigError": "streamlab.provider.switch",
    "Settings": "streamlab.provider.config",
}

__all__ = [
    "serve",
    "LocalServer",
    "create_app",
    "get_provider",
    "Provider",
    "ProviderConfigError",
    "Settings",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'streamlab.provider' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)


if TYPE_CHECKING:  # pragma: no cover
    from streamlab.provider.app import create_app
    from streamlab.provider.config import Settings
    from streamlab.provider.server import LocalServer, serve
    from streamlab.provider.switch import Provider, ProviderConfigError, get_provider
