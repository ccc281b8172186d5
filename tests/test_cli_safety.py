"""The ``sloxide`` command is safe and quiet (issue 21 items 1, 2, 9, 10; issue 20 item 4).

Every test runs the exact command in a subprocess, as a user would, and checks the
exit status, the message, and that nothing outside what sloxide wrote has changed
(a hash of every file under the folder, before and after). Argument errors come
before any catalog is opened, so those commands cost an interpreter start only.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from services import free_port

from sloxide.export import open_exported

TIMEOUT = 180  # seconds for one command on a busy machine
KEY = "cli0safety0key0123456789"


# --------------------------------------------------------------------------- helpers


def tree(folder: Path) -> dict[str, str]:
    """Every entry under ``folder``: a file's sha256, or "dir"."""
    found = {}
    for path in sorted(folder.rglob("*")):
        name = path.relative_to(folder).as_posix()
        found[name] = "dir" if path.is_dir() else hashlib.sha256(path.read_bytes()).hexdigest()
    return found


def environment(home: Path) -> dict[str, str]:
    # A user data directory of the test's own: no command may touch the real one.
    return {**os.environ, "XDG_DATA_HOME": str(home), "TILED_API_KEY": KEY}


def sloxide(*args: str, cwd: Path, home: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "sloxide.cli", *args],
        cwd=cwd,
        env=environment(home),
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
    )


def assert_refused(result: subprocess.CompletedProcess, *phrases: str) -> None:
    """Exit status 2, one line on stderr naming the problem, nothing on stdout."""
    err = result.stderr
    assert result.returncode == 2, (result.returncode, result.stdout, err)
    assert err.startswith("sloxide: error: "), err
    assert len(err.strip().splitlines()) == 1, err
    assert "Traceback" not in err and result.stdout == "", (result.stdout, err)
    for phrase in phrases:
        assert phrase in err, (phrase, err)


def assert_quiet_success(result: subprocess.CompletedProcess) -> None:
    assert result.returncode == 0, (result.stdout, result.stderr)
    assert result.stderr == "", result.stderr  # no warning, no banner, no progress bar


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """A catalog with two runs (an FC magnetization and an R(T) sweep), made once."""
    from bluesky import RunEngine

    from sloxide.catalog import open_catalog, subscribe
    from sloxide.devices.sim import SimWorld, sim_lab
    from sloxide.plans import fc_magnetization, rt_sweep

    directory = tmp_path_factory.mktemp("catalog")
    RE = RunEngine({})
    subscribe(RE, open_catalog(directory, create=True))
    devices = sim_lab(SimWorld(sample="C10/L6", seed=1))
    cryostat = devices["cryostat"]
    (fc,) = RE(fc_magnetization(cryostat, start=150, stop=2, step=2, sample="C10/L6"))
    (rt,) = RE(
        rt_sweep(devices["hallbar"], cryostat, start=300, stop=20, step=40, sample="C10/L6")
    )
    return {"catalog": directory, "fc": fc, "rt": rt, "home": tmp_path_factory.mktemp("home")}


def users_folder(parent: Path) -> Path:
    """A user's folder under ``parent``, with files sloxide must never touch."""
    work = parent / "work"
    (work / "sub").mkdir(parents=True)
    (work / "notes.txt").write_text("my notes\n")
    (work / "sub" / "y.txt").write_text("y\n")
    (work / "notes.json").write_text('{"mine": true}\n')
    return work


@pytest.fixture
def folder(tmp_path):
    """A user's folder, with files sloxide must never touch."""
    return users_folder(tmp_path)


def export(lab, folder, *args: str, fmt: str = "zarr", run: str = "fc"):
    return sloxide(
        "export", lab[run], "--catalog", str(lab["catalog"]), "--format", fmt, *args,
        cwd=folder, home=lab["home"],
    )  # fmt: skip


# --------------------------------------------------------------------------- 21.1 zarr


@pytest.mark.parametrize(
    "output, extra",
    [("work", []), ("work", ["--force"]), (".", []), (".", ["--force"])],
    ids=["dir", "dir-forced", "cwd", "cwd-forced"],
)
def test_zarr_export_never_writes_into_a_folder_that_holds_other_files(lab, folder, output, extra):
    target = str(folder) if output == "work" else "."
    before = tree(folder)
    result = export(lab, folder, "-o", target, *extra)
    assert_refused(result, "not a Zarr store", "notes.json")
    assert tree(folder) == before


def test_zarr_export_makes_a_store_and_force_replaces_only_a_pure_store(lab, folder):
    before = tree(folder)
    store = folder / "run.zarr"
    made = export(lab, folder, "-o", "run.zarr")
    assert_quiet_success(made)
    assert made.stdout.strip() == str(store)
    back = open_exported(store)
    assert back.cryostat_moment.attrs["units"] == "emu"
    assert back.attrs["sloxide"]["measurement"] == "fc_magnetization"
    assert {k: v for k, v in tree(folder).items() if not k.startswith("run.zarr")} == before

    stored = tree(folder)
    assert_refused(export(lab, folder, "-o", "run.zarr"), "holds a Zarr store", "--force")
    assert tree(folder) == stored

    replaced = export(lab, folder, "-o", "run.zarr", "--force", run="rt")
    assert_quiet_success(replaced)
    assert open_exported(store).attrs["sloxide"]["measurement"] == "rt"
    assert {k: v for k, v in tree(folder).items() if not k.startswith("run.zarr")} == before
    assert not [p for p in folder.iterdir() if "sloxide-tmp" in p.name]  # no leftovers

    (store / "README.txt").write_text("what this store is\n")  # a user's file in the store
    mixed = tree(folder)
    assert_refused(export(lab, folder, "-o", "run.zarr", "--force"), "README.txt", "--force")
    assert tree(folder) == mixed


def test_zarr_export_into_an_empty_working_directory(lab, tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    result = export(lab, empty, "-o", ".")
    assert_quiet_success(result)
    assert open_exported(empty).cryostat_moment.attrs["units"] == "emu"


# --------------------------------------------------------------------------- 21.2 csv


@pytest.mark.parametrize("name", ["notes.csv", "data.json"])
def test_csv_sidecar_never_collides_with_the_table_or_a_users_file(lab, folder, name):
    before = tree(folder)
    result = export(lab, folder, "-o", name, fmt="csv")
    assert_quiet_success(result)
    table, sidecar = folder / name, folder / f"{name}.sloxide.json"
    assert result.stdout.split() == [str(table), str(sidecar)]
    header = table.read_text().splitlines()[0]
    assert "cryostat_moment [emu]" in header  # the table, not the sidecar
    assert {k: v for k, v in tree(folder).items() if k not in (name, sidecar.name)} == before
    back = open_exported(table)  # finds its sidecar
    assert back.cryostat_moment.attrs["units"] == "emu"
    assert back.attrs["sloxide"]["measurement"] == "fc_magnetization"


def test_an_existing_output_or_sidecar_needs_force(lab, folder):
    (folder / "run.csv.sloxide.json").write_text("a user's file of that name\n")
    before = tree(folder)
    assert_refused(export(lab, folder, "-o", "run.csv", fmt="csv"), "run.csv.sloxide.json")
    assert_refused(export(lab, folder, "-o", "notes.txt", fmt="netcdf"), "exists", "--force")
    assert tree(folder) == before

    forced = export(lab, folder, "-o", "notes.txt", "--force", fmt="netcdf")
    assert_quiet_success(forced)
    assert open_exported(folder / "notes.txt").attrs["sloxide"]["measurement"] == (
        "fc_magnetization"
    )
    assert {k: v for k, v in tree(folder).items() if k != "notes.txt"} == {
        k: v for k, v in before.items() if k != "notes.txt"
    }


# --------------------------------------------------------------------------- 21.9 and 21.10


def _unwritable(tmp_path: Path) -> str:
    """A directory this process cannot write in: /sys for root, else a chmod 500 one."""
    if os.geteuid() == 0:
        return "/sys/sloxide-test"
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    return str(locked / "inside")


REFUSED = {
    "csv to a directory": (["export", "UID", "--format", "csv", "-o", "sub"], ["is a directory"]),
    "netcdf to a directory": (
        ["export", "UID", "--format", "netcdf", "-o", "sub"],
        ["is a directory"],
    ),
    "missing parent": (
        ["export", "UID", "--format", "netcdf", "-o", "nowhere/run.nc"],
        ["does not exist"],
    ),
    "existing file": (["export", "UID", "--format", "csv", "-o", "notes.txt"], ["--force"]),
    "method without results": (
        ["export", "UID", "--format", "csv", "-o", "x.csv", "--method", "ahe"],
        ["--results"],
    ),
    "reduce out is a file": (["reduce", "--out", "notes.txt"], ["--out", "is a file"]),
    "demo out is a file": (["demo", "--out", "notes.txt"], ["--out", "is a file"]),
    "demo out unwritable": (["demo", "--quick", "--out", "UNWRITABLE"], ["cannot write"]),
    "demo data unwritable": (["demo", "--data", "UNWRITABLE"], ["--data", "cannot write"]),
    "serve unwritable": (
        ["serve", "--allow-writes", "--catalog", "UNWRITABLE", "--port", "8000"],
        ["--catalog", "cannot write"],
    ),
    "port 70000": (["serve", "--port", "70000"], ["'70000' is not a TCP port", "1 to 65535"]),
    "port 65536": (["serve", "--port", "65536"], ["not a TCP port"]),
    "port 0": (["serve", "--port", "0"], ["not a TCP port"]),
    "empty host": (["serve", "--host", ""], ["address to bind is empty"]),
    "empty prefix": (["ioc", "--prefix", ""], ["not a PV prefix"]),
    "unknown sample": (["ioc", "--sample", "C99/L1"], ["unknown sample", "C10/L6"]),
    "negative seed": (["demo", "--seed", "-1"], ["seed"]),
    "verbose and quiet": (["reduce", "-v", "-q"], ["not allowed with"]),
}


@pytest.fixture(scope="module")
def refusals(lab, tmp_path_factory):
    """Every REFUSED command, each in a process and a user's folder of its own.

    The commands are independent, so they are started together and then awaited
    (as the help test below does): each process is still a fresh interpreter
    running one command, and the two cores overlap their start-up.
    """
    base = tmp_path_factory.mktemp("refused")
    catalog = tree(lab["catalog"])
    started = {}
    for index, (case, (args, _)) in enumerate(REFUSED.items()):
        place = base / f"case{index}"
        place.mkdir()
        work = users_folder(place)
        unwritable = _unwritable(place)
        args = [lab["fc"] if a == "UID" else unwritable if a == "UNWRITABLE" else a for a in args]
        if args[0] in ("export", "reduce"):
            args += ["--catalog", str(lab["catalog"])]
        before = tree(work)
        process = subprocess.Popen(
            [sys.executable, "-m", "sloxide.cli", *args],
            cwd=work, env=environment(lab["home"]), stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        started[case] = (process, work, unwritable, before)
    done = {}
    try:
        for case, (process, work, unwritable, before) in started.items():
            out, err = process.communicate(timeout=TIMEOUT)
            result = subprocess.CompletedProcess(process.args, process.returncode, out, err)
            done[case] = (result, work, unwritable, before)
    finally:
        for process, *_ in started.values():
            with contextlib.suppress(ProcessLookupError):
                process.kill()
    return catalog, done


@pytest.mark.parametrize("case", list(REFUSED))
def test_bad_arguments_are_one_line_errors_before_any_work(lab, refusals, case):
    catalog, done = refusals
    result, work, unwritable, before = done[case]
    assert_refused(result, *REFUSED[case][1])
    assert tree(work) == before and tree(lab["catalog"]) == catalog
    assert not Path(unwritable).exists()
    assert not (lab["home"] / "sloxide").exists()  # the default catalog was never made


def test_an_unreachable_scheduler_is_refused_in_seconds(lab, folder):
    closed = free_port()  # nobody listens there
    before, catalog = tree(folder), tree(lab["catalog"])
    started = time.monotonic()
    result = sloxide(
        "reduce", "--catalog", str(lab["catalog"]), "--out", "summary",
        "--scheduler", f"tcp://127.0.0.1:{closed}", cwd=folder, home=lab["home"],
    )  # fmt: skip
    took = time.monotonic() - started
    assert_refused(result, f"cannot reach the dask scheduler at tcp://127.0.0.1:{closed}")
    assert took < 25, took  # dask's own connect would wait 30 s before its OSError
    assert tree(folder) == before and tree(lab["catalog"]) == catalog


# --------------------------------------------------------------------------- 20.4 quiet


def test_every_subcommand_has_quiet_help(lab, tmp_path):
    commands = ["demo", "reduce", "export", "ioc", "serve", "ls", "import"]
    processes = {
        name: subprocess.Popen(
            [sys.executable, "-m", "sloxide.cli", name, "--help"],
            env=environment(lab["home"]),
            cwd=tmp_path,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )  # fmt: skip
        for name in commands
    }
    for name, process in processes.items():
        out, err = process.communicate(timeout=TIMEOUT)
        assert process.returncode == 0 and err == "", (name, err)
        assert f"usage: sloxide {name}" in out
        assert "--verbose" in out and "--quiet" in out, name


def test_reduce_on_a_small_catalog_is_quiet(lab, tmp_path):
    result = sloxide(
        "reduce", "--catalog", str(lab["catalog"]), "--out", "out", cwd=tmp_path,
        home=lab["home"],
    )  # fmt: skip
    assert_quiet_success(result)
    assert "2 reduced" in result.stdout or "2 already reduced" in result.stdout, result.stdout
    assert "Tc" in (tmp_path / "out" / "summary.csv").read_text()


def _stopped_quietly(command: list[str], env: dict[str, str], ready, cwd: Path) -> str:
    """Start ``command``, wait for ``ready(first stdout line)``, SIGINT it; its stdout."""
    process = subprocess.Popen(
        [sys.executable, "-m", "sloxide.cli", *command],
        env=env, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    watchdog = threading.Timer(TIMEOUT, process.kill)  # a hang fails, never blocks the run
    watchdog.start()
    try:
        assert process.stdout is not None
        line = process.stdout.readline()  # blocks until the command announces itself
        assert ready(line), (line, process.stderr.read() if process.poll() is not None else "")
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=60)
    finally:
        watchdog.cancel()
        with contextlib.suppress(ProcessLookupError):
            process.kill()
    assert process.returncode == 0, (process.returncode, err)
    assert err == "", err
    return line + out


def test_serve_starts_and_stops_quietly(lab, tmp_path):
    port = free_port()
    out = _stopped_quietly(
        ["serve", "--catalog", str(lab["catalog"]), "--port", str(port)],
        environment(lab["home"]),
        lambda line: f"http://127.0.0.1:{port}" in line,
        tmp_path,
    )
    assert "Tiled version" not in out and KEY not in out


def test_ioc_starts_and_stops_quietly(lab, tmp_path):
    from sloxide.ioc import _answers_search, ca_environment
    from sloxide.ioc import free_port as ca_port

    port = ca_port()
    env = {**environment(lab["home"]), **ca_environment(port, ca_port())}

    def serving(line: str) -> bool:
        deadline = time.monotonic() + 60
        while not _answers_search("127.0.0.1", port, "CLI:SIM:Faults", timeout=0.2):
            if time.monotonic() > deadline:
                return False
        return f"as CLI:* on Channel Access port {port}" in line

    _stopped_quietly(["ioc", "--prefix", "CLI:", "--mode", "instant"], env, serving, tmp_path)
