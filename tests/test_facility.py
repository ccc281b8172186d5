"""The facility deployment (docs/deployment.md, "Scale-out"): ``sloxide serve`` on PostgreSQL.

Everything is real and local: one throwaway PostgreSQL cluster for the session (the
``postgres`` fixture of conftest.py, shared with test_find_runs.py), a database
initialized with the documented ``tiled catalog init``, and ``sloxide serve`` over it
in a subprocess with a write key and a read-only key. RunEngines on the simulated lab
write through it; readers read with the read-only key. The faults the deployment must
survive are made for real: a key without write scope, PostgreSQL restarted under the
server, the server killed during a write.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from services import ROOT, SloxideServe, free_port, require_executable

pytest.importorskip("tiled")
pytest.importorskip("asyncpg")
httpx = pytest.importorskip("httpx")

STARTUP = Path(ROOT) / "plans" / "00-startup.py"
WRITE_KEY = secrets.token_hex(32)
READ_KEY = secrets.token_hex(32)


def _init_catalog(uri: str) -> None:
    """The documented command that initializes a fresh database: ``tiled catalog init``."""
    done = subprocess.run(
        [require_executable("tiled"), "catalog", "init", uri],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr


@pytest.fixture(scope="module")
def facility(postgres, tmp_path_factory):
    """A PostgreSQL catalog, initialized, served writable with a write and a read-only key."""
    uri = postgres.createdb("facility")
    _init_catalog(uri)
    data = tmp_path_factory.mktemp("facility") / "data"
    server = SloxideServe(
        uri,
        tmp_path_factory.mktemp("facility-logs"),
        "--data",
        str(data),
        "--allow-writes",
        key=WRITE_KEY,
        env={"SLOXIDE_READ_API_KEY": READ_KEY},
    )
    yield {"uri": uri, "data": data, "server": server, "postgres": postgres}
    server.stop()


def _client(url: str, key: str):
    from tiled.client import from_uri

    return from_uri(url, api_key=key)


def _lab(seed: int = 1):
    from sloxide.devices.sim import SimWorld, sim_lab

    return sim_lab(SimWorld(sample="C10/L6", mode="instant", seed=seed))


def _loop(lab, temperature: float = 2.0):
    from sloxide.plans import field_loop

    return field_loop(lab["hallbar"], lab["cryostat"], temperature=temperature, field_max=1.0,
                      step=0.25, sample="C10/L6")  # fmt: skip


def _writer(url: str, key: str):
    """A RunEngine writing to the server with ``key``, as the profile makes one."""
    from bluesky import RunEngine

    from sloxide.catalog import subscribe

    RE = RunEngine({})
    subscribe(RE, _client(url, key))
    return RE


def _server_errors(server) -> list[str]:
    """Access-log lines of the server that answered 5xx."""
    return [line for line in server.output()[1].splitlines() if '" 5' in line]


# --------------------------------------------------------------------------- serving


def test_an_uninitialized_database_is_refused_naming_the_command(postgres, tmp_path, capsys,
                                                                  monkeypatch):  # fmt: skip
    from sloxide.cli import main

    monkeypatch.setenv("TILED_API_KEY", WRITE_KEY)
    uri = postgres.createdb("fresh")
    command = ["serve", "--catalog", uri, "--data", str(tmp_path / "data")]
    assert main([*command, "--port", str(free_port())]) == 2
    err = capsys.readouterr().err
    assert "holds no Tiled catalog" in err and f"tiled catalog init {uri}" in err, err
    assert len(err.strip().splitlines()) == 1, err
    assert not (tmp_path / "data").exists()  # refused before anything is made


def test_an_unreachable_database_and_a_missing_data_folder_are_one_line_errors(
    tmp_path, capsys, monkeypatch
):
    from sloxide.cli import main

    monkeypatch.setenv("TILED_API_KEY", WRITE_KEY)
    nobody = f"postgresql://sloxide@127.0.0.1:{free_port()}/facility"
    port = ["--port", str(free_port())]
    assert main(["serve", "--catalog", nobody, "--data", str(tmp_path), *port]) == 2
    err = capsys.readouterr().err
    assert "cannot reach the catalog database" in err and "PostgreSQL is running" in err, err
    assert len(err.strip().splitlines()) == 1, err
    assert main(["serve", "--catalog", nobody, *port]) == 2
    assert "needs --data DIR" in capsys.readouterr().err
    assert main(["serve", "--catalog", str(tmp_path), "--data", str(tmp_path), *port]) == 2
    assert "--data is the data folder of a PostgreSQL catalog" in capsys.readouterr().err


def test_writer_writes_and_reader_reads_through_the_server(facility):
    from sloxide.io import read_run

    url = facility["server"].wait().url
    RE = _writer(url, WRITE_KEY)
    (uid,) = RE(_loop(_lab()))
    reader = _client(url, READ_KEY)
    run = read_run(reader[uid])
    assert run.sizes["time"] == 21  # 0 → 1 → −1 → 1 T in 0.25 T steps: 1 + 4 + 8 + 8
    assert run.attrs["exit_status"] == "success"
    assert run["hallbar_R_xy"].attrs["units"] == "ohm"
    # The array files are in the data folder, the rest in the database.
    assert facility["data"].is_dir()


def test_without_a_key_nothing_is_readable(facility):
    url = facility["server"].wait().url
    for path in ("/api/v1/metadata/", "/api/v1/search/"):
        assert httpx.get(url + path).status_code == 401
        wrong = {"Authorization": f"Apikey {secrets.token_hex(32)}"}
        assert httpx.get(url + path, headers=wrong).status_code == 401
        read = {"Authorization": f"Apikey {READ_KEY}"}
        assert httpx.get(url + path, headers=read).status_code == 200


# TiledWriter's RunRouter warns about the refused start document before re-raising it.
@pytest.mark.filterwarnings("ignore:The callback:UserWarning")
def test_a_read_only_or_wrong_key_writes_nothing(facility):
    """Fault (c): a writer with the wrong key, or with the read-only key, is refused."""
    from sloxide.catalog import CatalogError, open_catalog

    url = facility["server"].wait().url
    before = len(_client(url, WRITE_KEY))
    RE = _writer(url, READ_KEY)
    with pytest.raises(Exception, match="Not enough permissions") as refused:
        RE(_loop(_lab()))
    assert getattr(refused.value, "response", None) is not None
    assert refused.value.response.status_code == 401
    with pytest.raises(CatalogError, match="refused the API key"):
        open_catalog(f"{url}?api_key={secrets.token_hex(32)}")
    created = httpx.post(
        url + "/api/v1/metadata/",
        json={"data": {"type": "container", "attributes": {"metadata": {}, "specs": []}}},
        headers={"Authorization": f"Apikey {READ_KEY}"},
    )
    assert created.status_code == 401
    assert len(_client(url, WRITE_KEY)) == before


def test_the_server_recovers_from_a_postgresql_restart(facility):
    """Fault (b): PostgreSQL restarts under the running server; nobody restarts the server."""
    from sloxide.io import read_run

    server = facility["server"].wait()
    RE = _writer(server.url, WRITE_KEY)
    (before,) = RE(_loop(_lab(), temperature=5.0))
    errors = len(_server_errors(server))
    facility["postgres"].stop()
    facility["postgres"].start()
    reader = _client(server.url, READ_KEY)
    assert read_run(reader[before]).sizes["time"] == 21
    (after,) = RE(_loop(_lab(), temperature=10.0))
    assert read_run(_client(server.url, READ_KEY)[after]).attrs["exit_status"] == "success"
    assert _server_errors(server)[errors:] == []  # not even one failed request


# --------------------------------------------------------------------------- instruments


def test_two_instrument_profiles_write_and_reduce_live_on_the_server(facility, tmp_path):
    """The startup profile pointed at the server by the environment, on two instruments."""
    pytest.importorskip("IPython")
    from sloxide.results import read_results

    url = facility["server"].wait().url
    sessions = []
    for temperature in (10.0, 50.0):  # two instruments, each its own profile session
        cell = "\n".join([
            f"%run -i {STARTUP}",
            f"uid, = RE(field_loop(hallbar, cryostat, temperature={temperature}, field_max=1.0,"
            " step=0.25, sample='C10/L6'))",
            "print('RESULT', uid)",
        ])  # fmt: skip
        env = {k: v for k, v in os.environ.items() if not k.startswith(("TILED_", "SLOXIDE_"))}
        # What docs/deployment.md sets on each instrument computer.
        env.update(SLOXIDE_CATALOG=url, TILED_API_KEY=WRITE_KEY, SLOXIDE_DEVICES="sim-lab")
        sessions.append(subprocess.Popen(
            [sys.executable, "-m", "IPython", "--quick", "--no-banner", "--colors=nocolor",
             "-c", cell],
            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=tmp_path,
        ))  # fmt: skip
    uids = []
    for session in sessions:
        out, err = session.communicate(timeout=300)
        assert session.returncode == 0, err[-2000:]
        lines = [line for line in out.splitlines() if line.startswith("RESULT")]
        assert lines, out[-2000:] + err[-2000:]
        uids.append(lines[0].split()[1])
    reader = _client(url, READ_KEY)
    for uid in uids:
        assert reader[uid].metadata["stop"]["exit_status"] == "success"
        stored = read_results(uid, catalog=reader)  # the live reduction stored them there
        assert stored is not None and {"ahe", "mr"} <= set(stored.attrs["methods"])


# --------------------------------------------------------------------------- the server dies

#: A writer that finishes one run, then starts a long one, saying where it is on stdout.
WRITER = """
import sys
from bluesky import RunEngine
from sloxide.catalog import open_catalog, subscribe
from sloxide.devices.sim import SimWorld, sim_lab
from sloxide.plans import field_loop

lab = sim_lab(SimWorld(sample="C10/L6", mode="instant", seed=3))
RE = RunEngine({})
subscribe(RE, open_catalog(sys.argv[1]), batch_size=5)  # written as it is taken
def say(name, doc):
    if name == "start" or (name == "event" and doc["seq_num"] == 20):
        print(name.upper(), doc.get("uid"), flush=True)
RE.subscribe(say)
(done,) = RE(field_loop(lab["hallbar"], lab["cryostat"], temperature=20.0, field_max=1.0,
                        step=0.25, sample="C10/L6"))
print("DONE", done, flush=True)
try:
    RE(field_loop(lab["hallbar"], lab["cryostat"], temperature=30.0, field_max=9.0,
                  step=0.005, sample="C10/L6"))  # 7,201 points: long enough to be cut
except Exception as exc:
    print("FAILED", type(exc).__name__, exc, flush=True)
    sys.exit(3)
"""


def test_a_server_killed_during_a_write_fails_the_run_and_keeps_the_others(facility):
    """Fault (a): SIGKILL the server while a run is being written, then restart it."""
    from sloxide.io import read_run

    server = facility["server"].wait()
    env = {k: v for k, v in os.environ.items() if not k.startswith("TILED_")}
    # tiled retries a refused connection for TILED_RETRY_TIMEOUT s (45 by default); a
    # few seconds keep the test short, the outcome is the same.
    env.update(TILED_API_KEY=WRITE_KEY, TILED_RETRY_TIMEOUT="3")
    writer = subprocess.Popen(
        [sys.executable, "-c", WRITER, server.url],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    seen: dict[str, str] = {}
    try:
        for line in writer.stdout:
            word, _, rest = line.strip().partition(" ")
            if word == "START":
                seen["cut" if "first" in seen else "first"] = rest
            elif word == "DONE":
                assert rest == seen["first"]
            elif word == "EVENT" and "cut" in seen:
                server.kill()  # 20 events into the long run, some batches written
                break
        out, err = writer.communicate(timeout=120)  # a clear failure, not a hang
    finally:
        writer.kill()
    assert writer.returncode == 3, err[-3000:]
    assert "FAILED ConnectError" in out, out + err[-3000:]
    server.start()  # restarted: nothing to repair by hand
    server.wait()
    reader = _client(server.url, READ_KEY)
    first = read_run(reader[seen["first"]])  # finished before: intact
    assert first.sizes["time"] == 21 and first.attrs["exit_status"] == "success"
    if seen["cut"] in reader:  # the interrupted run: absent, or never marked as finished
        stop = reader[seen["cut"]].metadata.get("stop")
        assert stop is None or stop["exit_status"] != "success"
    RE = _writer(server.url, WRITE_KEY)  # and the restarted server takes new runs
    (after,) = RE(_loop(_lab(), temperature=40.0))
    assert read_run(_client(server.url, READ_KEY)[after]).attrs["exit_status"] == "success"


# --------------------------------------------------------------------------- under load


def test_writers_readers_and_a_dask_reduction_at_once_lose_nothing(facility, monkeypatch):
    """The load of ``python -m benchmarks facility``, small: counts, never times."""
    dask_distributed = pytest.importorskip("dask.distributed")
    if ROOT not in sys.path:
        monkeypatch.syspath_prepend(ROOT)  # benchmarks/ is beside tests/
    from benchmarks.facility import load

    server = facility["server"].wait()
    monkeypatch.setenv("TILED_API_KEY", READ_KEY)  # what the dask workers read with
    with dask_distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=True,
                                       dashboard_address=None) as cluster:  # fmt: skip
        result = load(
            server.url, WRITE_KEY, READ_KEY, writers=2, runs=2, readers=2,
            scheduler=cluster.scheduler_address, server_log=server.stderr_path,
        )  # fmt: skip
    for report in result["writers"]:
        assert report["errors"] == []
        # One field loop and one XLD pair (two runs), each finished.
        assert len(report["runs"]) == 3, report["runs"]
        assert {run["exit_status"] for run in report["runs"].values()} == {"success"}
    for report in result["readers"]:
        assert report["errors"] == []
        assert report["latencies"], "each reader reads at least the final runs"
    assert result["accounting"] == {"lost": 0, "duplicated": 0, "runs": 6}
    assert result["server_errors"] == 0
    assert [p["failed"] for p in result["passes"]] == [0, 0]
    # Every run written is reduced by the end (while it was written, or in the final pass):
    # the loops' AHE and MR, the pairs' XLD on both runs of a pair.
    from sloxide.results import read_results

    reader = _client(server.url, READ_KEY)
    for report in result["writers"]:
        for uid in report["runs"]:
            stored = read_results(uid, catalog=reader)
            assert stored is not None, uid
            assert set(stored.attrs["methods"]) & {"ahe", "xld"}, stored.attrs["methods"]


# --------------------------------------------------------------------------- backup


def test_a_backup_restores_every_run_and_result(facility):
    """docs/deployment.md's backup and restore, with the originals gone in between.

    Last in the module: it replaces the served database and data folder.
    """
    from sloxide.io import read_run
    from sloxide.results import read_results

    server, postgres, data = facility["server"].wait(), facility["postgres"], facility["data"]
    reader = _client(server.url, READ_KEY)
    everything = sorted(reader)
    finished = [uid for uid in everything if reader[uid].metadata.get("stop")]
    reduced = [uid for uid in finished if read_results(uid, catalog=reader) is not None]
    assert finished and reduced  # the tests before wrote runs and stored results
    # A few of each are read back whole; all of them must be listed.
    runs = {uid: read_run(reader[uid]) for uid in finished[:3]}
    results = {uid: read_results(uid, catalog=reader) for uid in reduced[:3]}
    dump = os.path.join(postgres.directory, "sloxide.dump")
    backup = data.parent / "backup"
    # The backup: the dump first, then the data folder.
    postgres.run("pg_dump", "--format=custom", "--file", dump, facility["uri"])
    subprocess.run(["cp", "-a", str(data), str(backup)], check=True)
    server.stop()
    postgres.run("dropdb", "-h", "127.0.0.1", "-p", str(postgres.port), "-U", postgres.USER,
                 "facility")  # fmt: skip
    subprocess.run(["rm", "-r", str(data)], check=True)
    # The restore, at the same name and path.
    postgres.createdb("facility")
    postgres.run("pg_restore", "--dbname", facility["uri"], dump)
    subprocess.run(["cp", "-a", str(backup), str(data)], check=True)
    server.start()
    reader = _client(server.wait().url, READ_KEY)
    assert sorted(reader) == everything
    for uid, run in runs.items():
        assert read_run(reader[uid]).identical(run)
    for uid, result in results.items():
        assert read_results(uid, catalog=reader).identical(result)
