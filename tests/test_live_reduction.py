"""Live reduction during acquisition; results stored with provenance and read back."""

from __future__ import annotations

import logging

import numpy as np
import pytest
import xarray as xr
from bluesky import RunEngine
from tiled.queries import Contains

import sloxide
from sloxide.callbacks import LiveReduction
from sloxide.catalog import subscribe
from sloxide.devices.sim import SimWorld, sim_lab
from sloxide.io import read_run, read_runs
from sloxide.plans import campaign, fc_magnetization, field_loop
from sloxide.reduction import NORMALIZATION, REDUCTIONS
from sloxide.results import RESULTS_CONTAINER, read_results, store_result
from sloxide.units import dequantify


def _numeric(ds: xr.Dataset) -> xr.Dataset:
    ds = dequantify(ds)
    return ds.drop_vars([n for n, v in ds.variables.items() if v.dtype.kind not in "biufc"])


def _assert_same(stored: xr.Dataset, fresh: xr.Dataset) -> None:
    """Stored results equal a fresh reduction: every numeric variable, with its units."""
    fresh = _numeric(fresh)
    for name, variable in fresh.data_vars.items():
        np.testing.assert_allclose(stored[name].values, variable.values, rtol=1e-12)
        assert stored[name].attrs.get("units") == variable.attrs.get("units"), name


@pytest.fixture(scope="module")
def live_campaign(tiled_catalog):
    """The quick campaign of C10/L6 with LiveReduction subscribed, and what it printed."""
    RE = RunEngine({})
    subscribe(RE, tiled_catalog)
    lines: list[str] = []
    live = LiveReduction(tiled_catalog, echo=lines.append, figure=False)
    RE.subscribe(live)
    lab = sim_lab(SimWorld(sample="C10/L6", seed=1))
    uids = RE(campaign(lab["hallbar"], lab["cryostat"], lab["rotator"], lab["beamline"],
                       sample="C10/L6", quick=True))  # fmt: skip
    assert live.wait(300)
    return live, uids, lines, RE, lab


def test_every_run_of_the_campaign_is_reduced_live_and_stored(live_campaign, tiled_catalog):
    live, uids, lines, _, _ = live_campaign
    assert not live.errors, live.errors
    assert set(live.results) == set(uids)
    assert len(lines) == len(uids) - 2  # one line per run, one per XLD pair
    for uid in uids:
        stored = read_results(uid, catalog=tiled_catalog)
        assert stored is not None, uid
        assert stored.attrs["raw_uids"] and uid in stored.attrs["raw_uids"]
        assert stored.attrs["sloxide_version"] == sloxide.__version__ or isinstance(
            stored.attrs["sloxide_version"], dict
        )


def test_stored_results_equal_the_accessor_on_the_run_read_back(live_campaign, tiled_catalog):
    _, uids, _, _, _ = live_campaign
    checked = set()
    for uid in uids:
        ds = read_run(uid, catalog=tiled_catalog)
        measurement = ds.attrs["sloxide"]["measurement"]
        if measurement == "xas":
            continue
        for reduction in REDUCTIONS[measurement]:
            stored = read_results(uid, catalog=tiled_catalog, method=reduction.method)
            _assert_same(stored, getattr(ds.sloxide, reduction.method)(**reduction.parameters))
            assert stored.attrs["parameters"] == dict(reduction.parameters)
            checked.add(reduction.method)
    assert checked == {"resistivity", "ahe", "mr", "curie_temperature", "amr_harmonics"}


def test_an_xld_pair_is_reduced_once_both_runs_are_in(live_campaign, tiled_catalog):
    _, uids, _, _, _ = live_campaign
    xas = [
        u for u in uids if tiled_catalog[u].metadata["start"]["sloxide"]["measurement"] == "xas"
    ]
    ni = [
        u for u in xas if tiled_catalog[u].metadata["start"]["sloxide"]["xas"]["edge"] == "Ni L2"
    ]
    assert len(ni) == 2
    pair = read_runs(ni, along="xas.incidence_angle_deg", catalog=tiled_catalog)
    norm = xr.Dataset({"norm": pair.sloxide.normalize_xas(**NORMALIZATION["Ni L2"]).norm})
    stored = read_results(ni[1], catalog=tiled_catalog, method="orbital_polarization")
    _assert_same(stored, norm.sloxide.orbital_polarization())
    assert sorted(stored.attrs["raw_uids"]) == sorted(ni)
    assert stored.attrs["parameters"]["normalize_xas"] == NORMALIZATION["Ni L2"]
    both = read_results(ni[0], catalog=tiled_catalog)
    assert both.attrs["methods"] == ["ni_valence", "orbital_polarization", "xld"]


def test_a_failing_reduction_is_reported_and_the_rest_goes_on(
    live_campaign, tiled_catalog, caplog
):
    live, _, _, RE, lab = live_campaign
    with caplog.at_level(logging.WARNING, logger="sloxide.callbacks"):
        # Two points of a loop cannot give an AHE: the reduction raises, the run is fine.
        (bad,) = RE(field_loop(lab["hallbar"], lab["cryostat"], field_max=0.2, step=0.1))
        (good,) = RE(field_loop(lab["hallbar"], lab["cryostat"], temperature=5.0, field_max=6.0,
                                step=0.1, sample="C10/L6"))  # fmt: skip
        assert live.wait(120)
    assert tiled_catalog[bad].metadata["stop"]["exit_status"] == "success"
    assert bad in live.errors and "not reduced" in caplog.text
    assert read_results(bad, catalog=tiled_catalog) is None
    assert read_results(good, catalog=tiled_catalog, method="ahe") is not None


def test_a_callback_error_never_reaches_the_run_engine(live_campaign, caplog):
    live, _, _, RE, lab = live_campaign
    with caplog.at_level("WARNING", logger="sloxide.callbacks"):
        live("stop", {"run_start": None})  # the stop of a run it never saw start: skipped
        live("start", {})  # no uid: logged, not raised
    ignored = [r.getMessage() for r in caplog.records if "ignored" in r.getMessage()]
    assert len(ignored) == 1 and "start document" in ignored[0], caplog.text
    # The callback is still alive: the next run is reduced as usual.
    (uid,) = RE(fc_magnetization(lab["cryostat"], start=150, stop=2, step=2, sample="C10/L6"))
    assert live.wait(60)
    assert uid in live.results and uid not in live.errors  # (the earlier test's run is)


def test_storing_the_same_result_twice_writes_once(tiled_catalog):
    result = xr.Dataset({"Tc": ((), 75.0, {"units": "K"})})
    first = store_result(tiled_catalog, result, method="curie_temperature", raw_uids=["x"])
    again = store_result(tiled_catalog, result, method="curie_temperature", raw_uids=["x"])
    assert first == again
    stored = tiled_catalog[RESULTS_CONTAINER].search(Contains("attrs.raw_uids", "x"))
    assert len(stored) == 1
