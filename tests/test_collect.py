"""collect: stored results across a campaign, found by the catalog's search, as one Dataset.

Three samples, field loops at three temperatures each and an FC M(T) each, go from the
simulated lab into an embedded catalog and through ``reduce_catalog``. ``collect`` must
equal a brute-force gather (``read_results`` over every run, sorted by hand), keep the
units, filter server-side by sample, measurement and setpoint (with units), and follow
its duplicate rule.
"""

from __future__ import annotations

import numpy as np
import pytest
from bluesky import RunEngine
from tiled.queries import Comparison, Eq

import sloxide
from sloxide.batch import reduce_catalog
from sloxide.catalog import open_catalog, subscribe
from sloxide.devices.sim import SimWorld, sim_lab
from sloxide.errors import SloxideError
from sloxide.plans import fc_magnetization, field_loop
from sloxide.results import (
    RESULTS_CONTAINER,
    DuplicateResultsError,
    ResultsNotFoundError,
    collect,
    read_results,
    store_result,
)

SAMPLES = ("C10/L2", "C10/L6", "C2/L6")
TEMPERATURES = (2.0, 10.0, 20.0)


@pytest.fixture(scope="module")
def campaign(tmp_path_factory):
    directory = tmp_path_factory.mktemp("collect")
    catalog = open_catalog(directory, create=True)
    RE = RunEngine({})
    subscribe(RE, catalog)
    world = SimWorld(seed=11)
    lab = sim_lab(world)
    hallbar, cryostat = lab["hallbar"], lab["cryostat"]
    for sample in SAMPLES:
        world.set_sample(sample)
        for t in TEMPERATURES:
            RE(field_loop(hallbar, cryostat, temperature=t, field_max=6.0, step=0.25,
                          sample=sample))  # fmt: skip
        RE(fc_magnetization(cryostat, start=150, stop=2, step=2, sample=sample))
    summary = reduce_catalog(catalog)
    assert summary.failed == 0, summary.table().status.unique()
    return directory, catalog, RE, lab, world


def brute_force(catalog, method, variable):
    """{(sample, temperature): (value, units, uid)} from read_results over every run."""
    out = {}
    for uid, run in catalog.items():
        if uid == RESULTS_CONTAINER:
            continue
        start = run.metadata["start"]
        stored = read_results(uid, catalog=catalog, method=method)
        if stored is None:
            continue
        context = start["sloxide"]
        key = (context["sample"]["name"], context["setpoints"].get("temperature_K"))
        out[key] = (stored[variable].values, stored[variable].attrs.get("units"), uid)
    return out


def test_sigma_ahe_by_sample_and_temperature_equals_a_brute_force_gather(campaign):
    _, catalog, _, _, _ = campaign
    sigma = collect(catalog, "ahe", ["sigma_ahe"], by=("sample", "temperature"))
    expected = brute_force(catalog, "ahe", "sigma_ahe")
    assert sigma.sigma_ahe.dims == ("sample", "temperature")
    assert list(sigma.sample.values) == sorted(SAMPLES)
    np.testing.assert_array_equal(sigma.temperature.values, TEMPERATURES)
    assert sigma.temperature.attrs["units"] == "K"
    assert len(expected) == len(SAMPLES) * len(TEMPERATURES)
    for (sample, t), (value, units, uid) in expected.items():
        cell = sigma.sel(sample=sample, temperature=t)
        np.testing.assert_array_equal(cell.sigma_ahe.values, value)  # the same stored numbers
        assert sigma.sigma_ahe.attrs["units"] == units == "S/cm"
        assert str(cell.raw_uids.values) == uid
        assert str(cell.sloxide_version.values) == sloxide.__version__
    # Fig. 2f: σ_AHE falls with temperature towards T_c in every sample
    assert (sigma.sigma_ahe.sel(temperature=2.0) > sigma.sigma_ahe.sel(temperature=20.0)).all()


def test_every_variable_with_its_own_dims_and_coordinates(campaign):
    _, catalog, _, _, _ = campaign
    ahe = collect(catalog, "ahe", sample="C10/L6")
    assert ahe.rho_ahe.dims == ("sample", "temperature", "branch", "field")
    assert list(ahe.branch.values) == ["up", "down"]
    assert ahe.field.attrs["units"] == "T"
    for name, variable in ahe.data_vars.items():
        if variable.dtype.kind == "f":
            assert "units" in variable.attrs and "long_name" in variable.attrs, name
    assert set(ahe.carrier_type.values.ravel()) == {"holes"}


def test_the_curie_temperature_of_every_sample(campaign):
    _, catalog, _, _, _ = campaign
    tc = collect(catalog, "curie_temperature", ["Tc"], by=("sample",))
    expected = brute_force(catalog, "curie_temperature", "Tc")
    assert tc.Tc.dims == ("sample",) and tc.Tc.attrs["units"] == "K"
    for (sample, _), (value, _, _) in expected.items():
        assert float(tc.Tc.sel(sample=sample)) == float(value)
    # PHYSICS.md §7: T_c ≈ 75 K in every superlattice; the fit's scatter is ~1 K
    np.testing.assert_allclose(tc.Tc.values, 75.6, atol=5.0)


@pytest.mark.parametrize(
    "query, temperatures",
    [
        ({"temperature": (2, 10)}, [2.0, 10.0]),
        ({"temperature": ("2 K", "10 K")}, [2.0, 10.0]),
        ({"temperature": "20 K"}, [20.0]),
        ({"temperature_K": 10}, [10.0]),
        ({"temperature": ("-271.16 degC", "-263 degC")}, [2.0, 10.0]),
        ({"measurement": "field_loop", "temperature": (15, 100)}, [20.0]),
    ],
)
def test_setpoint_filters_with_and_without_units(campaign, query, temperatures):
    _, catalog, _, _, _ = campaign
    found = collect(catalog, "ahe", "sigma_ahe", sample=["C10/L6", "C2/L6"], **query)
    assert list(found.sample.values) == ["C10/L6", "C2/L6"]
    np.testing.assert_array_equal(found.temperature.values, temperatures)
    assert found.attrs["method"] == "ahe"


def test_results_are_searchable_in_tiled_itself(campaign):
    _, catalog, _, _, _ = campaign
    results = catalog[RESULTS_CONTAINER]
    hits = results.search(Eq("sloxide.method", "ahe")).search(Eq("sloxide.sample", "C2/L6"))
    hits = hits.search(Comparison("le", "sloxide.setpoints.temperature", 10.0))
    assert sorted(n.metadata["sloxide"]["setpoints"]["temperature"] for n in hits.values()) == [
        2.0,
        10.0,
    ]


def test_a_series_result_is_collected_by_sample_only(campaign):
    _, catalog, _, _, _ = campaign
    scaling = collect(catalog, "ahe_scaling", ["sigma_ah"], by="sample")
    assert list(scaling.sample.values) == sorted(SAMPLES)
    assert len(str(scaling.raw_uids.sel(sample="C10/L6").values).split()) == 3
    with pytest.raises(SloxideError, match="has no 'temperature'.*by= some of"):
        collect(catalog, "ahe_scaling", by=("sample", "temperature"))


def test_what_is_not_there_is_named(campaign):
    _, catalog, _, _, _ = campaign
    with pytest.raises(ResultsNotFoundError, match="results of .*'ahe'.*'curie_temperature'"):
        collect(catalog, "amr_harmonics")
    with pytest.raises(ResultsNotFoundError, match="their samples are .*'C10/L6'"):
        collect(catalog, "ahe", sample="C99/L1")
    with pytest.raises(SloxideError, match="choose variables= from .*sigma_ahe"):
        collect(catalog, "ahe", ["sigma"])
    with pytest.raises(SloxideError, match="number followed by a unit"):
        collect(catalog, "ahe", temperature="twenty")


def test_a_re_reduction_of_the_same_run_newest_wins(campaign, monkeypatch):
    _, catalog, _, _, _ = campaign
    before = collect(catalog, "curie_temperature", ["Tc"], by="sample")
    uid = str(before.raw_uids.sel(sample="C2/L6").values)
    old = read_results(uid, catalog=catalog, method="curie_temperature")
    monkeypatch.setattr("sloxide.results.__version__", "99.0")
    store_result(catalog, old.assign(Tc=old.Tc + 1.0).drop_attrs(deep=False),
                 method="curie_temperature",
                 raw_uids=[uid])  # fmt: skip
    after = collect(catalog, "curie_temperature", ["Tc"], by="sample")
    assert float(after.Tc.sel(sample="C2/L6")) == float(before.Tc.sel(sample="C2/L6")) + 1.0
    assert str(after.sloxide_version.sel(sample="C2/L6").values) == "99.0"
    pinned = collect(
        catalog, "curie_temperature", ["Tc"], by="sample", version=sloxide.__version__
    )
    np.testing.assert_array_equal(pinned.Tc.values, before.Tc.values)


def test_two_runs_at_one_coordinate_are_an_error_that_says_how_to_choose(campaign):
    """Runs last: it adds a second 10 K loop of C10/L6 to the catalog."""
    _, catalog, RE, lab, world = campaign
    world.set_sample("C10/L6")
    (again,) = RE(field_loop(lab["hallbar"], lab["cryostat"], temperature=10.0, field_max=6.0,
                             step=0.25, sample="C10/L6"))  # fmt: skip
    reduce_catalog(catalog, query={"uid": again})
    with pytest.raises(DuplicateResultsError, match="add 'uid' to by=.*duplicates='newest'"):
        collect(catalog, "ahe", ["sigma_ahe"])
    newest = collect(catalog, "ahe", ["sigma_ahe"], duplicates="newest")
    mine = read_results(again, catalog=catalog, method="ahe")
    assert float(newest.sigma_ahe.sel(sample="C10/L6", temperature=10.0)) == float(mine.sigma_ahe)
    both = collect(catalog, "ahe", ["sigma_ahe"], by=("sample", "temperature", "uid"),
                   sample="C10/L6", temperature=10)  # fmt: skip
    assert both.sizes["uid"] == 2 and again in list(both.uid.values)
