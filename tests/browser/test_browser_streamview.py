"""Issue 6 in a real browser: the StreamView streams visibly in JupyterLab.

Opens tests/browser/streamview_demo.ipynb in JupyterLab in headless Chromium,
runs all cells, and samples the two panes while the local provider streams:
the streamed pane's text must grow across at least three samples while the
buffered pane is still empty, and no cell may show an error. A screenshot
goes to artifacts/streamview.png.
"""

from __future__ import annotations

import re

import pytest
from browser_harness import ARTIFACTS, LabNotebook

pytestmark = pytest.mark.browser

NOTEBOOK = "tests/browser/streamview_demo.ipynb"

_PANES_JS = """
() => {
  const text = (mode) => {
    const el = document.querySelector(`.streamlab-${mode} .streamlab-text`);
    return el ? el.innerText : '';
  };
  return {streamed: text('streamed'), buffered: text('buffered')};
}
"""


def test_streamed_pane_grows_before_the_buffered_pane_fills(lab_server, lab_page):
    nb = LabNotebook(lab_page, lab_server, NOTEBOOK).open()
    nb.run_all()

    # The widget appears and the first text arrives (TTFT 0.8 s + kernel start-up).
    lab_page.wait_for_function(
        "() => !!document.querySelector('.streamlab-streamed .streamlab-text')", timeout=60_000
    )
    samples: list[tuple[int, int]] = []
    last = 0
    while True:
        # Wait for the next change (more streamed text, or the buffered answer),
        # not for a fixed time.
        lab_page.wait_for_function(
            "(last) => { const p = (" + _PANES_JS + ")();"
            " return p.streamed.length > last || p.buffered.length > 0; }",
            arg=last,
            timeout=30_000,
        )
        panes = lab_page.evaluate(_PANES_JS)
        samples.append((len(panes["streamed"]), len(panes["buffered"])))
        if panes["buffered"]:
            break
        if len(samples) == 3:  # the picture of the course: one pane filling, one waiting
            nb.screenshot("streamview-midstream.png", selector=".streamlab-view")
        last = len(panes["streamed"])

    before_buffered = [s for s, b in samples if b == 0]
    assert len(before_buffered) >= 3, f"streamed text grew in fewer than 3 samples: {samples}"
    assert before_buffered == sorted(set(before_buffered)), samples  # strictly growing

    cells = nb.wait_done(timeout=90)
    problems = nb.problems(cells)
    assert not problems, "\n\n".join(problems)

    panes = lab_page.evaluate(_PANES_JS)
    assert panes["streamed"] == panes["buffered"] and len(panes["streamed"]) > 100
    stats = lab_page.locator(".streamlab-streamed-stats").inner_text()
    assert re.search(r"first token: \d+\.\d\d s", stats), stats
    assert re.search(r"\d+\.\d deltas/s", stats), stats
    buffered_stats = lab_page.locator(".streamlab-buffered-stats").inner_text()
    assert "done" in stats and "done" in buffered_stats
    # The timeline plot rendered as an image.
    lab_page.wait_for_selector(".jp-OutputArea-output img", timeout=30_000)

    nb.screenshot("streamview-widget.png", selector=".streamlab-view")
    lab_page.locator(".jp-OutputArea-output img").first.scroll_into_view_if_needed()
    nb.screenshot("streamview.png")


def _open_cells(lab_page, lab_server, name: str, cells: list[str]) -> LabNotebook:
    """A notebook of ``cells``, opened in JupyterLab.

    Written at run time into artifacts/ (git-ignored, inside Lab's root) so
    that nbval, which nobody clicks, does not collect it.
    """
    import nbformat

    nb_file = ARTIFACTS / name
    ARTIFACTS.mkdir(exist_ok=True)
    notebook = nbformat.v4.new_notebook()
    notebook.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    notebook.cells = [nbformat.v4.new_code_cell(src) for src in cells]
    nbformat.write(notebook, nb_file)
    return LabNotebook(
        lab_page, lab_server, nb_file.relative_to(lab_server.root_dir).as_posix()
    ).open()


STOP_CELLS = [
    "import time\n"
    "import streamlab\n"
    "from streamlab import compare\n\n"
    "provider = streamlab.get_provider()\n"
    'before = provider.server.stats["cancelled"]\n'
    'slow = {"x-streamlab-ttft-ms": "300", "x-streamlab-tokens-per-second": "8"}',
    # Top-level await keeps the kernel free to receive the Stop button's click.
    "cmp = await compare(\n"
    '    "Explain in ten sentences why LLM responses are streamed.",\n'
    '    provider=provider, extra_headers=slow, label="stop me",\n'
    ")",
    'assert cmp.streamed.status == "stopped", cmp.streamed\n'
    "deadline = time.monotonic() + 10\n"
    'while provider.server.stats["cancelled"] < before + 2 and time.monotonic() < deadline:\n'
    "    time.sleep(0.05)\n"
    'seen = provider.server.stats["cancelled"] - before\n'
    "assert seen >= 2, provider.server.stats\n"
    'print(f"the provider saw {seen} requests closed")',
]


def test_stop_button_cancels_both_requests(lab_server, lab_page):
    nb = _open_cells(lab_page, lab_server, "stop_demo.ipynb", STOP_CELLS)
    nb.run_all()
    lab_page.wait_for_function(
        "() => { const p = (" + _PANES_JS + ")(); return p.streamed.length >= 30; }",
        timeout=60_000,
    )
    lab_page.locator(".streamlab-stop button, button.streamlab-stop").first.click()
    cells = nb.wait_done(timeout=60)
    problems = nb.problems(cells)
    assert not problems, "\n\n".join(problems)
    assert (
        "the provider saw 2 requests closed" in lab_page.locator(".jp-OutputArea").last.inner_text()
    )
    body = lab_page.locator(".streamlab-streamed").inner_text()
    assert "stopped after" in body
    nb.screenshot("streamview-stopped.png", selector=".streamlab-view")


TOOL_CELLS = [
    "import streamlab\n"
    "from streamlab import Tool, compare\n\n"
    "provider = streamlab.get_provider()\n"
    "weather = Tool(\n"
    '    "get_weather", "Current weather for a city",\n'
    '    {"type": "object", "required": ["city", "details"], "properties": {\n'
    '        "city": {"type": "string"},\n'
    '        "details": {"type": "string", "minLength": 300}}},\n'
    ")\n"
    'pace = {"x-streamlab-ttft-ms": "200", "x-streamlab-tokens-per-second": "20"}',
    "cmp = await compare(\n"
    '    "What is the weather in Paris?", provider=provider, tools=[weather],\n'
    '    reasoning="low", extra_headers=pace, label="thinking, then a tool call",\n'
    ")\n"
    'assert cmp.streamed.outcome == "tool_calls", cmp.streamed\n'
    'print("calls:", [c.name for c in cmp.streamed.tool_calls])',
]

_MIDWAY_JS = """
() => {
  const box = document.querySelector('.streamlab-streamed-box');
  if (!box) return null;
  const reasoning = box.querySelector('.streamlab-reasoning');
  const call = box.querySelector('.streamlab-tool-call-streaming .streamlab-tool-args');
  return reasoning && call && reasoning.innerText.length > 20 && call.innerText.length > 10
    ? {reasoning: reasoning.innerText, args: call.innerText} : null;
}
"""


def test_reasoning_and_a_growing_tool_call_are_shown_while_they_stream(lab_server, lab_page):
    nb = _open_cells(lab_page, lab_server, "tool_demo.ipynb", TOOL_CELLS)
    nb.run_all()
    # Mid-way, causally: the reasoning is on screen and the call's arguments are
    # still marked as streaming (their line grows while the screenshot is taken).
    midway = lab_page.wait_for_function(_MIDWAY_JS, timeout=90_000).json_value()
    nb.screenshot("streamview-tool-call-midstream.png", selector=".streamlab-view")
    assert midway["args"].startswith('{"city"') or midway["args"].startswith("…"), midway
    lab_page.wait_for_function(
        "(n) => { const a = document.querySelector("
        "'.streamlab-streamed-box .streamlab-tool-call .streamlab-tool-args');"
        " return a && a.innerText.length > n; }",
        arg=len(midway["args"]),
        timeout=30_000,
    )  # the same line grew after that

    cells = nb.wait_done(timeout=90)
    problems = nb.problems(cells)
    assert not problems, "\n\n".join(problems)
    assert "calls: ['get_weather']" in lab_page.locator(".jp-OutputArea").last.inner_text()
    done = lab_page.locator(".streamlab-streamed-box .streamlab-tool-call-done")
    assert done.count() == 1 and "get_weather" in done.inner_text()
    nb.screenshot("streamview-tool-call.png", selector=".streamlab-view")
