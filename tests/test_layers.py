"""Layering (DESIGN.md): the physics model and the analysis never import each other.

The simulated world sits between the model and the devices and loads no ophyd, and the
device modules import one another without a cycle.

The analysis must recover the model's physical inputs on its own; a model that imports
the analysis can calibrate itself with it, and then the recovery proves nothing. What both
share lives in ``sloxide.constants``. Two checks: the static imports of every module
(including imports inside functions), and what importing each model module really loads.
The same contracts are in pyproject.toml for ``lint-imports``.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

import sloxide

PACKAGE = Path(sloxide.__file__).parent
MODEL_MODULES = sorted(
    f"sloxide.model.{p.stem}" for p in (PACKAGE / "model").glob("*.py") if p.stem != "__init__"
)
#: What the model may import from sloxide: the layers below it (DESIGN.md, Layering).
MODEL_MAY_IMPORT = ("sloxide.model", "sloxide.constants", "sloxide.errors", "sloxide.units")
#: What the model may never load, directly or through another module.
MODEL_MUST_NOT_LOAD = (
    "sloxide.analysis",
    "sloxide.accessor",
    "sloxide.devices",
    "sloxide.plans",
    "ophyd",
    "bluesky",
    "tiled",
)


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> set[str]:
    """Absolute names of everything a module imports, at any depth of its code."""
    module = _module_name(path)
    package = module if path.stem == "__init__" else module.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            found.add(target)
            # `from . import x` imports the submodule x.
            found.update(f"{target}.{alias.name}" for alias in node.names)
    return found


def _within(name: str, prefixes: tuple[str, ...]) -> bool:
    return any(name == p or name.startswith(p + ".") for p in prefixes)


@pytest.mark.parametrize("path", sorted((PACKAGE / "model").glob("*.py")), ids=lambda p: p.stem)
def test_model_imports_only_the_layers_below_it(path):
    names = _imports(path)
    own = {n for n in names if _within(n, ("sloxide",)) and not _within(n, MODEL_MAY_IMPORT)}
    assert not own, f"{_module_name(path)} imports {sorted(own)}; it may use {MODEL_MAY_IMPORT}"
    external = {n for n in names if _within(n, MODEL_MUST_NOT_LOAD)}
    assert not external, f"{_module_name(path)} imports {sorted(external)}"


def test_constants_import_nothing_from_sloxide():
    names = _imports(PACKAGE / "constants.py")
    assert not {n for n in names if _within(n, ("sloxide",))}, names


def test_analysis_imports_nothing_from_the_model_or_devices():
    offenders = {}
    for path in sorted((PACKAGE / "analysis").glob("*.py")):
        bad = {n for n in _imports(path) if _within(n, ("sloxide.model", "sloxide.devices"))}
        if bad:
            offenders[_module_name(path)] = sorted(bad)
    assert not offenders


# A fresh interpreter with a bare `sloxide` package: its __init__ (which registers the
# accessor, and so imports the analysis) does not run, so sys.modules shows exactly what
# the model modules pull in.
_PROBE = """
import json, sys, types
package = types.ModuleType("sloxide")
package.__path__ = [{path!r}]
sys.modules["sloxide"] = package
import importlib
for name in {modules!r}:
    importlib.import_module(name)
print(json.dumps(sorted(sys.modules)))
"""


def test_importing_the_model_loads_no_analysis_devices_or_acquisition():
    code = _PROBE.format(path=str(PACKAGE), modules=MODEL_MODULES)
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    loaded = json.loads(done.stdout)
    assert set(MODEL_MODULES) <= set(loaded)
    bad = [name for name in loaded if _within(name, MODEL_MUST_NOT_LOAD)]
    assert not bad, f"importing the model loads {bad}"


def test_the_probe_would_see_an_analysis_import():
    # The check above is not vacuous: the same probe on an analysis module sees it.
    code = _PROBE.format(path=str(PACKAGE), modules=["sloxide.analysis.xld"])
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    assert "sloxide.analysis.xld" in json.loads(done.stdout)


#: What the simulated world may never load: it sits below the devices and the IOC.
SIMULATION_MUST_NOT_LOAD = (
    "sloxide.devices",
    "sloxide.ioc",
    "sloxide.plans",
    "sloxide.analysis",
    "ophyd",
    "bluesky",
    "caproto",
    "tiled",
)


def test_importing_the_simulated_world_loads_no_ophyd_or_devices():
    modules = ["sloxide.simulation.world"]
    code = _PROBE.format(path=str(PACKAGE), modules=modules)
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    loaded = json.loads(done.stdout)
    assert "sloxide.model.magnetometry" in loaded  # the world reads the model
    bad = [name for name in loaded if _within(name, SIMULATION_MUST_NOT_LOAD)]
    assert not bad, f"importing the simulated world loads {bad}"


def _cycle(graph: dict[str, set[str]]) -> list[str]:
    """One import cycle of ``graph`` (module -> the modules it imports), or []."""
    done: set[str] = set()

    def visit(node: str, path: list[str]) -> list[str]:
        if node in path:
            return path[path.index(node) :] + [node]
        if node in done:
            return []
        for nxt in sorted(graph.get(node, ())):
            found = visit(nxt, path + [node])
            if found:
                return found
        done.add(node)
        return []

    for node in sorted(graph):
        found = visit(node, [])
        if found:
            return found
    return []


def test_the_cycle_finder_sees_a_cycle():
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set()}) == []


def test_device_modules_import_one_another_without_a_cycle():
    paths = sorted((PACKAGE / "devices").glob("*.py"))
    modules = {_module_name(p) for p in paths}
    graph = {_module_name(p): _imports(p) & modules for p in paths}
    assert not _cycle(graph), " -> ".join(_cycle(graph))


def test_model_and_analysis_use_the_same_shared_constants():
    from sloxide import constants
    from sloxide.analysis import xld
    from sloxide.analysis.multilayer import superlattice_thickness
    from sloxide.model.samples import SAMPLES

    assert xld.O_K_BANDS is constants.O_K_BANDS
    assert (xld.NI_L2_STEP_CENTER, xld.NI_L2_STEP_WIDTH) == (870.6, 0.8)
    for sample in SAMPLES.values():
        if sample.repetitions == constants.SUPERLATTICE_REPETITIONS:
            t = superlattice_thickness(sample.n_cro, sample.m_lno).to("nm").magnitude
            assert sample.thickness_nm == pytest.approx(float(t), abs=1e-9), sample.name
