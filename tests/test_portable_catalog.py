"""An embedded catalog folder can be moved and copied (issue 15, item 1).

Tiled records every asset by absolute URI: the event tables
(``sqlite://localhost/<dir>/tables.sqlite``) and the arrays of a large stored
result under ``file://localhost/<dir>/data/``. :func:`sloxide.catalog.open_catalog` re-points
them at the folder it opens. Every catalog here is written, moved, copied and
read by separate processes, as users do: ``open_catalog`` caches one client per
directory in a process, and a folder is moved or copied only while no process
has it open.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from services import free_port, running, wait_healthy

pytest.importorskip("tiled")
httpx = pytest.importorskip("httpx")

KEY = "portablecatalogkey0123456789"
TIMEOUT = 300  # seconds per subprocess: each imports tiled (~8 s) on a shared machine

WRITER = textwrap.dedent(
    """
    import json, sys
    from bluesky import RunEngine
    from sloxide.batch import reduce_catalog
    from sloxide.catalog import open_catalog, subscribe
    from sloxide.devices.sim import SimWorld, sim_lab
    from sloxide.plans import field_loop, rt_sweep, xld_scan

    directory, what = sys.argv[1], sys.argv[2]
    catalog = open_catalog(directory, create=(what == "new"))
    RE = RunEngine({})
    subscribe(RE, catalog)
    lab = sim_lab(SimWorld(sample="C10/L6", seed=3))
    hallbar, cryostat = lab["hallbar"], lab["cryostat"]
    uids = {}
    if what == "new":
        uids["rt"] = RE(rt_sweep(hallbar, cryostat, start=300, stop=20, step=40, sample="C10/L6"))
        uids["loop"] = RE(field_loop(hallbar, cryostat, temperature=5.0, field_max=3.0,
                                     step=0.2, sample="C10/L6"))
        uids["xld"] = RE(xld_scan(lab["beamline"], regions=(862.0, 0.5, 885.0), sample="C10/L6"))
        # Results of the loop only: a later `sloxide reduce` has runs left to do.
        reduce_catalog(catalog, query={"sloxide.measurement": "field_loop"}, progress=False)
        # Results are whole in their node's metadata, but a large one keeps its arrays
        # in the folder's data/: one of those, so that there are files to re-point.
        import numpy as np, xarray as xr
        from sloxide.results import INLINE_LIMIT, store_result
        curve = np.linspace(0.0, 1.0, INLINE_LIMIT // 8 + 1)
        store_result(catalog, xr.Dataset({"curve": ("angle", curve, {"units": "percent"})}),
                     method="amr_harmonics", raw_uids=["a-large-result"])
    else:
        uids["more"] = RE(field_loop(hallbar, cryostat, temperature=10.0, field_max=3.0,
                                     step=0.2, sample="C10/L6"))
        reduce_catalog(catalog, progress=False)
    print(json.dumps(uids))
    """
)

READER = textwrap.dedent(
    """
    import json, sys
    from sloxide.catalog import open_catalog
    from sloxide.io import read_results, read_run
    catalog = open_catalog(sys.argv[1])
    report = {}
    for uid in catalog:
        if uid.startswith("sloxide"):
            continue  # the results container
        ds = read_run(uid, catalog=catalog)
        results = read_results(uid, catalog=catalog)
        report[uid] = {
            "sizes": dict(ds.sizes),
            "first": float(ds[sorted(ds.data_vars)[0]].values.ravel()[0]),
            "results": None if results is None else sorted(results.data_vars),
        }
    large = read_results("a-large-result", catalog=catalog)
    report["a-large-result"] = None if large is None else float(large.curve.sum())
    print(json.dumps(report))
    """
)


def _python(code: str, *args: object, env: dict | None = None) -> str:
    """Run ``code`` in a new interpreter; its stdout's last line (fails with its stderr)."""
    done = subprocess.run(
        [sys.executable, "-c", code, *map(str, args)],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        env={**os.environ, **(env or {})},
    )
    assert done.returncode == 0, done.stderr[-4000:]
    return done.stdout.strip().splitlines()[-1]


def _sloxide(*args: object, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "sloxide.cli", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        cwd=cwd,
    )


def _hashes(tree: Path) -> dict[str, str]:
    """sha256 of every file under ``tree``, by relative path."""
    return {
        str(path.relative_to(tree)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(tree.rglob("*"))
        if path.is_file()
    }


def _asset_uris(directory: Path) -> list[str]:
    with sqlite3.connect(f"{(directory / 'catalog.db').as_uri()}?mode=ro", uri=True) as db:
        return [row[0] for row in db.execute("SELECT data_uri FROM assets")]


def _outside(directory: Path) -> list[str]:
    """Asset URIs that name a place outside ``directory``."""
    inside = (f"sqlite://localhost/{directory}/", f"file://localhost{directory}/")
    return [uri for uri in _asset_uris(directory) if not uri.startswith(inside)]


@pytest.fixture(scope="module")
def original(tmp_path_factory):
    """A catalog written and partly reduced by a process that has exited; what it read."""
    directory = tmp_path_factory.mktemp("portable") / "original"
    uids = json.loads(_python(WRITER, directory, "new"))
    seen = json.loads(_python(READER, directory))
    assert len(seen) == 5 and seen[uids["loop"][0]]["results"], seen  # rt, loop, xld pair
    assert seen["a-large-result"] is not None  # and the large result's arrays
    assert any("/data/" in uri for uri in _asset_uris(directory)), "no stored arrays"
    return directory, uids, seen


def test_a_moved_catalog_reads_reduces_exports_and_serves(original, tmp_path):
    source, uids, seen = original
    moved = tmp_path / "moved" / "catalog"
    moved.parent.mkdir()
    shutil.copytree(source, tmp_path / "before")
    (tmp_path / "before").rename(moved)  # a move: the same files under another name
    assert _outside(moved), "the moved catalog should start out naming its old place"

    assert json.loads(_python(READER, moved)) == seen  # every run and every result
    assert _outside(moved) == []  # re-pointed in place, for good

    reduced = _sloxide("reduce", "--catalog", moved, "--out", tmp_path / "summary")
    assert reduced.returncode == 0, reduced.stderr[-3000:]
    assert reduced.stdout.startswith("2 reduced, 1 already reduced, 0 failed"), reduced.stdout
    assert _outside(moved) == []  # the new results went into the moved folder

    rt, loop = uids["rt"][0], uids["loop"][0]
    exported = _sloxide("export", rt, "--catalog", moved, "--format", "netcdf", "-o", "rt.nc",
                        cwd=tmp_path)  # fmt: skip
    assert exported.returncode == 0, exported.stderr[-3000:]
    results = _sloxide("export", loop, "--catalog", moved, "--format", "netcdf", "-o", "loop.nc",
                       "--results", "--method", "ahe", cwd=tmp_path)  # fmt: skip
    assert results.returncode == 0, results.stderr[-3000:]
    import xarray as xr

    with xr.open_dataset(tmp_path / "rt.nc") as ds:
        assert ds.sizes["time"] == seen[rt]["sizes"]["time"]
    with xr.open_dataset(tmp_path / "loop.nc") as ds:
        assert "rho_ahe" in ds

    port = free_port()
    command = [sys.executable, "-m", "sloxide.cli", "serve", "--catalog", str(moved)]
    with running([*command, "--port", str(port)], env={"TILED_API_KEY": KEY}) as server:
        url = f"http://127.0.0.1:{port}"
        wait_healthy(url, TIMEOUT, "sloxide serve on the moved catalog", server)
        from tiled.client import from_uri

        client = from_uri(url, api_key=KEY)
        for uid in uids["rt"] + uids["loop"] + uids["xld"]:
            table = client[uid]["primary"].read()
            assert table.sizes["time"] == seen[uid]["sizes"]["time"], uid


def test_a_copy_reads_every_run_with_the_original_gone(original, tmp_path):
    source, _, seen = original
    copy = tmp_path / "copy"
    shutil.copytree(source, copy)
    hidden = source.with_name("original-gone")
    source.rename(hidden)  # the original is deleted, as far as the copy can tell
    try:
        assert json.loads(_python(READER, copy)) == seen
    finally:
        hidden.rename(source)
    assert _outside(copy) == []


def test_copies_stay_apart(original, tmp_path):
    source, uids, seen = original
    before = _hashes(source)
    copy = tmp_path / "copy"
    shutil.copytree(source, copy)

    more = json.loads(_python(WRITER, copy, "more"))["more"][0]  # new runs and results
    in_copy = json.loads(_python(READER, copy))
    assert set(in_copy) == set(seen) | {more}
    assert in_copy[more]["results"] and in_copy[uids["rt"][0]]["results"], in_copy
    assert _outside(copy) == []

    assert _hashes(source) == before  # byte for byte: the original was never touched
    assert more not in json.loads(_python(READER, source))  # (reading it tidies its WAL files)
