"""Batch reduction (``sloxide reduce``) on numpy and on a dask cluster; export round trips."""

from __future__ import annotations

import numpy as np
import pytest
from bluesky import RunEngine

from sloxide.batch import find_jobs, parse_query, reduce_catalog
from sloxide.catalog import open_catalog, subscribe
from sloxide.cli import main
from sloxide.devices.sim import SimWorld, sim_lab
from sloxide.errors import SloxideError
from sloxide.export import export_dataset, open_exported
from sloxide.io import read_results, read_run
from sloxide.plans import amr_rotation, fc_magnetization, field_loop, rt_sweep, xld_scan

CATALOGS = ("raw", "numpy", "cluster", "misc")


@pytest.fixture(scope="module")
def raw_catalog(tmp_path_factory):
    """A small campaign of C10/L6 (every kind of run once, a loop series, an XLD pair),
    plus one field loop too short to reduce, written to four catalogs at once.

    Four writers, not copies: a Tiled catalog records its storage by absolute path, so
    a copied catalog directory still points at the original's tables.
    """
    directories = {name: tmp_path_factory.mktemp(name) for name in CATALOGS}
    RE = RunEngine({})
    for directory in directories.values():
        subscribe(RE, open_catalog(directory, create=True))
    lab = sim_lab(SimWorld(sample="C10/L6", seed=3))
    hallbar, cryostat = lab["hallbar"], lab["cryostat"]
    uids = {}
    uids["rt"] = RE(rt_sweep(hallbar, cryostat, start=300, stop=20, step=20, sample="C10/L6"))
    for t in (2.0, 5.0, 10.0):
        uids[f"loop {t}"] = RE(field_loop(hallbar, cryostat, temperature=t, field_max=6.0,
                                          step=0.1, sample="C10/L6"))  # fmt: skip
    uids["fc"] = RE(fc_magnetization(cryostat, start=150, stop=2, step=2, sample="C10/L6"))
    uids["amr"] = RE(amr_rotation(hallbar, cryostat, lab["rotator"], plane="(001)", step=10.0,
                                  sample="C10/L6"))  # fmt: skip
    uids["xld"] = RE(xld_scan(lab["beamline"], regions=(862.0, 0.2, 885.0), sample="C10/L6"))
    uids["short"] = RE(field_loop(hallbar, cryostat, field_max=0.2, step=0.1, sample="x"))
    return directories, uids


def _catalog(raw_catalog, name):
    directories, uids = raw_catalog
    return directories[name], uids


def _sorted(table):
    return table.sort_values(["uids", "method", "variable"]).reset_index(drop=True)


def test_jobs_are_runs_pairs_and_the_loop_series(raw_catalog):
    directory, uids = _catalog(raw_catalog, "raw")
    jobs, incomplete = find_jobs(open_catalog(directory))
    kinds = sorted((j.kind, j.measurement) for j in jobs)
    assert kinds == sorted(
        [("run", "rt"), ("run", "field_loop"), ("run", "field_loop"), ("run", "field_loop"),
         ("run", "field_loop"), ("run", "fc_magnetization"), ("run", "amr"), ("pair", "xas"),
         ("series", "field_loop")]
    )  # fmt: skip
    assert incomplete == 0
    (series,) = [j for j in jobs if j.kind == "series"]
    assert set(series.uids) == {uids[f"loop {t}"][0] for t in (2.0, 5.0, 10.0)}


def test_numpy_and_a_two_worker_cluster_give_the_same_results_and_a_rerun_does_nothing(
    raw_catalog, tmp_path
):
    distributed = pytest.importorskip("dask.distributed")
    local_dir, uids = _catalog(raw_catalog, "numpy")
    cluster_dir, _ = _catalog(raw_catalog, "cluster")

    local = reduce_catalog(open_catalog(local_dir))
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster:  # fmt: skip
        remote = reduce_catalog(
            open_catalog(cluster_dir), location=cluster_dir, scheduler=cluster.scheduler_address
        )
    for summary in (local, remote):
        assert (summary.reduced, summary.failed, summary.skipped) == (8, 1, 0), (
            summary.table().status.unique()
        )
    a, b = _sorted(local.table()), _sorted(remote.table())
    assert a.drop(columns="value").equals(b.drop(columns="value"))
    np.testing.assert_allclose(a.value.astype(float), b.value.astype(float), rtol=1e-12)
    failed = a[a.status.str.startswith("failed")]
    assert list(failed.uids) == [uids["short"][0]]

    again = reduce_catalog(open_catalog(local_dir))
    assert (again.reduced, again.skipped, again.failed) == (0, 8, 1)  # no work but the bad run
    stored = _sorted(again.table()[again.table().status == "stored"])
    reduced = _sorted(a[a.status == "reduced"])
    np.testing.assert_allclose(stored.value, reduced.value, rtol=1e-12)

    tc = a[(a.variable == "Tc")]
    assert tc.units.item() == "K" and 70 < tc.value.item() < 82  # C10/L6: 75.9 K


def test_a_query_selects_runs_server_side(raw_catalog, tmp_path):
    directory, uids = _catalog(raw_catalog, "misc")
    query = parse_query(["sloxide.measurement=fc_magnetization"])
    summary = reduce_catalog(open_catalog(directory), query=query)
    assert (summary.reduced + summary.skipped, summary.failed) == (1, 0)
    assert read_results(uids["fc"][0], catalog=open_catalog(directory)) is not None
    with pytest.raises(SloxideError, match="KEY=VALUE"):
        parse_query(["measurement"])


def test_the_reduce_command_writes_the_summary(raw_catalog, tmp_path, capsys):
    directory, _ = _catalog(raw_catalog, "misc")
    out = tmp_path / "out"
    code = main(["reduce", "--catalog", str(directory), "--out", str(out), "--no-progress",
                 "--query", "sloxide.measurement=amr"])  # fmt: skip
    assert code == 0
    assert "1 reduced" in capsys.readouterr().out
    table = (out / "summary.csv").read_text()
    assert "amr_harmonics" in table


@pytest.mark.parametrize("fmt", ["netcdf", "zarr"])
def test_an_exported_run_and_its_results_reopen_with_units_and_context(raw_catalog, tmp_path, fmt):
    directory, uids = _catalog(raw_catalog, "misc")
    catalog = open_catalog(directory)
    uid = uids["fc"][0]
    run = read_run(uid, catalog=catalog)
    back = open_exported(export_dataset(run, tmp_path / f"run.{fmt}", fmt))
    assert back.attrs["sloxide"] == run.attrs["sloxide"]
    for name, variable in run.data_vars.items():
        assert back[name].attrs == variable.attrs, name
        np.testing.assert_array_equal(back[name].values, variable.values)
    reduce_catalog(catalog, query={"uid": uid})
    results = read_results(uid, catalog=catalog)
    again = open_exported(export_dataset(results, tmp_path / f"results.{fmt}", fmt))
    assert again.attrs["raw_uids"] == [uid] and again.Tc.attrs["units"] == "K"
    assert float(again.Tc) == float(results.Tc)


def test_the_export_command_and_csv(raw_catalog, tmp_path, capsys):
    directory, uids = _catalog(raw_catalog, "raw")
    path = tmp_path / "loop.csv"
    assert main(["export", uids["loop 2.0"][0], "--catalog", str(directory), "--format", "csv",
                 "-o", str(path)]) == 0  # fmt: skip
    header = path.read_text().splitlines()[0]
    assert "hallbar_R_xy [ohm]" in header and "cryostat_field [T]" in header
    assert '"measurement": "field_loop"' in (tmp_path / "loop.csv.sloxide.json").read_text()
    code = main(["export", uids["rt"][0], "--catalog", str(directory), "--format", "netcdf",
                 "-o", str(tmp_path / "x.nc"), "--results"])  # fmt: skip
    assert code == 2  # no stored results in the raw catalog: a one-line error
    assert "reduce it first" in capsys.readouterr().err
