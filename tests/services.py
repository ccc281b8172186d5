"""Real services for the deployment tests: free ports, waiting, and skip-or-fail.

The tests start what they need (redis, PostgreSQL, the RE Manager, sloxide serve, ...) as subprocesses. Where a
service is not installed they skip, unless ``SLOXIDE_REQUIRE_SERVICES=1`` (CI sets
it), in which case a missing service is a failure, so nothing can silently skip there.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import sysconfig
import tempfile
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


def stop_process(process: subprocess.Popen, timeout: float = 10) -> int:
    """SIGTERM ``process`` and wait; SIGKILL it if it has not exited within ``timeout`` s."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=timeout)
    return int(process.returncode)


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
        stop_process(process)
        if process.stdout:
            process.stdout.close()


# --------------------------------------------------------------------------- HTTP servers


def healthy(url: str) -> bool:
    """True when the Tiled server at ``url`` answers ``/healthz`` with 200."""
    import httpx

    try:
        return httpx.get(url.rstrip("/") + "/healthz", timeout=2).status_code == 200
    except httpx.TransportError:
        return False


def wait_healthy(url: str, timeout: float, what: str, process=None) -> None:
    """Wait until the Tiled server at ``url`` is up (:func:`healthy`), else fail saying why."""
    wait_for(lambda: healthy(url), timeout, what, process)


# --------------------------------------------------------------------------- PostgreSQL


def postgres_binaries() -> str | None:
    """The directory of PostgreSQL's server programs (Debian's layout, or pg_config's)."""
    import glob

    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if found:
        return os.path.dirname(found[-1])
    pg_config = shutil.which("pg_config")
    if pg_config:
        bindir = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True)
        if os.path.exists(os.path.join(bindir.stdout.strip(), "initdb")):
            return bindir.stdout.strip()
    return None


class PostgresCluster:
    """A throwaway PostgreSQL cluster on a free port: initdb, pg_ctl start/stop, createdb.

    PostgreSQL refuses to run as root, so as root its programs run as the
    ``postgres`` user (runuser), in a directory straight under the temporary
    directory, which that user can reach (pytest's own are private). Trust
    authentication on 127.0.0.1 only, one superuser ``sloxide``.
    """

    USER = "sloxide"

    def __init__(self) -> None:
        bindir = postgres_binaries()
        require(bindir is not None, "PostgreSQL's server programs are not installed")
        root = os.geteuid() == 0
        require(not root or shutil.which("runuser") is not None, "runuser is needed as root")
        assert bindir is not None
        self.bindir = bindir
        self._as_owner = ["runuser", "-u", "postgres", "--"] if root else []
        self.directory = tempfile.mkdtemp(prefix="sloxide-postgres-")
        if root:
            shutil.chown(self.directory, "postgres")
        self.data = os.path.join(self.directory, "data")
        self.port = free_port()
        self.run("initdb", "-D", self.data, "-A", "trust", "-U", self.USER)

    def run(self, program: str, *arguments: str) -> None:
        """Run one of PostgreSQL's programs (as its owner); fail the test if it fails."""
        command = [*self._as_owner, os.path.join(self.bindir, program), *arguments]
        done = subprocess.run(command, capture_output=True, text=True, timeout=120)
        if done.returncode != 0:
            pytest.fail(f"PostgreSQL {program} failed ({done.returncode}):\n{done.stderr}")

    def start(self) -> None:
        options = f"-p {self.port} -k {self.directory} -c listen_addresses=127.0.0.1"
        log = os.path.join(self.directory, "log")
        self.run("pg_ctl", "-D", self.data, "-o", options, "-l", log, "-w", "start")

    def stop(self) -> None:
        self.run("pg_ctl", "-D", self.data, "-m", "fast", "-w", "stop")

    def createdb(self, name: str) -> str:
        """Create database ``name``; its ``postgresql://`` URI."""
        self.run("createdb", "-h", "127.0.0.1", "-p", str(self.port), "-U", self.USER, name)
        return self.uri(name)

    def uri(self, name: str) -> str:
        return f"postgresql://{self.USER}@127.0.0.1:{self.port}/{name}"

    def remove(self) -> None:
        with contextlib.suppress(BaseException):
            self.stop()
        shutil.rmtree(self.directory, ignore_errors=True)


#: Seconds ``sloxide serve`` may take to answer: importing tiled and opening the catalog
#: take ~6 s; CI machines are slow.
SERVE_STARTUP_SECONDS = 90


class SloxideServe:
    """One ``sloxide serve`` process, its stdout and stderr in files under ``logs``.

    ``catalog`` is what ``--catalog`` takes (a directory, or a database URI with
    ``--data`` among ``flags``). ``key`` becomes ``TILED_API_KEY`` (None: unset);
    every other ``TILED_*`` variable of this process is dropped, and ``env`` is
    added. :meth:`wait` returns once ``/healthz`` answers; :meth:`stop` sends
    SIGTERM (then SIGKILL) and returns the exit status.
    """

    def __init__(
        self,
        catalog: str | os.PathLike,
        logs: str | os.PathLike,
        *flags: str,
        key: str | None = None,
        env: dict | None = None,
        port: int | None = None,
    ) -> None:
        self.catalog = catalog
        self.logs = logs
        self.flags = flags
        self.port = free_port() if port is None else port
        self.url = f"http://127.0.0.1:{self.port}"
        self.environment = {k: v for k, v in os.environ.items() if not k.startswith("TILED_")}
        if key is not None:
            self.environment["TILED_API_KEY"] = key
        self.environment.update(env or {})
        self.stdout_path = os.path.join(logs, "stdout.txt")
        self.stderr_path = os.path.join(logs, "stderr.txt")
        self.start()

    def start(self) -> None:
        """Start (or start again, on the same port, appending to the same logs)."""
        with open(self.stdout_path, "a") as out, open(self.stderr_path, "a") as err:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "sloxide.cli", "serve", "--catalog", str(self.catalog)]
                + ["--port", str(self.port), *self.flags],
                env=self.environment,
                stdout=out,
                stderr=err,
            )
        self._ready = False

    def output(self) -> tuple[str, str]:
        with open(self.stdout_path) as out, open(self.stderr_path) as err:
            return out.read(), err.read()

    def wait(self, timeout: float = SERVE_STARTUP_SECONDS) -> SloxideServe:
        if not self._ready:
            deadline = time.monotonic() + timeout
            while not healthy(self.url):
                if self.process.poll() is not None:
                    out, err = self.output()
                    pytest.fail(
                        f"sloxide serve exited with {self.process.returncode}:\n{out}\n{err}"
                    )
                if time.monotonic() > deadline:
                    self.stop()
                    pytest.fail(f"sloxide serve not ready in {timeout:g} s:\n{self.output()}")
                time.sleep(0.2)
            self._ready = True
        return self

    def stop(self) -> int:
        return stop_process(self.process, timeout=30)

    def kill(self) -> None:
        """SIGKILL: the server dies mid-request, as in a crash or a power cut."""
        self.process.kill()
        self.process.wait()
