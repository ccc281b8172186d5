"""Wall time of the main job, ``sloxide demo``, in a fresh process and a fresh catalog."""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time


def run(quick: bool = False) -> dict[str, float]:
    """Seconds for ``sloxide demo`` end to end (target < 120 s on 2 cores)."""
    with tempfile.TemporaryDirectory() as tmp:
        command = [sys.executable, "-m", "sloxide.cli", "demo", "--data", f"{tmp}/data"]
        command += ["--out", f"{tmp}/out"] + (["--quick"] if quick else [])
        start = time.perf_counter()
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        seconds = time.perf_counter() - start
    return {
        "demo wall time (s)": seconds,
        "demo wall time / 120 s target": seconds / 120.0,
        "exit code (0: every value within tolerance)": float(done.returncode),
    }
