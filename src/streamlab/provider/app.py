"""The Starlette application: routes, API-key check, provider-shaped errors."""

from __future__ import annotations

import hmac
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.types import ASGIApp, Receive, Scope, Send

from streamlab.provider import background, lessons
from streamlab.provider.anthropic_messages import create_message
from streamlab.provider.config import Settings
from streamlab.provider.faults import ProviderError, flavor_for
from streamlab.provider.openai_chat import create_chat_completion
from streamlab.provider.openai_compact import create_compaction
from streamlab.provider.openai_responses import create_response
from streamlab.provider.openai_responses_ws import responses_websocket
from streamlab.provider.streaming import Stats

log = logging.getLogger("streamlab.provider")

Handler = Callable[[Request], Awaitable[Any]]

MODELS = ("streamlab-local", "streamlab-local-json")

#: The request line and headers together: real front ends allow 8-32 KiB.
MAX_HEADER_BYTES = 32 * 1024


def header_bytes(scope: Scope) -> int:
    """Bytes of a request's target and headers (what ``MAX_HEADER_BYTES`` bounds)."""
    head = len(scope.get("raw_path") or b"") + len(scope.get("query_string") or b"")
    return head + sum(len(k) + len(v) + 4 for k, v in scope.get("headers", ()))


def headers_too_large(path: str, size: int | None = None) -> ProviderError:
    """The 431 for a request whose headers pass ``MAX_HEADER_BYTES``."""
    got = "" if size is None else f" ({size} bytes)"
    return ProviderError(
        431,
        f"Request header fields too large{got}: the local provider accepts at most "
        f"{MAX_HEADER_BYTES} bytes of request line and headers.",
    )


class HeaderLimit:
    """ASGI middleware: a 431 in the provider's shape for oversized headers.

    This is the check for any ASGI server; ``LocalServer`` also stops reading
    such a request at the socket, before the headers are held in memory.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] in ("http", "websocket")
            and (size := header_bytes(scope)) > MAX_HEADER_BYTES
        ):
            if scope["type"] == "websocket":
                await send({"type": "websocket.close", "code": 1009})
                return
            error = headers_too_large(scope["path"], size)
            await error.response(flavor_for(scope["path"]))(scope, receive, send)
            return
        await self.app(scope, receive, send)


def _presented_key(request: Request) -> str | None:
    key = request.headers.get("x-api-key")
    if key is None:
        auth = request.headers.get("authorization", "")
        if auth.lower().startswith("bearer "):
            key = auth[7:].strip()
    return key


def check_key(request: Request) -> None:
    """Any key is fine unless the server was started with one (never echo keys)."""
    expected = request.app.state.settings.api_key
    if expected is None:
        return
    got = _presented_key(request)
    if got is None or not hmac.compare_digest(got.encode(), expected.encode()):
        if flavor_for(request.url.path) == "anthropic":
            msg = "invalid x-api-key"
        elif got is None:
            msg = (
                "You didn't provide an API key. You need to provide your API key in an Authorization "
                "header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY)."
            )
        else:
            msg = "Incorrect API key provided. This local server was started with --api-key; use that key."
        raise ProviderError(401, msg, code="invalid_api_key")


def api(handler: Handler) -> Callable[[Request], Awaitable[Any]]:
    """Wrap an endpoint: key check, and every error in the provider's shape."""

    async def endpoint(request: Request) -> Any:
        flavor = flavor_for(request.url.path)
        request.app.state.stats.requests += 1
        try:
            check_key(request)
            return await handler(request)
        except ProviderError as exc:
            return exc.response(flavor)
        except Exception:  # a bug here must still look like the provider, not a traceback
            log.exception("streamlab provider: unexpected error on %s", request.url.path)
            return ProviderError(
                500, "The local provider failed unexpectedly (see the server log)."
            ).response(flavor)

    return endpoint


async def list_models(request: Request) -> Any:
    # One shape that both SDKs accept: OpenAI's fields and Anthropic's together.
    data = [_model(m) for m in MODELS]
    return JSONResponse(
        {
            "object": "list",
            "data": data,
            "has_more": False,
            "first_id": data[0]["id"],
            "last_id": data[-1]["id"],
        }
    )


async def get_model(request: Request) -> Any:
    return JSONResponse(_model(request.path_params["model"]))


def _model(name: str) -> dict[str, Any]:
    return {
        "id": name,
        "object": "model",
        "created": 1767225600,
        "owned_by": "streamlab",
        "type": "model",
        "display_name": name.replace("-", " ").title(),
        "created_at": "2026-01-01T00:00:00Z",
    }


async def stats(request: Request) -> Response:
    stats: Stats = request.app.state.stats
    if request.query_params.get("reset"):
        stats.lateness.clear()
    store = request.app.state.background
    return JSONResponse(
        stats.as_dict(lateness=True) | {"background": {"stored": len(store), "bytes": store.size}}
    )


async def index(request: Request) -> Response:
    base = str(request.base_url).rstrip("/")
    return JSONResponse(
        {
            "name": "streamlab local provider",
            "openai_base_url": f"{base}/v1",
            "anthropic_base_url": base,
            "endpoints": [
                "POST /v1/responses",
                "GET /v1/responses/{id}",
                "POST /v1/responses/{id}/cancel",
                "WS /v1/responses",
                "POST /v1/responses/compact",
                "POST /v1/chat/completions",
                "POST /v1/messages",
                "GET /v1/models",
                "GET /lesson/chunked",
                "GET /lesson/events",
                "WS /lesson/ws",
                "GET /streamlab/stats",
            ],
            "help": "python -c 'import streamlab.provider; help(streamlab.provider)'",
        }
    )


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    flavor = flavor_for(request.url.path)
    if exc.status_code == 404:
        msg = f"Invalid URL ({request.method} {request.url.path}): no such endpoint on the local provider."
    elif exc.status_code == 405:
        msg = f"Method {request.method} is not allowed on {request.url.path}."
    else:
        msg = str(exc.detail)
    return ProviderError(exc.status_code, msg).response(flavor)


def create_app(settings: Settings | None = None, **overrides: Any) -> Starlette:
    """The local provider as an ASGI app (for tests, or any ASGI server).

    Pass a ``Settings`` or its fields as keywords: ``ttft_ms``,
    ``tokens_per_second``, ``jitter_ms``, ``seed``, ``api_key``.
    """
    if settings is None:
        settings = Settings(**overrides)
    elif overrides:
        raise TypeError("pass either settings= or keyword settings, not both")
    routes = [
        Route("/", index),
        Route("/v1/responses", api(create_response), methods=["POST"]),
        Route("/v1/responses/compact", api(create_compaction), methods=["POST"]),
        Route("/v1/responses/{response_id}", api(background.retrieve), methods=["GET"]),
        Route("/v1/responses/{response_id}/cancel", api(background.cancel), methods=["POST"]),
        WebSocketRoute("/v1/responses", responses_websocket),
        Route("/v1/chat/completions", api(create_chat_completion), methods=["POST"]),
        Route("/v1/messages", api(create_message), methods=["POST"]),
        Route("/v1/models", api(list_models), methods=["GET"]),
        Route("/v1/models/{model:path}", api(get_model), methods=["GET"]),
        Route("/streamlab/stats", stats),
        Route("/lesson/chunked", lessons.chunked),
        Route("/lesson/events", lessons.events),
        WebSocketRoute("/lesson/ws", lessons.websocket_generate),
    ]
    # CORS so that a browser page (an EventSource or WebSocket lesson in a
    # notebook served from another port) may call the server. Requests
    # without an Origin header, like the SDKs', skip the middleware entirely.
    middleware = [
        Middleware(HeaderLimit),
        Middleware(
            CORSMiddleware,
            allow_origins=["*"],
            allow_methods=["*"],
            allow_headers=["*"],
            expose_headers=["x-request-id", "request-id", "retry-after"],
        ),
    ]
    app = Starlette(
        routes=routes, middleware=middleware, exception_handlers={HTTPException: _http_error}
    )
    app.state.settings = settings
    app.state.stats = Stats()
    app.state.background = background.BackgroundStore(app.state.stats)
    return app
