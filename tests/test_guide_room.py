"""The guide's "Running a room" snippets: the names they use exist, and their figures agree.

The ``jupyterhub_config.py`` snippet is also loaded by the real hub of
``tests/room`` (``test_the_hub_loads_the_guides_config_snippet``).
"""

from __future__ import annotations

import re

import yaml
from _support import ROOT

GUIDE = ROOT / "notebooks" / "README.md"

# Leaves of the Zero to JupyterHub chart's values the guide may set, as its
# jupyterhub/values.schema.yaml names them (singleuser.image, .cpu, .memory).
Z2JH_VALUES = {
    "singleuser.image.name",
    "singleuser.image.tag",
    "singleuser.cpu.guarantee",
    "singleuser.cpu.limit",
    "singleuser.memory.guarantee",
    "singleuser.memory.limit",
}
# What `tljh-config set` accepts under limits (TLJH's config schema: limits.memory, limits.cpu).
TLJH_LIMITS = {"limits.cpu", "limits.memory"}
MEMORY = re.compile(r"^\d+(\.\d+)?[KMGT]$")  # the suffixes both JupyterHub and z2jh take


def _section() -> str:
    text = GUIDE.read_text()
    section = text[text.index("## Running a room") :]
    return section[: section.index("\n## ", 1)]


def _blocks(lang: str) -> list[str]:
    return re.findall(rf"```{lang}\n(.*?)```", _section(), re.S)


def _leaves(tree: dict, prefix: str = "") -> dict[str, object]:
    out: dict[str, object] = {}
    for key, value in tree.items():
        path = f"{prefix}{key}"
        out |= _leaves(value, path + ".") if isinstance(value, dict) else {path: value}
    return out


def _bytes(size: str) -> float:
    return float(size[:-1]) * 1024 ** "KMGT".index(size[-1])


def test_z2jh_values_are_chart_names_with_sane_figures():
    (block,) = _blocks("yaml")
    values = _leaves(yaml.safe_load(block))
    assert set(values) <= Z2JH_VALUES, set(values) - Z2JH_VALUES
    cpu_g, cpu_l = values["singleuser.cpu.guarantee"], values["singleuser.cpu.limit"]
    assert isinstance(cpu_g, float | int) and isinstance(cpu_l, float | int) and 0 < cpu_g <= cpu_l
    mem_g, mem_l = values["singleuser.memory.guarantee"], values["singleuser.memory.limit"]
    assert MEMORY.match(mem_g) and MEMORY.match(mem_l), (mem_g, mem_l)
    assert _bytes(mem_g) <= _bytes(mem_l)


def test_tljh_limits_match_the_config_snippet():
    (bash,) = _blocks("bash")
    limits = dict(re.findall(r"tljh-config set (\S+) (\S+)", bash))
    assert set(limits) == TLJH_LIMITS, limits
    (python,) = _blocks("python")
    assert f'c.Spawner.mem_limit = "{limits["limits.memory"]}"' in python
    assert f"c.Spawner.cpu_limit = {limits['limits.cpu']}" in python
    assert MEMORY.match(limits["limits.memory"]) and float(limits["limits.cpu"]) > 0
    assert "API_KEY" not in python, "the guide must never put a real key in the hub's config"


def test_the_sizing_table_names_its_machine_and_its_source():
    section = _section()
    assert "bench_room.py" in section
    rows = [line for line in section.splitlines() if line.startswith("|")]
    assert len(rows) >= 4, rows  # header, rule, at least two figures
    assert any("learners per core" in r for r in rows) and any(
        "memory per learner" in r for r in rows
    )
    assert re.search(r"\d+ cores?", section), "say which machine the figures were measured on"
