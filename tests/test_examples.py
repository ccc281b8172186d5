"""Smoke tests of examples/: every script runs end to end in --quick mode.

Each script is run as a user would run it, in its own process and folder: the
simulated campaign into a temporary catalog, read back, reduced, plotted and printed.
The scripts are independent, so they run side by side, as many at a time as there
are cores, and each test then checks one script's output.
"""

import math
import os
import re
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

pytest.importorskip("bluesky")
pytest.importorskip("tiled")
pytest.importorskip("matplotlib")

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"

# script: (the PNG it writes, labels its printed key numbers must include)
SCRIPTS = {
    "fig2a_resistivity.py": ("fig2a_resistivity.png", ["C10/L6 ρ_xx(300 K)", "parallel model"]),
    "fig2bc_ahe_mr_c10l6.py": (
        "fig2bc_ahe_mr_c10l6.png",
        ["C10/L6 R0 (2 K)", "C10/L6 Δρ_AHE (2 K)", "C10/L6 µ0H_C (2 K)", "MR (9 T, 2 K)"],
    ),
    "fig2f_ahe_conductivity_and_tc.py": (
        "fig2f_ahe_conductivity_and_tc.png",
        ["C10/L6 σ_AHE (2 K)", "C10/L6 T_c", "C10/L6 σ_AH (Δρ_AHE vs ρ_xx²"],
    ),
    "fig3a_ni_l2_valence.py": ("fig3a_ni_l2_valence.png", ["C10/L2 I_a/(I_a + I_b)"]),
    "fig4_xld_orbital_polarization.py": (
        "fig4_xld_orbital_polarization.png",
        ["C2/L2 orbital polarization P", "O K XLD, Ru t2g", "O K XLD, Ru eg"],
    ),
    "fig5_amr.py": ("fig5_amr.png", ["C2/L6 (001) 5 K c4", "C10/L2 (010) 20 K c2"]),
    "multivu_import.py": (
        "multivu_import.png",
        ["C10/L6 µ0H_C (2 K, imported)", "C10/L6 Δρ_AHE (2 K, imported)", "MPMS3 loop M_s"],
    ),
}

# A key-number line: "<label> = <value> <unit> (paper: <the paper's value>)".
KEY_NUMBER = re.compile(r"^(?P<label>.+?)\s+=\s+(?P<value>\S+)\s.*\(paper: .+\)$")


def test_every_script_is_tested():
    assert sorted(p.name for p in EXAMPLES.glob("*.py")) == sorted(SCRIPTS)


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict[str, tuple[subprocess.CompletedProcess, Path]]:
    """Every script run once, in its own process and folder: its result and output folder."""
    folders = {script: tmp_path_factory.mktemp(Path(script).stem) for script in SCRIPTS}
    env = {**os.environ, "MPLBACKEND": "Agg", "PYTHONIOENCODING": "utf-8"}

    def run(script: str) -> tuple[subprocess.CompletedProcess, Path]:
        out = folders[script] / "out"
        result = subprocess.run(
            [sys.executable, str(EXAMPLES / script), "--quick", "--out", str(out)],
            capture_output=True,
            encoding="utf-8",
            env=env,
            cwd=folders[script],
            timeout=600,
        )
        return result, out

    with ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
        return dict(zip(SCRIPTS, pool.map(run, SCRIPTS), strict=True))


@pytest.mark.parametrize("script", sorted(SCRIPTS))
def test_example_runs(script, runs):
    png, labels = SCRIPTS[script]
    result, out = runs[script]
    assert result.returncode == 0, f"{script} failed:\n{result.stdout}\n{result.stderr}"

    figure = out / png
    assert figure.is_file(), f"{script} wrote no {png}; {sorted(p.name for p in out.iterdir())}"
    assert figure.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert figure.stat().st_size > 10_000, f"{png} is only {figure.stat().st_size} bytes"

    numbers = {}
    for line in result.stdout.splitlines():
        match = KEY_NUMBER.match(line)
        if match:
            numbers[match["label"]] = float(match["value"])
    assert numbers, f"{script} printed no key numbers:\n{result.stdout}"
    assert all(math.isfinite(v) for v in numbers.values()), numbers
    for label in labels:
        assert any(label in k for k in numbers), f"no {label!r} in {sorted(numbers)}"
