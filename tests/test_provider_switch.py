"""get_provider(): local by default, real providers only when asked; the serve CLI."""

from __future__ import annotations

import signal
import subprocess
import sys

import httpx
import pytest

import streamlab
from streamlab.provider import Provider, get_provider
from streamlab.provider.switch import ProviderConfigError

ENV = (
    "STREAMLAB_PROVIDER",
    "STREAMLAB_BASE_URL",
    "OPENAI_BASE_URL",
    "STREAMLAB_MODEL",
    "OPENAI_API_KEY",
    "ANTHROPIC_API_KEY",
)


@pytest.fixture
def env(monkeypatch):
    for name in ENV:
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_public_names():
    for name in ("serve", "LocalServer", "create_app", "get_provider", "Provider"):
        assert getattr(streamlab, name) is getattr(streamlab.provider, name)


def test_default_is_local_even_with_keys(env):
    env.setenv("OPENAI_API_KEY", "sk-secret-openai")
    env.setenv("ANTHROPIC_API_KEY", "sk-secret-anthropic")
    p = get_provider()
    assert isinstance(p, Provider) and p.kind == "local" and p.is_local
    assert p.model == p.anthropic_model == "streamlab-local"
    assert "secret" not in repr(p)
    client = p.openai(max_retries=0)
    assert str(client.base_url).startswith(p.server.openai_base_url)
    assert p.server is get_provider().server  # one shared server per process
    assert client.responses.create(
        model=p.model,
        input="hi",
        extra_headers={"x-streamlab-ttft-ms": "0", "x-streamlab-tokens-per-second": "0"},
    ).output_text
    assert (
        p.anthropic(max_retries=0)
        .messages.create(
            model=p.anthropic_model,
            max_tokens=3,
            messages=[{"role": "user", "content": "hi"}],
            extra_headers={"x-streamlab-ttft-ms": "0", "x-streamlab-tokens-per-second": "0"},
        )
        .stop_reason
        == "max_tokens"
    )


def test_real_providers_need_keys_and_never_show_them(env):
    env.setenv("STREAMLAB_PROVIDER", "openai")
    with pytest.raises(ProviderConfigError, match="OPENAI_API_KEY"):
        get_provider()
    env.setenv("OPENAI_API_KEY", "sk-secret-1")
    p = get_provider()
    assert p.kind == "openai" and not p.is_local and p.server is None and "secret" not in repr(p)
    assert p.openai().api_key == "sk-secret-1"
    with pytest.raises(ProviderConfigError, match="Anthropic"):
        p.anthropic()
    env.setenv("STREAMLAB_PROVIDER", "anthropic")
    with pytest.raises(ProviderConfigError, match="ANTHROPIC_API_KEY"):
        get_provider()
    env.setenv("ANTHROPIC_API_KEY", "sk-ant-secret")
    p = get_provider()
    assert p.anthropic_model and p.model is None and "secret" not in repr(p)
    with pytest.raises(ProviderConfigError, match="OpenAI"):
        p.openai()
    env.setenv("STREAMLAB_PROVIDER", "ollama")
    with pytest.raises(ProviderConfigError, match="STREAMLAB_BASE_URL"):
        get_provider()


def test_openai_compatible_base_url(env, local_server):
    # Any OpenAI-compatible server: here, our own local server plays Ollama.
    env.setenv("STREAMLAB_BASE_URL", local_server.openai_base_url)
    with pytest.raises(ProviderConfigError, match="STREAMLAB_MODEL"):
        get_provider()
    env.setenv("STREAMLAB_MODEL", "llama3.2")
    p = get_provider()
    assert (
        p.kind == "openai" and p.model == "llama3.2" and p.base_url == local_server.openai_base_url
    )
    assert (
        p.openai(max_retries=0)
        .chat.completions.create(model=p.model, messages=[{"role": "user", "content": "hi"}])
        .model
        == "llama3.2"
    )
    env.delenv("STREAMLAB_BASE_URL")
    env.setenv("STREAMLAB_PROVIDER", "openai")
    env.setenv("OPENAI_BASE_URL", local_server.openai_base_url)
    assert get_provider().base_url == local_server.openai_base_url


def test_streamlab_serve_cli_runs_in_the_foreground():
    from _support import free_port

    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlab", "serve", "--port", str(port), "--fast"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        first = proc.stdout.readline()
        assert f"http://127.0.0.1:{port}" in first
        lines = [proc.stdout.readline() for _ in range(4)]
        assert any("/v1" in line and "OpenAI" in line for line in lines)
        r = httpx.post(
            f"http://127.0.0.1:{port}/v1/chat/completions",
            json={"model": "m", "messages": [{"role": "user", "content": "hi"}]},
            timeout=10,
        )
        assert r.status_code == 200 and r.json()["choices"][0]["message"]["content"]
    finally:
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=10)
    assert proc.returncode == 0 and "stopped" in out


def test_cli_help_lists_options():
    out = subprocess.run(
        [sys.executable, "-m", "streamlab", "serve", "--help"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    for opt in ("--host", "--port", "--ttft-ms", "--tokens-per-second", "--jitter-ms", "--api-key"):
        assert opt in out


def test_shared_server_timing_from_env(env):
    from streamlab.provider.switch import timing_from_env

    env.setenv("STREAMLAB_TTFT_MS", "0")
    env.setenv("STREAMLAB_TOKENS_PER_SECOND", "0")
    assert timing_from_env() == {"ttft_ms": 0.0, "tokens_per_second": 0.0}
    env.setenv("STREAMLAB_JITTER_MS", "fast")
    with pytest.raises(ProviderConfigError, match="STREAMLAB_JITTER_MS"):
        timing_from_env()


def test_cors_for_browser_lessons(local_server):
    r = httpx.get(
        local_server.base_url + "/lesson/events?count=1&delay_ms=0",
        headers={"Origin": "http://localhost:8888"},
    )
    assert r.headers["access-control-allow-origin"] == "*"
    assert (
        "access-control-allow-origin"
        not in httpx.get(local_server.base_url + "/lesson/events?count=1").headers
    )


@pytest.fixture
def hub_server(env):
    """The shared local server as a JupyterHub kernel starts it (then stopped, the old one back)."""
    from streamlab.provider import switch

    env.setenv("JUPYTERHUB_API_TOKEN", "hub-token-for-this-learner")
    env.setattr(switch, "_shared", None)
    server = switch.shared_server()
    yield server
    server.stop()


def test_on_a_hub_the_shared_server_wants_its_own_fresh_key(hub_server, env):
    p = get_provider()
    assert p.server is hub_server and hub_server.settings.api_key.startswith("sk-streamlab-")
    assert "sk-streamlab-" not in repr(hub_server) + repr(p)  # never shown
    fast = {"x-streamlab-ttft-ms": "0", "x-streamlab-tokens-per-second": "0"}
    assert p.openai(max_retries=0).responses.create(model=p.model, input="hi", extra_headers=fast)
    message = p.anthropic(max_retries=0).messages.create(
        model=p.anthropic_model,
        max_tokens=3,
        messages=[{"role": "user", "content": "hi"}],
        extra_headers=fast,
    )
    assert message.stop_reason == "max_tokens"
    # Another process on the same loopback knows only the port, or guesses the default key.
    from streamlab.provider import switch

    env.setattr(switch, "_shared", None)
    other = switch.shared_server()
    try:
        assert other.settings.api_key != hub_server.settings.api_key  # fresh for every process
    finally:
        other.stop()
    env.delenv("JUPYTERHUB_API_TOKEN")
    assert not switch.on_shared_host()


@pytest.mark.parametrize("key", [None, "sk-streamlab-local", "sk-guessed"])
def test_a_hub_server_refuses_other_keys_on_every_api(hub_server, key):
    import openai

    base = hub_server.base_url
    headers = {} if key is None else {"Authorization": f"Bearer {key}"}
    body = {"model": "streamlab-local", "stream": True}
    for method, path, extra in [
        ("POST", "/v1/responses", {"input": "hi"}),
        ("POST", "/v1/chat/completions", {"messages": [{"role": "user", "content": "hi"}]}),
        ("GET", "/v1/models", None),
        ("GET", "/v1/models/streamlab-local", None),
    ]:
        r = httpx.request(
            method, base + path, headers=headers, json=None if extra is None else body | extra
        )
        assert r.status_code == 401, path
        error = r.json()["error"]
        assert error["code"] == "invalid_api_key" and set(error) >= {"message", "type", "param"}
    r = httpx.post(
        base + "/v1/messages",
        headers={} if key is None else {"x-api-key": key},
        json={"model": "streamlab-local", "max_tokens": 3, "messages": []},
    )
    assert r.status_code == 401
    assert r.json()["type"] == "error" and r.json()["error"]["type"] == "authentication_error"
    # The SDKs raise their own 401 error, the WebSocket mode refuses the handshake the same way.
    stranger = openai.OpenAI(
        base_url=hub_server.openai_base_url, api_key=key or "sk-none", max_retries=0
    )
    with pytest.raises(openai.AuthenticationError):
        stranger.models.list()
    with pytest.raises(Exception) as refused:
        with stranger.responses.connect() as conn:
            conn.response.create(model="streamlab-local", input="hi")
            next(iter(conn))
    assert "401" in str(refused.value)
