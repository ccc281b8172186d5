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

import secrets
import subprocess

import pytest
from services import SloxideServe, free_port, require_executable

pytest.importorskip("tiled")
pytest.importorskip("asyncpg")
httpx = pytest.importorskip("httpx")

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
