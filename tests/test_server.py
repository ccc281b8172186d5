"""``sloxide serve``: a Tiled server over the embedded catalog, read-only and keyed by default.

Every server runs in its own process, as a user would start it: serving in this
process would replace tiled's process-wide single-user key and lock out the
in-process embedded catalogs of other tests. The three servers (default,
``--public``, ``--allow-writes``) start together once for the module, and the
test process talks to them over HTTP like any other client. The command-line
error tests call ``sloxide.cli.main`` here: they fail before tiled is touched.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import signal
import socket
import time
from pathlib import Path

import numpy as np
import pytest
from services import SloxideServe, free_port

pytest.importorskip("tiled")
pytest.importorskip("uvicorn")
httpx = pytest.importorskip("httpx")

KEY = secrets.token_hex(32)
CONTEXT = {"measurement": "rt", "sample": {"name": "C10/L6"}}


def Server(catalog: Path, logs: Path, *flags: str, key: str | None = KEY) -> SloxideServe:
    """``sloxide serve`` over ``catalog`` with this module's key (None: it makes one)."""
    return SloxideServe(catalog, logs, *flags, key=key)


@pytest.fixture(scope="module")
def catalog_dir(tmp_path_factory):
    """An embedded catalog, created (empty) in this process."""
    from sloxide.catalog import open_catalog

    directory = tmp_path_factory.mktemp("served")
    open_catalog(directory, create=True)
    return directory


@pytest.fixture(scope="module")
def servers(catalog_dir, tmp_path_factory):
    """The three modes, started together (each start costs seconds) and stopped at the end.

    The writable server gets no ``TILED_API_KEY``: it makes its own key and
    prints it, which ``writable_key`` reads back. It serves a new, empty catalog
    (serving never creates one: ``open_catalog(..., create=True)`` does).
    """
    from sloxide.catalog import open_catalog

    written = tmp_path_factory.mktemp("written") / "new"
    open_catalog(written, create=True)
    logs = {m: tmp_path_factory.mktemp(f"logs-{m}") for m in ("default", "public", "writable")}
    started = {
        "default": Server(catalog_dir, logs["default"]),
        # Verbose, so uvicorn's lifespan lines show the SIGTERM shutdown ran to the end.
        "public": Server(catalog_dir, logs["public"], "--public", "-v"),
        "writable": Server(
            written,
            logs["writable"],
            "--allow-writes",
            key=None,
        ),
    }
    yield started
    for server in started.values():
        server.stop()


@pytest.fixture(scope="module")
def runs(catalog_dir, servers):
    """Two runs, a field loop and a count, written in this process while the servers start."""
    import bluesky.plans as bp
    from bluesky import RunEngine

    from sloxide.catalog import open_catalog, subscribe
    from sloxide.devices.sim import SimWorld, sim_lab
    from sloxide.plans import field_loop

    catalog = open_catalog(catalog_dir)
    RE = RunEngine({})
    subscribe(RE, catalog)
    lab = sim_lab(SimWorld(sample="C10/L6"))
    (loop,) = RE(field_loop(lab["hallbar"], lab["cryostat"], field_max=1.0, step=0.5))
    md = {"sloxide": {**CONTEXT, "quantities": {"hallbar_R_xx": "R_xx"}}}
    (count,) = RE(bp.count([lab["hallbar"]], num=3, md=md))
    return {"directory": catalog_dir, "catalog": catalog, "uids": [loop, count]}


@pytest.fixture
def default_server(servers):
    return servers["default"].wait()


@pytest.fixture
def public_server(servers):
    return servers["public"].wait()


@pytest.fixture
def writable_server(servers):
    return servers["writable"].wait()


@pytest.fixture
def writable_key(writable_server):
    lines = [line for line in writable_server.output()[0].splitlines() if "API key" in line]
    assert len(lines) == 1, writable_server.output()
    return lines[0].rsplit(" ", 1)[-1]


def _client(monkeypatch, url: str, key: str | None):
    """A tiled client of ``url`` as a user opens it: open_catalog with TILED_API_KEY."""
    from sloxide.catalog import open_catalog

    if key is None:
        monkeypatch.delenv("TILED_API_KEY", raising=False)
    else:
        monkeypatch.setenv("TILED_API_KEY", key)
    return open_catalog(url)


def _refused(write) -> str:
    """The message of the error ``write()`` raises; fails the test if it succeeds."""
    try:
        write()
    except Exception as err:  # tiled raises ClientError (an httpx.HTTPStatusError)
        status = getattr(getattr(err, "response", None), "status_code", None)
        assert status in (401, 403, 405), err
        return str(err)
    pytest.fail("the server accepted a write it should refuse")


def _graphql_mutation(url: str, key: str | None) -> dict:
    """A write through tiled's GraphQL links endpoint, which checks no node's access policy."""
    headers = {"Authorization": f"Apikey {key}"} if key else {}
    query = 'mutation { upsertNamespace(prefix: "leak", uri: "http://example.org/") { prefix } }'
    response = httpx.post(url + "/api/graphql", json={"query": query}, headers=headers)
    return response.json() if response.status_code == 200 else {"status": response.status_code}


# --------------------------------------------------------------------------- command line


def test_serve_help(capsys):
    from sloxide.cli import main

    with pytest.raises(SystemExit) as exit:
        main(["serve", "--help"])
    assert exit.value.code == 0
    out = capsys.readouterr().out
    for option in ("--catalog", "--host", "--port", "--public", "--allow-writes"):
        assert option in out


def test_missing_catalog_is_a_one_line_error(tmp_path, capsys, monkeypatch):
    from sloxide.cli import main

    monkeypatch.setenv("TILED_API_KEY", KEY)
    missing = str(tmp_path / "nothing")
    assert main(["serve", "--catalog", missing, "--port", str(free_port())]) == 2  # exit status
    err = capsys.readouterr().err
    assert err.startswith("sloxide: error: the catalog folder ")
    assert "does not exist" in err and "holds no sloxide catalog" in err
    assert len(err.strip().splitlines()) == 1, err


def test_port_in_use_is_a_one_line_error(tmp_path, capsys, monkeypatch):
    from sloxide.cli import main

    monkeypatch.setenv("TILED_API_KEY", KEY)
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        # In this process: the port is checked before tiled is touched.
        assert main(["serve", "--catalog", str(tmp_path), "--port", str(port)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"sloxide: error: cannot listen on 127.0.0.1:{port}")
    assert "in use" in err and "--port" in err
    assert len(err.strip().splitlines()) == 1, err


# --------------------------------------------------------------------------- default mode


def test_key_holder_reads_a_run_with_units(default_server, runs, monkeypatch):
    from sloxide.io import read_run

    catalog = _client(monkeypatch, default_server.url, KEY)
    assert set(runs["uids"]) <= set(catalog)
    loop, count = runs["uids"]
    over_http = read_run(catalog[count])
    local = read_run(runs["catalog"][count])
    assert over_http["hallbar_R_xx"].attrs == {"units": "ohm", "quantity": "R_xx"}
    np.testing.assert_array_equal(over_http["hallbar_R_xx"], local["hallbar_R_xx"])
    assert over_http.attrs["sloxide"]["measurement"] == "rt"
    field = read_run(catalog[loop])
    assert field["cryostat_field"].attrs["units"] == "T"
    assert field.sizes["time"] == runs["catalog"][loop]["primary"].read().sizes["time"]


def test_request_without_key_is_refused(default_server, monkeypatch):
    from sloxide.catalog import CatalogError

    assert httpx.get(default_server.url + "/api/v1/metadata/").status_code == 401
    wrong = {"Authorization": f"Apikey {secrets.token_hex(32)}"}
    assert httpx.get(default_server.url + "/api/v1/metadata/", headers=wrong).status_code == 401
    assert httpx.get(default_server.url + "/api/v1/search/", headers=wrong).status_code == 401
    with pytest.raises(CatalogError, match="TILED_API_KEY"):
        _client(monkeypatch, default_server.url + "/", None)  # another URL: not cached


def test_default_mode_refuses_every_write_even_with_the_key(default_server, runs, monkeypatch):
    catalog = _client(monkeypatch, default_server.url, KEY)
    before = sorted(catalog)
    run = catalog[runs["uids"][1]]
    _refused(lambda: catalog.write_array(np.arange(3.0), key="injected"))
    _refused(lambda: catalog.create_container("injected"))  # metadata only, no storage
    _refused(lambda: run.update_metadata({"injected": True}))
    _refused(lambda: catalog.delete_contents(runs["uids"][0], recursive=True, external_only=False))
    headers = {"Authorization": f"Apikey {KEY}"}
    deleted = httpx.delete(
        f"{default_server.url}/api/v1/metadata/{runs['uids'][0]}", headers=headers
    )
    assert deleted.status_code == 401
    assert _graphql_mutation(default_server.url, KEY)["errors"][0]["message"] == "Not permitted"
    assert sorted(catalog) == before
    assert "injected" not in run.metadata


# --------------------------------------------------------------------------- public mode


def test_public_mode_reads_anonymously(public_server, runs, monkeypatch):
    from sloxide.io import read_run

    assert httpx.get(public_server.url + "/api/v1/metadata/").status_code == 200
    catalog = _client(monkeypatch, public_server.url, None)
    ds = read_run(catalog[runs["uids"][1]])
    assert ds["hallbar_R_xx"].attrs["units"] == "ohm"


def test_public_mode_refuses_writes_with_and_without_the_key(public_server, monkeypatch):
    anonymous = _client(monkeypatch, public_server.url, None)
    _refused(lambda: anonymous.create_container("injected"))
    keyed = _client(monkeypatch, public_server.url + "/", KEY)
    _refused(lambda: keyed.write_array(np.arange(3.0), key="injected"))
    _refused(lambda: keyed.create_container("injected"))
    assert "errors" in _graphql_mutation(public_server.url, KEY)
    assert "injected" not in list(keyed)


# --------------------------------------------------------------------------- writable mode


def test_allow_writes_refuses_requests_without_key(writable_server, monkeypatch):
    from sloxide.catalog import CatalogError

    assert httpx.get(writable_server.url + "/api/v1/metadata/").status_code == 401
    with pytest.raises(CatalogError):
        _client(monkeypatch, writable_server.url + "/", None)


def test_allow_writes_lets_key_holders_write(writable_server, writable_key, monkeypatch):
    from bluesky import RunEngine

    from sloxide.catalog import subscribe
    from sloxide.devices.sim import SimWorld, sim_lab
    from sloxide.io import read_run
    from sloxide.plans import field_loop

    catalog = _client(monkeypatch, writable_server.url, writable_key)
    assert list(catalog) == []  # a new, empty catalog
    catalog.write_array(np.arange(3.0), key="results")
    np.testing.assert_array_equal(catalog["results"].read(), np.arange(3.0))
    RE = RunEngine({})
    subscribe(RE, catalog)  # a RunEngine writing over HTTP, as at a facility
    lab = sim_lab(SimWorld(sample="C10/L6"))
    (uid,) = RE(field_loop(lab["hallbar"], lab["cryostat"], field_max=0.5, step=0.25))
    ds = read_run(catalog[uid])
    assert ds["cryostat_field"].attrs["units"] == "T"
    assert ds.attrs["exit_status"] == "success"


# --------------------------------------------------------------------------- the key


def test_key_is_never_stored_logged_or_echoed(
    servers, runs, default_server, writable_server, writable_key, monkeypatch
):
    writable = writable_server
    # A browser user puts the key in the URL; the access log must not show it.
    ok = httpx.get(f"{default_server.url}/api/v1/metadata/?api_key={KEY}")
    assert ok.status_code == 200
    httpx.get(f"{writable.url}/api/v1/metadata/?api_key={writable_key}")
    time.sleep(0.5)  # let the access log lines reach the files
    for server in servers.values():
        out, err = server.output()
        assert KEY not in out + err
        assert writable_key not in err
    assert "api_key=[redacted]" in default_server.output()[1]
    assert writable.output()[0].count(writable_key) == 1  # printed once, on purpose
    catalog = _client(monkeypatch, default_server.url, KEY)
    for uid in runs["uids"]:
        assert KEY not in repr(catalog[uid].metadata)
    files = [*runs["directory"].rglob("*"), *writable.catalog.rglob("*")]
    assert any(path.name == "catalog.db" for path in writable.catalog.iterdir())
    for path in files:
        if path.is_file():
            data = path.read_bytes()
            assert KEY.encode() not in data and writable_key.encode() not in data, path


def test_sigterm_shuts_down_gracefully(servers):
    server = servers["public"].wait()
    returncode = server.stop()
    assert returncode in (0, -signal.SIGTERM)  # uvicorn re-raises SIGTERM after shutting down
    assert "Application shutdown complete" in server.output()[1]


# --------------------------------------------------------------------------- in-process parts


def test_read_only_policy_grants_only_reading():
    from sloxide.server import READ_SCOPES, _read_only_policy

    policy = _read_only_policy()
    assert asyncio.run(policy.allowed_scopes(None, None, None, set())) == READ_SCOPES
    with pytest.raises(ValueError, match="read-only"):
        asyncio.run(policy.init_node(None, None, set()))
    assert asyncio.run(policy.filters(None, None, None, set(), READ_SCOPES)) == []


def test_log_records_are_redacted():
    from sloxide.server import _RedactSecrets

    redact = _RedactSecrets(KEY)
    access = logging.LogRecord(
        "uvicorn.access", logging.INFO, __file__, 1, '%s - "%s %s" %d',
        ("127.0.0.1", "GET", f"/api/v1/?api_key={KEY}&x=1", 200), None,
    )  # fmt: skip
    assert redact.filter(access)
    assert access.getMessage() == '127.0.0.1 - "GET /api/v1/?api_key=[redacted]&x=1" 200'
    other = logging.LogRecord("tiled", logging.INFO, __file__, 1, f"key {KEY}", None, None)
    redact.filter(other)
    assert KEY not in other.getMessage()
    header = logging.LogRecord("tiled", logging.INFO, __file__, 1, "Apikey abc123", None, None)
    redact.filter(header)
    assert header.getMessage() == "Apikey [redacted]"


def test_public_and_writable_exclude_each_other():
    from sloxide.server import ServeError, access_scopes

    with pytest.raises(ServeError, match="public and writable"):
        access_scopes(public=True, allow_writes=True)
