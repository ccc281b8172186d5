"""Opening the embedded catalog safely (issue 21, items 4, 7, 8 and 12).

* processes that open a new catalog folder at once all succeed (a lock file);
* a mistyped path is an error, never a new empty catalog (``create=True`` creates);
* a user who may read but not write the folder reads it, and is told "not
  writable" only when writing is asked for;
* what sloxide creates is its owner's only: the folder 0700, its files 0600.

The read-only user is a real one: ``nobody`` through ``runuser`` when that user
can run this interpreter, otherwise root without the capabilities that bypass
file permissions (``setpriv``; e.g. when the interpreter lives under a 0700
``/root``), otherwise, as a non-root user, the folder made read-only.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import stat
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import pytest
from services import free_port, running, wait_for, wait_healthy

from sloxide.catalog import (
    CATALOG_FILENAME,
    LOCK_FILENAME,
    TABLES_FILENAME,
    CatalogError,
    open_catalog,
)
from sloxide.cli import main

pytest.importorskip("tiled")
httpx = pytest.importorskip("httpx")

TIMEOUT = 300
KEY = "catalogsafetykey0123456789"

WRITER = textwrap.dedent(
    """
    import json, os, sys, time
    from pathlib import Path
    import sloxide.catalog, tiled.catalog, tiled.server.app  # imported before the start line
    import bluesky.plans as bp
    from bluesky import RunEngine
    from sloxide.devices.sim import SimWorld, sim_lab

    directory, go = sys.argv[1], Path(sys.argv[2])
    go.with_name(f"ready-{os.getpid()}").touch()  # imported: waiting at the start line
    while not go.exists():  # every process is imported and waiting: open together
        time.sleep(0.01)
    catalog = sloxide.catalog.open_catalog(directory, create=True)  # the race under test
    RE = RunEngine({})
    sloxide.catalog.subscribe(RE, catalog)
    md = {"sloxide": {"measurement": "rt", "quantities": {"hallbar_R_xx": "R_xx"}}}
    # The writes take turns: two writers at once on one embedded catalog can meet
    # "database is locked" (one writer per embedded catalog; docs/storage.md), which is
    # not the first-open race this test is about.
    import fcntl
    with open(Path(sys.argv[2]).with_name("write.lock"), "w") as turn:
        fcntl.flock(turn, fcntl.LOCK_EX)
        (uid,) = RE(bp.count([sim_lab(SimWorld(seed=1))["hallbar"]], num=3, md=md))
    print(json.dumps(uid))
    """
)

READER = textwrap.dedent(
    """
    import json, sys, warnings
    from sloxide.catalog import open_catalog
    from sloxide.io import read_run
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        catalog = open_catalog(sys.argv[1])
    sizes = {uid: read_run(uid, catalog=catalog).sizes["time"] for uid in catalog}
    moved = [str(w.message) for w in caught if "moved or copied" in str(w.message)]
    print(json.dumps({"sizes": sizes, "moved_warning": moved}))
    """
)


def _python(code: str, *args: object, prefix: list[str] | None = None, check=True):
    done = subprocess.run(
        [*(prefix or []), sys.executable, "-c", code, *map(str, args)],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        cwd=tempfile.gettempdir(),
    )
    if check:
        assert done.returncode == 0, done.stderr[-4000:]
    return done


def _hashes(tree: Path) -> dict[str, str]:
    return {
        str(p.relative_to(tree)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(tree.rglob("*"))
        if p.is_file()
    }


# --------------------------------------------------------------------------- first use


def test_processes_opening_a_new_folder_at_once_all_succeed(tmp_path):
    directory, go = tmp_path / "new" / "catalog", tmp_path / "go"
    count = 4
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, str(directory), str(go)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(count)
    ]

    def all_at_the_start_line() -> bool:
        for process in processes:
            if process.poll() is not None:
                pytest.fail(f"a writer exited early: {process.communicate()[1][-4000:]}")
        return len(list(tmp_path.glob("ready-*"))) == count

    # Importing tiled takes seconds: they start together once every one is waiting.
    wait_for(all_at_the_start_line, TIMEOUT, "every writer at the start line")
    go.touch()
    uids = []
    for process in processes:
        out, err = process.communicate(timeout=TIMEOUT)
        assert process.returncode == 0, err[-4000:]
        uids.append(json.loads(out.strip().splitlines()[-1]))
    assert len(set(uids)) == count
    seen = json.loads(_python(READER, directory).stdout.strip().splitlines()[-1])
    assert seen["sizes"] == {uid: 3 for uid in uids}  # every run, whole, in one catalog


# --------------------------------------------------------------------------- typos


@pytest.mark.parametrize("command", ["reduce", "export", "serve"])
def test_a_mistyped_catalog_path_is_an_error_that_creates_nothing(command, tmp_path, capsys):
    typo = tmp_path / "catalgo"
    extra = {
        "reduce": ["--out", str(tmp_path / "out")],
        "export": ["some-uid", "--format", "netcdf", "-o", str(tmp_path / "x.nc")],
        "serve": ["--port", str(free_port()), "--public"],
    }[command]
    assert main([command, "--catalog", str(typo), *extra]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1, err
    assert "holds no sloxide catalog" in err and str(typo) in err and "sloxide demo" in err
    assert not typo.exists()  # no new, empty catalog


def test_an_empty_folder_is_not_a_catalog_until_created(tmp_path):
    with pytest.raises(CatalogError, match="holds no sloxide catalog"):
        open_catalog(tmp_path)
    assert list(tmp_path.iterdir()) == []
    catalog = open_catalog(tmp_path, create=True)
    assert list(catalog) == []
    assert (tmp_path / CATALOG_FILENAME).stat().st_size > 0


# --------------------------------------------------------------------------- permissions


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_a_new_catalog_is_private_to_its_owner(tmp_path):
    directory = tmp_path / "private" / "catalog"
    catalog = open_catalog(directory, create=True)
    catalog.write_array([1.0, 2.0], key="array")  # puts something under data/
    assert _mode(directory) == 0o700
    assert _mode(directory / "data") == 0o700
    for name in (CATALOG_FILENAME, TABLES_FILENAME, LOCK_FILENAME):
        assert _mode(directory / name) == 0o600, name
    for wal in directory.glob("*.s*-*"):  # -wal and -shm take their database's mode
        assert _mode(wal) == 0o600, wal.name
    assert _mode(directory.parent) != 0o700  # what existed before is left as it was


# --------------------------------------------------------------------------- read-only users


def _reader() -> tuple[list[str], str]:
    """How to run a command as a user who may read but not write: (prefix, folder owner)."""
    if os.geteuid() != 0:
        return [], "self"
    runuser, setpriv = shutil.which("runuser"), shutil.which("setpriv")
    if runuser:
        probe = subprocess.run(
            [runuser, "-u", "nobody", "--", sys.executable, "-c", "import sloxide.catalog"],
            capture_output=True,
            cwd="/",
        )
        if probe.returncode == 0:
            return [runuser, "-u", "nobody", "--"], "root"
    if setpriv:
        caps = "-dac_override,-dac_read_search,-fowner"
        prefix = [setpriv, f"--inh-caps={caps}", f"--bounding-set={caps}"]
        if subprocess.run([*prefix, "true"], capture_output=True).returncode == 0:
            return prefix, "nobody"
    pytest.skip("no way to run a command as a user without write access here")


def _share_read_only(directory: Path, owner: str) -> None:
    """Everyone may read ``directory``; only ``owner`` may write (nobody, for "self")."""
    for path in [directory, *directory.rglob("*")]:
        path.chmod(0o755 if path.is_dir() else 0o644)
        if owner == "nobody":
            os.chown(path, 65534, 65534)
    if owner == "self":
        for path in [directory, *directory.rglob("*")]:
            path.chmod(0o555 if path.is_dir() else 0o444)


@pytest.fixture(scope="module")
def shared(tmp_path_factory):
    """A catalog with a run, quiescent, readable by everyone and writable by none but root."""
    prefix, owner = _reader()
    base = Path(tempfile.mkdtemp(prefix="sloxide-shared-", dir="/tmp"))
    base.chmod(0o755)  # pytest's own temporary directories are 0700
    outputs = base / "outputs"
    outputs.mkdir()
    outputs.chmod(0o777)
    directory = base / "catalog"
    go = base / "go"
    go.touch()
    uid = json.loads(_python(WRITER, directory, go).stdout.strip().splitlines()[-1])
    moved = base / "moved-copy"
    shutil.copytree(directory, moved)  # a copy that still names the original's files
    for tree in (directory, moved):
        _share_read_only(tree, owner)
    yield {"prefix": prefix, "directory": directory, "moved": moved, "uid": uid, "out": outputs}
    for path in [base, *base.rglob("*")]:
        with contextlib.suppress(OSError):
            path.chmod(0o777 if path.is_dir() else 0o666)
    shutil.rmtree(base, ignore_errors=True)


def _as_reader(shared, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*shared["prefix"], sys.executable, "-m", "sloxide.cli", *args],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        cwd="/",
        env={**os.environ, "TILED_API_KEY": KEY},
    )


def test_the_reader_cannot_write_the_folder(shared):
    probe = f"open({str(shared['directory'] / 'probe')!r}, 'w')"
    done = _python(probe, prefix=shared["prefix"], check=False)
    assert done.returncode != 0 and "Permission denied" in done.stderr


def test_a_read_only_user_reads_and_exports(shared):
    before = _hashes(shared["directory"])
    seen = _python(READER, shared["directory"], prefix=shared["prefix"]).stdout
    assert json.loads(seen.strip().splitlines()[-1])["sizes"] == {shared["uid"]: 3}
    out = shared["out"] / "run.nc"
    done = _as_reader(shared, "export", shared["uid"], "--catalog", str(shared["directory"]),
                      "--format", "netcdf", "-o", str(out))  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    import xarray as xr

    with xr.open_dataset(out) as ds:
        assert ds.sizes["time"] == 3
    assert _hashes(shared["directory"]) == before


def test_a_read_only_user_reads_a_moved_copy(shared):
    before = _hashes(shared["moved"])
    report = _python(READER, shared["moved"], prefix=shared["prefix"]).stdout
    seen = json.loads(report.strip().splitlines()[-1])
    assert seen["sizes"] == {shared["uid"]: 3}
    assert seen["moved_warning"], "the reader is told the index was re-pointed in memory"
    assert _hashes(shared["moved"]) == before


def test_a_read_only_user_serves_and_is_told_when_writing_is_needed(shared):
    refused = _as_reader(shared, "serve", "--catalog", str(shared["directory"]), "--allow-writes",
                         "--port", str(free_port()))  # fmt: skip
    assert refused.returncode == 2
    # Said by the catalog ("not writable") or, first, by the command line's own check.
    assert "not writable" in refused.stderr or "cannot write" in refused.stderr, refused.stderr
    assert "holds no" not in refused.stderr
    assert len(refused.stderr.strip().splitlines()) == 1, refused.stderr

    port = free_port()
    command = [*shared["prefix"], sys.executable, "-m", "sloxide.cli", "serve"]
    command += ["--catalog", str(shared["directory"]), "--port", str(port)]
    with running(command, env={"TILED_API_KEY": KEY}, cwd="/") as server:
        url = f"http://127.0.0.1:{port}"
        wait_healthy(url, TIMEOUT, "sloxide serve as a read-only user", server)
        from tiled.client import from_uri

        table = from_uri(url, api_key=KEY)[shared["uid"]]["primary"].read()
        assert table.sizes["time"] == 3


def test_a_read_only_user_is_told_writing_is_not_possible(shared):
    code = textwrap.dedent(
        """
        import sys
        from bluesky import RunEngine
        from sloxide.catalog import CatalogError, open_catalog, subscribe
        catalog = open_catalog(sys.argv[1])
        try:
            subscribe(RunEngine({}), catalog)
        except CatalogError as err:
            print(err)
        """
    )
    message = _python(code, shared["directory"], prefix=shared["prefix"]).stdout.strip()
    assert "is not writable" in message and str(shared["directory"]) in message
    assert len(message.splitlines()) == 1
