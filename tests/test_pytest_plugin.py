"""The pytest plugin (``streamlab.pytest_plugin``): what another project's suite gets.

The example suites (the README's among them) run in a pytester subprocess,
as a user's would: the plugin is found through its ``pytest11`` entry point,
not imported here.
"""

from __future__ import annotations

import subprocess
import sys

import pytest
from _support import ROOT

pytest_plugins = ["pytester"]


def _readme_example() -> str:
    """The example test in README.md's "Using the provider in your own tests"."""
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Using the provider in your own tests", 1)[1]
    return section.split("```python\n", 1)[1].split("```", 1)[0]


APP_TESTS = _readme_example()


def test_example_app_suite_passes(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_app=APP_TESTS)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=2)


def test_a_dropped_stream_reaches_the_app(pytester: pytest.Pytester) -> None:
    # The same app, but a test that does not expect the fault: it must fail
    # with the SDK's connection error, so the fault is real, not a no-op.
    pytester.makepyfile(
        test_app=APP_TESTS.split("def test_")[0]
        + """
def test_unaware_of_faults(streamlab_provider):
    collect_answer(streamlab_provider.openai(fault="drop-after=5"), "Hi")
"""
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*APIConnectionError*"])


def test_settings_do_not_leak_between_tests(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_leaks="""
import openai
import pytest


@pytest.mark.streamlab(fault="status=503")
def test_first_sets_faults(streamlab_provider):
    streamlab_provider.defaults["ending"] = "refusal"
    client = streamlab_provider.openai(tokens=3)
    with pytest.raises(openai.InternalServerError):
        client.responses.create(model="m", input="Hi")
    assert streamlab_provider.stats["requests"] == 1


def test_second_sees_none_of_them(streamlab_provider):
    assert streamlab_provider.defaults == {}
    assert streamlab_provider.headers() == {}
    assert streamlab_provider.stats["requests"] == 0
    response = streamlab_provider.openai().responses.create(model="m", input="Hi")
    assert response.status == "completed" and response.usage.output_tokens > 3
    assert response.output[0].content[0].type == "output_text"
"""
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-p", "no:randomly")
    result.assert_outcomes(passed=2)


def test_found_through_the_entry_point(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest_subprocess("--fixtures", "-p", "no:cacheprovider")
    result.stdout.fnmatch_lines(["streamlab_provider -- *streamlab*pytest_plugin.py*"])
    # The entry point's name switches it off, as for any pytest11 plugin.
    off = pytester.runpytest_subprocess(
        "--fixtures", "-p", "no:cacheprovider", "-p", "no:streamlab"
    )
    assert "streamlab_provider" not in off.stdout.str()


def test_importing_the_plugin_loads_neither_server_nor_sdks() -> None:
    code = (
        "import sys, streamlab.pytest_plugin\n"
        "heavy = {'uvicorn', 'starlette', 'openai', 'anthropic', 'streamlab.provider.server'}\n"
        "print(sorted(heavy & set(sys.modules)))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


# The repo's own suite runs with the plugin active: the fixture is usable here.


def test_headers_are_the_provider_controls(streamlab_provider) -> None:
    assert streamlab_provider.headers(ttft_ms=0, tokens_per_second=2.5, fault="drop-after=5") == {
        "x-streamlab-ttft-ms": "0",
        "x-streamlab-tokens-per-second": "2.5",
        "x-streamlab-fault": "drop-after=5",
    }
    assert streamlab_provider.openai_base_url == streamlab_provider.base_url + "/v1"


@pytest.mark.parametrize(
    ("controls", "message"),
    [
        ({"fault": "drop-afterwards=5"}, "x-streamlab-fault: unknown fault"),
        ({"ttft_ms": -1}, "x-streamlab-ttft-ms"),
        ({"ttft_ms": True}, "ttft_ms= takes a number or a string"),
    ],
)
def test_bad_controls_fail_in_the_test_not_on_the_server(
    streamlab_provider, controls, message
) -> None:
    with pytest.raises((ValueError, TypeError), match=message):
        streamlab_provider.openai(**controls)


@pytest.mark.streamlab(ttft_sm=5)
def test_a_misspelt_marker_control_is_named(request: pytest.FixtureRequest) -> None:
    with pytest.raises(TypeError, match=r"unknown control\(s\) \['ttft_sm'\]"):
        request.getfixturevalue("streamlab_provider")


def test_missing_sdk_names_the_extra(streamlab_provider, monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "anthropic", None)  # as if not installed
    with pytest.raises(ModuleNotFoundError, match=r"pip install 'streamlab\[course\]'"):
        streamlab_provider.anthropic()


def test_anthropic_client_carries_the_controls(streamlab_provider) -> None:
    client = streamlab_provider.anthropic(tokens=3)
    message = client.messages.create(
        model="m", max_tokens=100, messages=[{"role": "user", "content": "Hi"}]
    )
    assert message.usage.output_tokens == 3


async def test_async_clients_carry_the_controls(streamlab_provider) -> None:
    import openai

    async with streamlab_provider.async_anthropic(ending="max-tokens") as client:
        async with client.messages.stream(
            model="m", max_tokens=100, messages=[{"role": "user", "content": "Hi"}]
        ) as stream:
            message = await stream.get_final_message()
    assert message.stop_reason == "max_tokens"
    async with streamlab_provider.async_openai(fault="error-after=3") as client:
        stream = await client.chat.completions.create(
            model="m", messages=[{"role": "user", "content": "Hi"}], stream=True
        )
        with pytest.raises(openai.APIError):
            async for _ in stream:
                pass
