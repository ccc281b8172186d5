"""Stored results are the accessor's results: every reduction of a real campaign, read back.

A small C10/L6 campaign (every kind of run, a loop series, an XLD pair) goes from the
simulated lab into an embedded catalog and through ``reduce_catalog``; every stored
result must then equal the accessor's output on the runs read back: values (bitwise,
NaN where NaN), dims, coordinate labels, dtypes, ``units`` and every other attr, 0-d
scalars as 0-d, and the accessor's Dataset attrs. Hypothesis does the same over
hand-made Datasets of every kind the accessor returns, and the exports keep the units.
"""

from __future__ import annotations

import uuid
from pathlib import Path

import numpy as np
import pytest
import xarray as xr
from bluesky import RunEngine
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tiled.queries import Contains, Eq

import sloxide
from sloxide.batch import reduce_catalog
from sloxide.catalog import open_catalog, subscribe
from sloxide.cli import main
from sloxide.devices.sim import SimWorld, sim_lab
from sloxide.export import export_dataset, open_exported
from sloxide.io import read_run, read_runs
from sloxide.multivu import import_multivu
from sloxide.plans import amr_rotation, fc_magnetization, field_loop, rt_sweep, xld_scan
from sloxide.reduction import PAIR_REDUCTIONS, REDUCTIONS, reduce_loop_series, reduce_xas_pair
from sloxide.results import (
    _SCALAR_DIM,
    RESULTS_CONTAINER,
    read_results,
    store_result,
)
from sloxide.units import is_quantified, parse_units

DATA = Path(__file__).resolve().parent / "data"
PROVENANCE = {"sloxide_version", "method", "parameters", "raw_uids", "reduced_at", "methods"}


@pytest.fixture(scope="module")
def campaign(tmp_path_factory):
    """Every kind of run of C10/L6 once (three loops for the scaling, a Ni L2 pair), reduced."""
    directory = tmp_path_factory.mktemp("roundtrip")
    catalog = open_catalog(directory, create=True)
    RE = RunEngine({})
    subscribe(RE, catalog)
    lab = sim_lab(SimWorld(sample="C10/L6", seed=5))
    hallbar, cryostat = lab["hallbar"], lab["cryostat"]
    uids = {"rt": RE(rt_sweep(hallbar, cryostat, start=300, stop=20, step=20, sample="C10/L6"))}
    for t in (2.0, 5.0, 10.0):
        uids[f"loop {t:g}"] = RE(field_loop(hallbar, cryostat, temperature=t, field_max=6.0,
                                            step=0.2, sample="C10/L6"))  # fmt: skip
    uids["fc"] = RE(fc_magnetization(cryostat, start=150, stop=2, step=2, sample="C10/L6"))
    uids["amr"] = RE(amr_rotation(hallbar, cryostat, lab["rotator"], plane="(001)", step=10.0,
                                  sample="C10/L6"))  # fmt: skip
    uids["xld"] = RE(xld_scan(lab["beamline"], regions=(862.0, 0.2, 885.0), sample="C10/L6"))
    # An M(H) loop comes from a file (no plan takes one): a real MPMS3 loop, imported.
    (report,) = import_multivu([DATA / "mpms3_dc_mvsh_5K.dat"], catalog)
    uids["mh"] = report.written
    summary = reduce_catalog(catalog)
    assert summary.failed == 0, summary.table().status.unique()
    return directory, catalog, uids


def _fresh(catalog, method: str, raw_uids: list[str], parameters: dict) -> xr.Dataset:
    """What the accessor gives for a stored result's runs, computed again here."""
    if method == "ahe_scaling":
        loops = read_runs(raw_uids, along="setpoints.temperature_K", catalog=catalog)
        (result,) = reduce_loop_series(loops)
        return result.data
    if method in {r.method for reductions in PAIR_REDUCTIONS.values() for r in reductions}:
        pair = read_runs(raw_uids, along="xas.incidence_angle_deg", catalog=catalog)
        return {r.method: r.data for r in reduce_xas_pair(pair)}[method]
    (uid,) = raw_uids
    return getattr(read_run(uid, catalog=catalog).sloxide, method)(**parameters)


def assert_same_result(stored: xr.Dataset, fresh: xr.Dataset) -> None:
    """Equal as the accessor returned it: data, coords, dims, dtypes, attrs; provenance aside."""
    own = {k: v for k, v in stored.attrs.items() if k not in PROVENANCE}
    xr.testing.assert_identical(
        stored.assign_attrs(own).drop_attrs(deep=False), fresh.drop_attrs(deep=False)
    )
    assert own == fresh.attrs
    for name, variable in fresh.variables.items():
        assert stored[name].dtype == variable.dtype, name
        assert stored[name].dims == variable.dims, name


def test_every_reduction_of_the_table_is_stored_and_read_back_unchanged(campaign):
    _, catalog, _ = campaign
    container = catalog[RESULTS_CONTAINER]
    checked = set()
    for node in container.values():
        provenance = node.metadata["attrs"]
        method, raw = provenance["method"], list(provenance["raw_uids"])
        stored = read_results(raw[0], catalog=catalog, method=method)
        assert stored.attrs["raw_uids"] == raw and stored.attrs["methods"] == [method]
        assert stored.attrs["sloxide_version"] == sloxide.__version__
        assert_same_result(stored, _fresh(catalog, method, raw, dict(provenance["parameters"])))
        checked.add(method)
    table = {r.method for reductions in REDUCTIONS.values() for r in reductions}
    pairs = {r.method for reductions in PAIR_REDUCTIONS.values() for r in reductions}
    assert checked == table | pairs | {"ahe_scaling"}


def test_a_field_loop_keeps_branch_labels_units_and_the_carrier_type(campaign):
    _, catalog, uids = campaign
    (uid,) = uids["loop 2"]
    ahe = read_results(uid, catalog=catalog, method="ahe")
    assert list(ahe.branch.values) == ["up", "down"] and "branch" in ahe.indexes
    assert ahe.rho_ahe.dims == ("branch", "field")
    assert ahe.coercive_field.ndim == 0 and ahe.coercive_field.attrs["units"] == "T"
    assert ahe.R0.attrs["units"] == "uohm * cm / T"
    assert ahe.rho_ahe.attrs["units"] == "uohm * cm"
    assert str(ahe.carrier_type.values) == "holes"  # R0 > 0 in C10/L6 (PHYSICS.md §7)
    assert _SCALAR_DIM not in ahe.dims
    # .sel by the string label works as on the accessor's output
    assert ahe.rho_ahe.sel(branch="up").dims == ("field",)
    # every variable and coordinate with a physical meaning carries units
    for name, variable in ahe.variables.items():
        if variable.dtype.kind == "f":
            assert "units" in variable.attrs, name


def test_all_methods_of_a_run_merge_with_their_labels(campaign):
    _, catalog, uids = campaign
    (uid,) = uids["loop 2"]
    both = read_results(uid, catalog=catalog)
    assert set(both.attrs["methods"]) >= {"ahe", "mr"}
    assert list(both.branch.values) == ["up", "down"]
    assert (
        both.mr.attrs["units"] == read_results(uid, catalog=catalog, method="mr").mr.attrs["units"]
    )
    assert both.coercive_field.attrs["units"] == "T"


def test_pint_output_comes_back_with_the_same_units(campaign):
    _, catalog, uids = campaign
    (uid,) = uids["fc"]
    fresh = read_run(uid, catalog=catalog).pint.quantify().sloxide.curie_temperature()
    assert is_quantified(fresh.Tc)
    raw = [str(uuid.uuid4())]
    store_result(catalog, fresh, method="curie_temperature", raw_uids=raw, parameters={"pint": 1})
    back = read_results(raw[0], catalog=catalog, quantify=True)
    plain = read_results(raw[0], catalog=catalog)
    for name, variable in fresh.data_vars.items():
        if is_quantified(variable):
            assert back[name].data.units == variable.data.units, name
            np.testing.assert_array_equal(back[name].data.magnitude, variable.data.magnitude)
            assert parse_units(plain[name].attrs["units"]) == variable.data.units


def test_a_format_1_result_still_reads(campaign):
    """Results stored by the previous layout (Tiled's own xarray writer) read as before."""
    from tiled.client.xarray import write_xarray_dataset

    _, catalog, _ = campaign
    raw = str(uuid.uuid4())
    old = xr.Dataset(
        {"Tc": ((_SCALAR_DIM,), [75.5], {"units": "K"})},
        attrs={"sloxide_version": "0.0.1", "method": "curie_temperature", "parameters": {},
               "raw_uids": [raw], "reduced_at": "2025-01-01T00:00:00+00:00"},
    )  # fmt: skip
    write_xarray_dataset(catalog[RESULTS_CONTAINER], old, key=f"curie_temperature-old-{raw}")
    back = read_results(raw, catalog=catalog)
    assert back.Tc.ndim == 0 and float(back.Tc) == 75.5 and back.Tc.attrs["units"] == "K"


def test_a_format_2_result_still_reads_and_is_collected(campaign, monkeypatch):
    """Results stored by the previous layout (an array node per numeric variable) read as
    before, are collected beside format-3 ones, and the newer store of the same runs wins."""
    import sloxide.results as results

    _, catalog, uids = campaign
    (uid,) = uids["loop 5"]
    fresh = read_run(uid, catalog=catalog).sloxide.ahe()
    with monkeypatch.context() as patch:
        patch.setattr(results, "RESULTS_FORMAT", 2)  # the key's digest covers the format
        patch.setattr(results, "INLINE_LIMIT", -1)  # every numeric variable as an array
        key = store_result(catalog, fresh, method="ahe", raw_uids=[uid])
    node = catalog[RESULTS_CONTAINER][key]
    assert node.metadata["sloxide"]["format"] == 2
    assert "rho_ahe" in list(node)  # the old layout: the arrays are child nodes
    assert all("data" not in e for e in node.metadata["sloxide_layout"]["variables"])
    assert_same_result(read_results(uid, catalog=catalog, method="ahe"), fresh)
    loops = results.collect(catalog, "ahe", ["sigma_ahe"], sample="C10/L6")
    assert loops.result_key.sel(temperature=5.0).item() == key  # stored last: it wins
    assert loops.sizes["temperature"] == 3


def test_a_result_too_large_to_inline_keeps_an_array_per_variable(campaign):
    """Above INLINE_LIMIT bytes of numbers a result is stored in Tiled's xarray layout."""
    from sloxide.results import INLINE_LIMIT

    _, catalog, _ = campaign
    n = INLINE_LIMIT // 8 + 1
    values = np.linspace(0.0, 1.0, n)
    values[::7] = np.nan
    big = xr.Dataset(
        {"curve": ("angle", values, {"units": "percent"}), "n": ((), np.int64(n))},
        coords={"angle": ("angle", np.arange(n, dtype="f4"), {"units": "deg"})},
        attrs={"model": "many harmonics"},
    )
    raw = str(uuid.uuid4())
    key = store_result(catalog, big, method="amr_harmonics", raw_uids=[raw])
    node = catalog[RESULTS_CONTAINER][key]
    assert sorted(node) == ["angle", "curve", "n"]
    assert_same_result(read_results(raw, catalog=catalog), big)


def test_a_result_is_one_node_written_in_one_request(campaign):
    """A usual result is whole in its node's metadata: no child arrays to write or read."""
    _, catalog, uids = campaign
    (uid,) = uids["loop 2"]
    container = catalog[RESULTS_CONTAINER]
    (node,) = (
        container.search(Eq("sloxide.method", "ahe"))
        .search(Eq("sloxide.format", 3))
        .search(Contains("sloxide.raw_uids", uid))
        .values()
    )
    assert len(node) == 0
    layout = node.metadata["sloxide_layout"]["variables"]
    assert {e["name"] for e in layout if "data" in e} >= {"rho_ahe", "field", "R0"}


# --------------------------------------------------------------------------- export


@pytest.mark.parametrize("fmt", ["netcdf", "zarr", "csv"])
def test_exported_results_keep_every_unit_and_label(campaign, tmp_path, fmt):
    directory, catalog, uids = campaign
    (uid,) = uids["loop 2"]
    ahe = read_results(uid, catalog=catalog, method="ahe")
    path = tmp_path / {"netcdf": "ahe.nc", "zarr": "ahe.zarr", "csv": "ahe.csv"}[fmt]
    code = main(["export", uid, "--catalog", str(directory), "--results", "--method", "ahe",
                 "--format", fmt, "-o", str(path)])  # fmt: skip
    assert code == 0
    back = open_exported(path)
    for name, variable in ahe.variables.items():
        assert back[name].attrs.get("units") == variable.attrs.get("units"), name
        assert back[name].attrs.get("long_name") == variable.attrs.get("long_name"), name
        assert back[name].dims == variable.dims, name
    xr.testing.assert_equal(back.drop_attrs(), ahe.drop_attrs())
    assert back.attrs["raw_uids"] == [uid] and back.attrs["method"] == "ahe"
    if fmt != "csv":  # plain xarray reads the CF units attrs too
        plain = (
            xr.open_zarr(path, consolidated=False)
            if fmt == "zarr"
            else xr.open_dataset(path, engine="h5netcdf")
        )
        assert plain.coercive_field.attrs["units"] == "T"
        assert plain.rho_ahe.attrs["units"] == "uohm * cm"
        plain.close()


def test_exported_results_of_several_methods_keep_their_units(campaign, tmp_path):
    _, catalog, uids = campaign
    (uid,) = uids["amr"]
    harmonics = read_results(uid, catalog=catalog)
    path = export_dataset(harmonics, tmp_path / "amr.csv", "csv")
    back = open_exported(path)
    xr.testing.assert_identical(back.drop_attrs(deep=False), harmonics.drop_attrs(deep=False))


# --------------------------------------------------------------------------- property


UNITS = ["K", "T", "uohm * cm", "uohm * cm / T", "S/cm", "1/cm**3", "percent", "deg", "1", "eV"]
FLOATS = {
    width: st.floats(allow_infinity=False, width=width) | st.just(float("nan"))
    for width in (32, 64)
}


@st.composite
def accessor_like(draw):
    """A Dataset of the shapes and dtypes the accessor returns."""
    n_field = draw(st.integers(1, 5))
    n_harm = draw(st.integers(1, 3))
    coords = {
        "field": ("field", np.linspace(-1, 1, n_field), {"units": "T", "long_name": "µ0H"}),
        "branch": ("branch", ["up", "down"], {"long_name": "sweep branch"}),
        "harmonic": ("harmonic", np.arange(2, 2 + 2 * n_harm, 2), {"long_name": "harmonic n"}),
    }
    shapes = {(): (), ("field",): (n_field,), ("branch", "field"): (2, n_field),
              ("harmonic",): (n_harm,), ("branch",): (2,)}  # fmt: skip
    data_vars = {}
    for i in range(draw(st.integers(1, 6))):
        dims = draw(st.sampled_from(sorted(shapes)))
        shape = shapes[dims]
        kind = draw(st.sampled_from(["f8", "f4", "i8", "bool", "str"]))
        size = int(np.prod(shape))
        if kind in ("f8", "f4"):
            floats = FLOATS[32 if kind == "f4" else 64]
            values = np.array(draw(st.lists(floats, min_size=size, max_size=size)))
            values = values.astype(kind).reshape(shape)
        elif kind == "i8":
            values = np.array(draw(st.lists(st.integers(-(2**62), 2**62), min_size=size,
                                            max_size=size)), dtype="i8").reshape(shape)  # fmt: skip
        elif kind == "bool":
            values = np.array(draw(st.lists(st.booleans(), min_size=size, max_size=size)),
                              dtype=bool).reshape(shape)  # fmt: skip
        else:
            text = st.text(
                st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), max_size=8
            )
            values = np.array(draw(st.lists(text, min_size=size, max_size=size)), dtype=str)
            values = values.reshape(shape)
        attrs = {"long_name": draw(st.text(max_size=12))}
        if kind != "str" and kind != "bool":
            attrs["units"] = draw(st.sampled_from(UNITS))
        data_vars[f"v{i}"] = (dims, values, attrs)
    used = {d for dims, _, _ in data_vars.values() for d in dims}
    ds = xr.Dataset(data_vars, coords={k: v for k, v in coords.items() if k in used})
    if draw(st.booleans()):
        ds = ds.assign_coords(temperature=((), 2.0, {"units": "K"}))  # a 0-d coordinate
    ds.attrs = draw(st.dictionaries(st.sampled_from(["model", "convention", "hall_sign"]),
                                    st.integers(-3, 3) | st.text(max_size=5), max_size=2))  # fmt: skip
    return ds


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(ds=accessor_like())
def test_any_accessor_shaped_dataset_round_trips(campaign, ds):
    _, catalog, _ = campaign
    raw = str(uuid.uuid4())
    store_result(catalog, ds, method="property", raw_uids=[raw])
    back = read_results(raw, catalog=catalog)
    assert_same_result(back, ds)
