"""Provider-shaped errors: the exact bodies and headers real APIs send.

The SDKs turn an HTTP error into a typed exception by its status code
(400 BadRequestError, 401 AuthenticationError, 404 NotFoundError, 429
RateLimitError, >= 500 InternalServerError, and for Anthropic 503
ServiceUnavailableError, 529 OverloadedError) and keep the parsed body on
``exc.body``. Mid-stream errors are events: see ``stream_error_frame``.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass, field
from typing import Literal

from starlette.responses import Response

from streamlab.sse import encode_event

Flavor = Literal["openai", "anthropic"]

_OPENAI_TYPES = {
    400: ("invalid_request_error", None),
    401: ("invalid_request_error", "invalid_api_key"),
    404: ("invalid_request_error", None),
    413: ("invalid_request_error", "request_too_large"),
    431: ("invalid_request_error", "request_header_fields_too_large"),
    429: ("requests", "rate_limit_exceeded"),
}
_ANTHROPIC_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    431: "request_too_large",
    429: "rate_limit_error",
    500: "api_error",
    503: "api_error",
    529: "overloaded_error",
}
_DEFAULT_MESSAGES = {
    429: "Rate limit reached for requests (simulated by streamlab). Please try again later.",
    500: "The server had an error while processing your request. Sorry about that! (simulated by streamlab)",
    503: "The service is temporarily unavailable. Please try again later. (simulated by streamlab)",
    529: "Overloaded (simulated by streamlab)",
}


def flavor_for(path: str) -> Flavor:
    """Anthropic's error shape under /v1/messages, OpenAI's everywhere else."""
    return "anthropic" if path.startswith("/v1/messages") else "openai"


def request_id() -> str:
    return "req_" + secrets.token_hex(12)


@dataclass
class ProviderError(Exception):
    """An error answered in the shape of the provider the endpoint imitates."""

    status: int
    message: str
    param: str | None = None
    code: str | None = None
    headers: dict[str, str] = field(default_factory=dict)

    def __str__(self) -> str:
        return f"{self.status}: {self.message}"

    def body(self, flavor: Flavor, req_id: str) -> dict[str, object]:
        if flavor == "anthropic":
            kind = _ANTHROPIC_TYPES.get(
                self.status, "api_error" if self.status >= 500 else "invalid_request_error"
            )
            return {
                "type": "error",
                "error": {"type": kind, "message": self.message},
                "request_id": req_id,
            }
        kind, code = _OPENAI_TYPES.get(
            self.status,
            ("server_error", None) if self.status >= 500 else ("invalid_request_error", None),
        )
        return {
            "error": {
                "message": self.message,
                "type": kind,
                "param": self.param,
                "code": self.code or code,
            }
        }

    def response(self, flavor: Flavor) -> Response:
        req_id = request_id()
        headers = {"x-request-id": req_id, "request-id": req_id, **self.headers}
        return Response(
            json.dumps(self.body(flavor, req_id)),
            status_code=self.status,
            media_type="application/json",
            headers=headers,
        )


def status_fault_error(
    status: int, *, retry_after: str | None, retry_after_ms: str | None, should_retry: str | None
) -> ProviderError:
    """The error for ``x-streamlab-fault: status=...`` with the retry headers asked for."""
    headers: dict[str, str] = {}
    if retry_after is not None:
        headers["retry-after"] = retry_after
    if retry_after_ms is not None:
        headers["retry-after-ms"] = retry_after_ms
    if should_retry is not None:
        headers["x-should-retry"] = should_retry
    message = _DEFAULT_MESSAGES.get(status, f"HTTP {status} (simulated by streamlab)")
    if status == 429 and retry_after is not None:
        message = f"Rate limit reached for requests (simulated by streamlab). Please try again in {retry_after}s."
    return ProviderError(status, message, headers=headers)


def stream_error_frame(api: str, sequence_number: int) -> bytes:
    """The error a provider sends *inside* a stream that has already started.

    - Responses: an ``error`` event (the SDK hands it to you as an event).
    - Chat Completions: a chunk whose payload has a top-level ``error`` object
      (the SDK raises ``openai.APIError``).
    - Anthropic: ``event: error`` with an ``overloaded_error`` (the SDK raises
      ``anthropic.APIStatusError`` with status 200, as the real API does).
    """
    if api == "responses":
        payload = {
            "type": "error",
            "code": "server_error",
            "message": "The server had an error while processing your request. (simulated by streamlab)",
            "param": None,
            "sequence_number": sequence_number,
        }
        return encode_event(json.dumps(payload, ensure_ascii=False), event="error")
    if api == "chat":
        payload = {
            "error": {
                "message": "The server had an error while processing your request. (simulated by streamlab)",
                "type": "server_error",
                "param": None,
                "code": None,
            }
        }
        return encode_event(json.dumps(payload, ensure_ascii=False))
    payload = {
        "type": "error",
        "error": {"type": "overloaded_error", "message": "Overloaded (simulated by streamlab)"},
        "request_id": request_id(),
    }
    return encode_event(json.dumps(payload, ensure_ascii=False), event="error")
