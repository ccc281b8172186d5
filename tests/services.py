"""Real services for the deployment tests: free ports, waiting, and skip-or-fail.

The tests start what they need (redis, the RE Manager, ...) as subprocesses. Where a
service is not installed they skip, unless ``SLOXIDE_REQUIRE_SERVICES=1`` (CI sets
it), in which case a missing service is a failure, so nothing can silently skip there.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sysconfig
import time
from collections.abc import Callable, Iterator, Sequence

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def require(condition: bool, why: str) -> None:
    """Skip the test when ``condition`` is false, or fail under SLOXIDE_REQUIRE_SERVICES=1."""
    if condition:
        return
    if os.environ.get("SLOXIDE_REQUIRE_SERVICES") == "1":
        pytest.fail(f"{why} (SLOXIDE_REQUIRE_SERVICES=1: the service must be there)")
    pytest.skip(why)


def require_executable(name: str) -> str:
    """The path of an executable on PATH (or next to the interpreter), else skip/fail."""
    # The scripts of the running environment first: a venv need not be on PATH.
    path = shutil.which(name, path=sysconfig.get_path("scripts")) or shutil.which(name)
    require(path is not None, f"{name} is not installed")
    assert path is not None
    return path


def free_port() -> int:
    """A TCP port nobody listens on now (the OS picks it)."""
    with contextlib.closing(socket.socket()) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for(check: Callable[[], bool], timeout: float, what: str, process=None) -> None:
    """Poll ``check()`` until true; fail with ``what`` (and the process output) after timeout."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            out = process.stdout.read() if process.stdout else ""
            pytest.fail(f"{what}: the process exited with {process.returncode}:\n{out[-3000:]}")
        with contextlib.suppress(OSError):
            if check():
                return
        time.sleep(0.1)
    pytest.fail(f"{what}: not ready within {timeout:g} s")


def port_open(port: int) -> bool:
    with socket.create_connection(("127.0.0.1", port), timeout=0.5):
        return True


@contextlib.contextmanager
def running(
    command: Sequence[str], *, env: dict | None = None, cwd: str | None = None
) -> Iterator:
    """A subprocess for the duration of the block; terminated (then killed) afterwards."""
    process = subprocess.Popen(
        list(command),
        env={**os.environ, **(env or {})},
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        yield process
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
        if process.stdout:
            process.stdout.close()
