"""Notebooks are committed clean: small deterministic outputs only, and the
course's shape (objectives first, summary and exercises last)."""

from __future__ import annotations

import json
import re

import pytest
from _support import ROOT

# JupyterLab writes .ipynb_checkpoints/ copies beside opened notebooks: not ours.
NOTEBOOKS = sorted(
    p for p in ROOT.glob("notebooks/**/*.ipynb") if ".ipynb_checkpoints" not in p.parts
)
COURSE = sorted(ROOT.glob("notebooks/[0-9][0-9]-*.ipynb"))
MAX_OUTPUT_BYTES = 4000  # per notebook; bigger outputs belong in the learner's run only
VOLATILE = [
    (re.compile(r"application/vnd\.jupyter\.widget-view\+json"), "a widget view"),
    (re.compile(r"image/png|image/svg"), "an image"),
    (re.compile(r"0x[0-9a-f]{6,}"), "a memory address"),
    (re.compile(r"127\.0\.0\.1:\d{4,5}"), "a port number"),
    (re.compile(r"Traceback \(most recent call last\)"), "a traceback"),
]


def _ids(paths):
    return [str(p.relative_to(ROOT)) for p in paths]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_ids(NOTEBOOKS))
def test_outputs_are_small_and_deterministic(path):
    nb = json.loads(path.read_text())
    assert nb["metadata"].get("kernelspec", {}).get("name") == "python3", (
        f"{path.name}: set the kernelspec to python3 (nbval and JupyterLab rely on it)"
    )
    size = 0
    for i, cell in enumerate(nb["cells"]):
        if cell["cell_type"] != "code":
            continue
        assert cell.get("execution_count") is None, (
            f"{path.name} cell {i}: strip execution counts (make strip)"
        )
        outputs = json.dumps(cell.get("outputs", []))
        size += len(outputs) if cell.get("outputs") else 0
        for pattern, what in VOLATILE:
            assert not pattern.search(outputs), (
                f"{path.name} cell {i}: committed output holds {what} (make strip)"
            )
    assert size <= MAX_OUTPUT_BYTES, f"{path.name}: {size} bytes of outputs committed (make strip)"


@pytest.mark.parametrize("path", COURSE, ids=_ids(COURSE))
def test_course_notebook_shape(path):
    nb = json.loads(path.read_text())
    md = [c for c in nb["cells"] if c["cell_type"] == "markdown"]
    first = "".join(md[0]["source"]).lower() if md else ""
    assert "you will learn" in first, f"{path.name}: open with what the learner will learn"
    assert "**assumes**" in first, f"{path.name}: say what it assumes (an **Assumes** line)"
    text = "\n".join("".join(c["source"]) for c in md).lower()
    assert re.search(r"^#+ .*summary", text, re.M), f"{path.name}: close with a summary section"
    assert re.search(r"^#+ .*exercise", text, re.M), f"{path.name}: add exercises"
    code = "\n".join("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code")
    assert not re.search(r"^\s*[!%]\s*(pip|conda|mamba|apt)", code, re.M), (
        f"{path.name}: notebooks never install anything; the set-up does"
    )


def test_course_is_numbered_without_gaps():
    numbers = sorted(int(p.name[:2]) for p in COURSE)
    assert numbers == list(range(len(numbers))), (
        f"notebooks should be numbered 00, 01, ...: {numbers}"
    )


def test_the_notebooks_folder_holds_only_what_learners_use():
    # The course, its solutions and the workshop guide: test configuration lives elsewhere.
    import subprocess

    tracked = subprocess.run(
        ["git", "ls-files", "notebooks"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    allowed = re.compile(r"notebooks/((solutions/)?\d\d-[a-z0-9-]+\.ipynb|README\.md)")
    assert tracked, "git ls-files found no notebooks"
    assert [p for p in tracked if not allowed.fullmatch(p)] == []


EXERCISE_HEADING = re.compile(r"^(?:#+ |\*\*)Exercise (\d+\.\d+): (.+?)(?:\*\*|$)", re.M)
CHECK_TITLE = re.compile(r'run_check\(\s*"Exercise (\d+\.\d+): ([^"]+)"')


@pytest.mark.parametrize("path", COURSE, ids=_ids(COURSE))
def test_each_exercise_has_a_check_with_its_title(path):
    """The check's report names the exercise as the notebook's heading does."""
    nb = json.loads(path.read_text())
    text = "\n".join("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "markdown")
    headings = {n: t.rstrip(".").strip() for n, t in EXERCISE_HEADING.findall(text)}
    checks = ROOT / "src" / "streamlab" / "checks" / f"nb{path.name[:2]}.py"
    titles = dict(CHECK_TITLE.findall(checks.read_text()))
    assert headings, f"{path.name}: no exercise headings found"
    assert titles == headings, f"{path.name}: exercise headings and check titles differ"
