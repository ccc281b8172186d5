"""read_many reads many runs in a few requests, and each is what read_run reads.

Every kind of run the plans take (and an imported MultiVu file, and a plain
``bp.count``) goes into one embedded catalog; ``read_many`` over all of them, in any
order, by uid or by client, must equal ``read_run`` of each: data, dims, dtypes,
units, quantities, context attrs. A missing uid and a run without events fail as
``read_run`` fails.
"""

from __future__ import annotations

from pathlib import Path

import bluesky.plans as bp
import httpx
import pytest
import xarray as xr
from bluesky import RunEngine

from sloxide.catalog import find_runs, open_catalog, subscribe
from sloxide.devices.sim import SimWorld, sim_lab
from sloxide.errors import DataError
from sloxide.io import RunNotFoundError, read_many, read_run, read_runs
from sloxide.multivu import import_multivu
from sloxide.plans import amr_rotation, fc_magnetization, field_loop, rt_sweep, xld_scan

DATA = Path(__file__).resolve().parent / "data"


@pytest.fixture(scope="module")
def lab_catalog(tmp_path_factory):
    catalog = open_catalog(tmp_path_factory.mktemp("many"), create=True)
    RE = RunEngine({})
    subscribe(RE, catalog)
    lab = sim_lab(SimWorld(sample="C10/L6", mode="instant", seed=3))
    hallbar, cryostat = lab["hallbar"], lab["cryostat"]
    uids = list(RE(rt_sweep(hallbar, cryostat, start=300, stop=200, step=50, sample="C10/L6")))
    for t in (2.0, 5.0, 10.0):
        uids += RE(field_loop(hallbar, cryostat, temperature=t, field_max=2.0, step=0.5,
                              sample="C10/L6"))  # fmt: skip
    uids += RE(fc_magnetization(cryostat, start=150, stop=100, step=10, sample="C10/L6"))
    uids += RE(amr_rotation(hallbar, cryostat, lab["rotator"], plane="(001)", step=30.0,
                            sample="C10/L6"))  # fmt: skip
    uids += RE(xld_scan(lab["beamline"], regions=(866.0, 1.0, 872.0), sample="C10/L6"))
    uids += RE(bp.count([hallbar], num=2))
    (report,) = import_multivu([DATA / "mpms3_dc_mvsh_5K.dat"], catalog)
    uids += report.written
    return catalog, uids


def test_each_run_is_what_read_run_reads(lab_catalog):
    catalog, uids = lab_catalog
    order = uids[::-1] + uids[:2]  # any order, a uid twice
    many = read_many(order, catalog=catalog)
    assert len(many) == len(order)
    for uid, ds in zip(order, many, strict=True):
        one = read_run(uid, catalog=catalog)
        xr.testing.assert_identical(ds, one)
        assert ds.attrs == one.attrs
        for name, variable in one.variables.items():
            assert ds[name].dtype == variable.dtype, (uid, name)


def test_clients_and_search_results_read_as_uids(lab_catalog):
    catalog, uids = lab_catalog
    loops = find_runs(catalog, measurement="field_loop")
    by_search = read_many(loops)
    by_client = read_many([catalog[uid] for uid in loops])
    assert [ds.attrs["uid"] for ds in by_search] == list(loops)
    for a, b in zip(by_search, by_client, strict=True):
        xr.testing.assert_identical(a, b)


def test_read_runs_stacks_runs_read_already(lab_catalog):
    catalog, _ = lab_catalog
    loops = list(find_runs(catalog, measurement="field_loop"))
    along = "setpoints.temperature_K"
    stacked = read_runs(loops, along=along, catalog=catalog)
    given = read_many(loops, catalog=catalog)
    xr.testing.assert_identical(read_runs(given, along=along), stacked)
    xr.testing.assert_identical(given[0], read_run(loops[0], catalog=catalog))  # not modified


def test_many_runs_take_fewer_requests_than_read_run(lab_catalog, monkeypatch):
    """The point of read_many: a few requests for all, then one per run."""
    catalog, uids = lab_catalog
    sent: list[str] = []
    send = httpx.Client.send

    def counted(self, request, **kwargs):
        sent.append(str(request.url))
        return send(self, request, **kwargs)

    monkeypatch.setattr(httpx.Client, "send", counted)
    read_many(uids, catalog=catalog)
    many = len(sent)
    sent.clear()
    for uid in uids:
        read_run(uid, catalog=catalog)
    assert many <= len(uids) + 4 < len(sent) / 3


def test_a_missing_uid_is_named(lab_catalog):
    catalog, uids = lab_catalog
    with pytest.raises(RunNotFoundError, match="no-such-run"):
        read_many([uids[0], "no-such-run"], catalog=catalog)


def test_a_run_without_events_fails_as_read_run_does(lab_catalog):
    catalog, uids = lab_catalog
    RE = RunEngine({})
    subscribe(RE, catalog)
    (empty,) = RE(bp.count([], num=0))
    with pytest.raises(DataError) as one:
        read_run(empty, catalog=catalog)
    with pytest.raises(DataError) as many:
        read_many([uids[0], empty], catalog=catalog)
    assert str(many.value) == str(one.value)
