"""Catalog and reader: persistence, units and context, stacks, XLD pairs, aborted runs.

Runs go through a real embedded Tiled catalog in a temporary directory (the
``tiled_catalog`` fixture of conftest.py), written by a RunEngine subscribed
with :func:`sloxide.catalog.subscribe` and driven by plain bluesky plans over
the sim devices, with the ``sloxide`` context that DESIGN.md's data contract
fixes written by the tests.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import textwrap
import time
import uuid

import bluesky.plan_stubs as bps
import bluesky.plans as bp
import numpy as np
import pytest
from bluesky import RunEngine
from bluesky.utils import RunEngineInterrupted

import sloxide  # noqa: F401  (registers the accessor)
from sloxide.catalog import CatalogError, open_catalog, subscribe
from sloxide.devices.sim import SimWorld, sim_lab
from sloxide.errors import DataError, SloxideError
from sloxide.io import RunNotFoundError, read_results, read_run, read_runs
from sloxide.model.samples import HALL_BAR, SAMPLES

# Coarser than the paper's 0.02 T to keep the module fast: 901 points for 0 → 9 → −9 → 9 T.
LOOP_STEP_T = 0.05
STACK_STEP_T = 0.2  # the other temperatures of the stack: 226 points each
NI_L2_ENERGIES = list(np.round(np.arange(862.0, 885.0, 0.1), 6))


@pytest.fixture
def lab():
    return sim_lab(SimWorld(sample="C10/L6", mode="instant", seed=0))


@pytest.fixture(scope="module")
def module_lab():
    return sim_lab(SimWorld(sample="C10/L6", mode="instant", seed=3))


@pytest.fixture(scope="module")
def RE(tiled_catalog):
    engine = RunEngine({})
    subscribe(engine, tiled_catalog)
    return engine


def _sample(name):
    s = SAMPLES[name]
    return {
        "name": s.name,
        "n_CRO": s.n_cro,
        "m_LNO": s.m_lno,
        "repetitions": s.repetitions,
        "substrate": s.substrate,
        "thickness_nm": s.thickness_nm,
    }


def _hall_bar():
    return {
        "width_um": HALL_BAR.width_um,
        "length_um": HALL_BAR.length_um,
        "current_uA": HALL_BAR.current_uA,
        "current_axis": HALL_BAR.current_axis,
        "hall_sign": 1,
    }


def _loop_context(sample, temperature):
    return {
        "measurement": "field_loop",
        "sample": _sample(sample),
        "hall_bar": _hall_bar(),
        "setpoints": {"temperature_K": temperature},
        "quantities": {
            "hallbar_R_xx": "R_xx",
            "hallbar_R_xy": "R_xy",
            "cryostat_field": "field",
            "cryostat_temperature": "temperature",
        },
    }


def _field_loop(RE, lab, temperature, step, field_max=9.0):
    """0 → +Hmax → −Hmax → +Hmax at one temperature, as plain bluesky plans."""
    cryostat, hallbar = lab["cryostat"], lab["hallbar"]
    RE(bps.mv(cryostat.temperature, temperature))
    k = int(round(field_max / step))
    fields = list(np.r_[0 : k + 1, k - 1 : -k - 1 : -1, -k + 1 : k + 1] * step)
    md = {"sloxide": _loop_context(hallbar.world.sample.name, temperature)}
    (uid,) = RE(bp.list_scan([hallbar, cryostat.temperature], cryostat.field, fields, md=md))
    RE(bps.mv(cryostat.field, 0.0))
    return uid


def _xas_run(RE, beamline, theta, group_uid, energies):
    md = {
        "sloxide": {
            "measurement": "xas",
            "sample": _sample(beamline.world.sample.name),
            "xas": {
                "edge": "Ni L2",
                "e0_eV": 870.0,
                "incidence_angle_deg": theta,
                "channel": {90.0: "I_ab", 30.0: "I_c"}[theta],
                "detection": "TEY",
                "group_uid": group_uid,
            },
            "setpoints": {"incidence_angle_deg": theta},
            "quantities": {
                "beamline_energy": "energy",
                "beamline_tey": "tey",
                "beamline_i0": "i0",
                "beamline_incidence_angle": "incidence_angle",
            },
        }
    }
    RE(bps.mv(beamline.incidence_angle, theta))
    (uid,) = RE(bp.list_scan([beamline], beamline.energy, energies, md=md))
    return uid


@pytest.fixture(scope="module")
def loop_2k(RE, module_lab):
    """A C10/L6 field loop at 2 K in 0.05 T steps, written to the catalog."""
    return _field_loop(RE, module_lab, 2.0, LOOP_STEP_T)


# ---------------------------------------------------------------------- persistence

READER = textwrap.dedent(
    """
    import sys
    from sloxide.catalog import open_catalog
    from sloxide.io import read_run
    catalog = open_catalog(sys.argv[1])
    assert sys.argv[2] in list(catalog), "run not listed"
    ds = read_run(sys.argv[2], catalog=catalog)
    print(ds.sizes["time"], ds["hallbar_R_xx"].attrs["units"], ds.attrs["sloxide"]["measurement"])
    """
)


@pytest.fixture(scope="module", autouse=True)
def reader_process(tiled_catalog_dir, RE):
    """Write a run, then read it from another process while this one keeps the catalog open.

    The reader starts before the first test, so its start-up (importing tiled, ~8 s)
    overlaps the other tests; ``test_a_run_is_readable_by_another_process`` collects it.
    """
    lab = sim_lab(SimWorld(sample="C10/L6", seed=1))
    context = {"measurement": "rt", "quantities": {"hallbar_R_xx": "R_xx"}}
    (uid,) = RE(bp.count([lab["hallbar"]], num=4, md={"sloxide": context}))
    process = subprocess.Popen(
        [sys.executable, "-c", READER, str(tiled_catalog_dir), uid],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    yield process
    if process.poll() is None:
        process.kill()
        process.communicate()


def test_open_catalog_is_cached_per_directory(tiled_catalog, tiled_catalog_dir):
    assert open_catalog(tiled_catalog_dir) is tiled_catalog
    assert open_catalog(str(tiled_catalog_dir) + "/.") is tiled_catalog


# ---------------------------------------------------------------------- read_run


def test_read_run_carries_descriptor_units_quantities_and_context(tiled_catalog, loop_2k):
    run = tiled_catalog[loop_2k]
    ds = read_run(run)
    data_keys = run["primary"].metadata["data_keys"]
    start = run.metadata["start"]
    assert set(ds.data_vars) == set(data_keys)
    for name, var in ds.data_vars.items():
        assert var.attrs["units"] == data_keys[name]["units"], name
    assert ds["time"].attrs["units"] == "s"
    quantities = start["sloxide"]["quantities"]
    assert {n: v.attrs["quantity"] for n, v in ds.data_vars.items() if "quantity" in v.attrs} == (
        quantities
    )
    assert ds.attrs["sloxide"] == start["sloxide"]
    assert ds.attrs["uid"] == loop_2k
    assert ds.attrs["plan_name"] == "list_scan"
    assert ds.attrs["scan_id"] == start["scan_id"]
    assert ds.attrs["exit_status"] == "success"
    assert ds.sizes["time"] == 901
    # A uid with catalog= reads the same.
    assert read_run(loop_2k, catalog=tiled_catalog).identical(ds)


def test_a_data_key_without_units_is_read_and_the_accessor_names_it(tiled_catalog, RE):
    from ophyd.sim import SynAxis

    axis = SynAxis(name="bare")  # ophyd's soft signals describe no units (STACK.md)
    (uid,) = RE(bp.count([axis], num=2, md={"sloxide": {"quantities": {"bare": "R_xx"}}}))
    ds = read_run(tiled_catalog[uid])
    assert "units" not in ds["bare"].attrs and ds["bare"].attrs["quantity"] == "R_xx"
    with pytest.raises(SloxideError, match="bare|R_xx"):
        ds.sloxide.resistivity(width=200, length=1200, thickness=60)


def test_field_loop_through_the_accessor_with_zero_arguments(tiled_catalog, loop_2k):
    ahe = read_run(tiled_catalog[loop_2k]).sloxide.ahe()
    assert ahe.delta_rho_ahe.item() == pytest.approx(0.03, rel=0.05)  # C10/L6 at 2 K [P]
    # 0.03 T rather than the paper's 0.02 T: the loop is sampled every 0.05 T here, so the
    # crossing line is fitted through a few points of a 0.05 T grid.
    assert ahe.coercive_field.item() == pytest.approx(0.97, abs=0.03)  # [P]
    assert ahe.carrier_type.item() == "holes"


def test_read_run_is_the_plain_tiled_read_with_units(tiled_catalog, loop_2k):
    # What read_run adds to a plain Tiled read is metadata only: the same variables and
    # values, with units and quantities. Its cost is measured in benchmarks/catalog.py.
    run = tiled_catalog[loop_2k]
    plain = run["primary"].read()
    ours = read_run(run)
    assert set(plain.data_vars) == set(ours.data_vars)
    for name, variable in plain.data_vars.items():
        np.testing.assert_array_equal(ours[name].values, variable.values)
        assert ours[name].attrs["units"], name


# ---------------------------------------------------------------------- read_runs


def test_field_loops_stack_along_temperature(tiled_catalog, RE, module_lab, loop_2k):
    uids = [loop_2k] + [
        _field_loop(RE, module_lab, t, STACK_STEP_T, field_max=9.0) for t in (10.0, 20.0)
    ]
    ds = read_runs([tiled_catalog[u] for u in uids], along="setpoints.temperature_K")
    assert ds.hallbar_R_xy.dims == ("temperature", "point")
    assert ds.sizes == {"temperature": 3, "point": 901}
    assert ds.temperature.values.tolist() == [2.0, 10.0, 20.0]
    assert ds.temperature.attrs["units"] == "K"
    assert list(ds.uid.values) == uids
    assert ds.hallbar_R_xy.attrs == {"units": "ohm", "quantity": "R_xy"}
    # The shorter loops are NaN-padded after their last point.
    assert int(ds.cryostat_field.sel(temperature=10.0).count()) == 226
    assert "temperature_K" not in ds.attrs["sloxide"]["setpoints"]  # differs: now the coord
    assert ds.attrs["sloxide"]["sample"]["name"] == "C10/L6"
    ahe = ds.sloxide.ahe()  # zero arguments: the sweep dim is ``point``
    assert ahe.delta_rho_ahe.dims == ("temperature",)
    assert ahe.delta_rho_ahe.sel(temperature=2.0).item() == pytest.approx(0.03, rel=0.05)
    # Δρ_AHE shrinks on warming towards T_c = 75 K.
    assert np.all(np.diff(ahe.delta_rho_ahe.values) < 0)


def test_an_xld_pair_joins_on_incidence_angle_and_energy(tiled_catalog, RE, lab):
    beamline = lab["beamline"]
    beamline.world.set_sample("C2/L2")
    group = str(uuid.uuid4())
    uids = [_xas_run(RE, beamline, theta, group, NI_L2_ENERGIES) for theta in (90.0, 30.0)]
    pair = read_runs([tiled_catalog[u] for u in uids], along="xas.incidence_angle_deg")
    assert pair.beamline_tey.dims == ("incidence_angle", "energy")
    assert pair.incidence_angle.values.tolist() == [90.0, 30.0]
    assert pair.incidence_angle.attrs["units"] == "deg"
    assert pair.energy.attrs["units"] == "eV"
    np.testing.assert_array_equal(pair.energy.values, NI_L2_ENERGIES)
    assert "quantity" not in pair.beamline_energy.attrs  # the readback; the coord is the energy
    assert pair.attrs["sloxide"]["xas"]["group_uid"] == group
    xld = pair.sloxide.xld().xld
    assert float(xld.sel(energy=slice(866.0, 878.0)).sum()) < 0  # x²−y² preferred, C2/L2 [P]


def test_xas_runs_on_different_energies_are_refused(tiled_catalog, RE, lab):
    beamline = lab["beamline"]
    group = str(uuid.uuid4())
    uids = [
        _xas_run(RE, beamline, 90.0, group, [868.0, 869.0, 870.0]),
        _xas_run(RE, beamline, 30.0, group, [868.0, 869.0]),
    ]
    with pytest.raises(SloxideError, match="different energy points"):
        read_runs(uids, along="xas.incidence_angle_deg", catalog=tiled_catalog)


def test_runs_that_cannot_stack_are_refused(tiled_catalog, RE, lab):
    hallbar = lab["hallbar"]

    def count(context):
        return RE(bp.count([hallbar], num=2, md={"sloxide": context}))[0]

    rt = count({"measurement": "rt", "setpoints": {"temperature_K": 300.0}})
    loop = count({"measurement": "field_loop", "setpoints": {"temperature_K": 2.0}})
    bare = count({"measurement": "rt"})
    along = "setpoints.temperature_K"
    with pytest.raises(SloxideError, match="different measurements"):
        read_runs([rt, loop], along=along, catalog=tiled_catalog)
    with pytest.raises(SloxideError, match=r"no sloxide\.setpoints\.temperature_K"):
        read_runs([rt, bare], along=along, catalog=tiled_catalog)
    with pytest.raises(SloxideError, match="repeat"):
        read_runs([rt, rt], along=along, catalog=tiled_catalog)
    with pytest.raises(SloxideError, match="at least one run"):
        read_runs([], along=along)


# ---------------------------------------------------------------------- failed and aborted runs


def _stepper(fail_after, action):
    """A per_step that takes ``fail_after`` points, then runs ``action`` (a plan)."""
    taken = []

    def per_step(detectors, step, pos_cache):
        if len(taken) == fail_after:
            yield from action()
        taken.append(step)
        yield from bps.one_nd_step(detectors, step, pos_cache)

    return per_step


def test_an_aborted_run_is_closed_and_its_events_are_readable(tiled_catalog, RE, lab):
    cryostat, hallbar = lab["cryostat"], lab["hallbar"]
    md = {"sloxide": _loop_context("C10/L6", 300.0)}
    plan = bp.list_scan(
        [hallbar],
        cryostat.field,
        [0.0, 0.1, 0.2, 0.3, 0.4, 0.5],
        per_step=_stepper(3, bps.pause),
        md=md,
    )
    with pytest.raises(RunEngineInterrupted):
        RE(plan)
    (uid,) = RE.abort(reason="operator stopped the loop")
    ds = read_run(uid, catalog=tiled_catalog)
    assert ds.attrs["exit_status"] == "abort"
    assert ds.sizes["time"] == 3
    assert ds.hallbar_R_xx.attrs == {"units": "ohm", "quantity": "R_xx"}


def test_a_plan_that_raises_midway_leaves_a_failed_readable_run(tiled_catalog, RE, lab):
    def fault():
        raise RuntimeError("magnet quench")
        yield  # a generator

    uids = []
    plan = bp.list_scan(
        [lab["hallbar"]],
        lab["cryostat"].field,
        [0.0, 0.1, 0.2, 0.3],
        per_step=_stepper(2, fault),
        md={"sloxide": _loop_context("C10/L6", 300.0)},
    )
    with pytest.raises(RuntimeError, match="magnet quench"):
        RE(plan, lambda name, doc: uids.append(doc["uid"]) if name == "start" else None)
    ds = read_run(uids[0], catalog=tiled_catalog)
    assert ds.attrs["exit_status"] == "fail"
    assert ds.sizes["time"] == 2


def test_a_run_without_events_says_so(tiled_catalog, RE):
    def empty():
        yield from bps.open_run(md={"sloxide": {"measurement": "rt"}})
        yield from bps.close_run()

    (uid,) = RE(empty())
    with pytest.raises(DataError, match="no 'primary' stream"):
        read_run(uid, catalog=tiled_catalog)


# ---------------------------------------------------------------------- errors and results


def test_unknown_uid_and_missing_results(tiled_catalog, loop_2k):
    with pytest.raises(RunNotFoundError, match="no run with uid 'nope'"):
        read_run("nope", catalog=tiled_catalog)
    assert read_results(loop_2k, catalog=tiled_catalog) is None
    assert read_results(tiled_catalog[loop_2k]) is None


def test_an_unwritable_catalog_directory_is_a_clear_error(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    with pytest.raises(CatalogError, match="cannot create the catalog directory"):
        open_catalog(blocker / "catalog", create=True)
    with pytest.raises(CatalogError, match="not a directory"):
        open_catalog(blocker, create=True)


def test_an_unreachable_server_is_a_clear_error_at_once():
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    start = time.perf_counter()
    with pytest.raises(CatalogError, match="cannot reach the Tiled server"):
        open_catalog(f"http://127.0.0.1:{port}")
    assert time.perf_counter() - start < 5  # no 20 s of retries


# ---------------------------------------------------------------------- persistence, collected


def test_a_run_is_readable_by_another_process(reader_process):
    # Last in the module, so that the reader's start-up overlapped the tests above.
    stdout, stderr = reader_process.communicate(timeout=120)
    assert reader_process.returncode == 0, stderr[-2000:]
    assert stdout.split() == ["4", "ohm", "rt"]


def test_a_tiled_server_url_with_the_api_key_from_the_environment(monkeypatch, tmp_path):
    import tiled.catalog
    from tiled.server import SimpleTiledServer

    # open_catalog creates the catalog in-process; the server then skips its own ~5 s
    # initialization subprocess.
    open_catalog(tmp_path, create=True)
    create = tiled.catalog.from_uri
    monkeypatch.setattr(
        tiled.catalog, "from_uri", lambda *a, **k: create(*a, **{**k, "init_if_not_exists": False})
    )
    server = SimpleTiledServer(directory=tmp_path)
    try:
        base, key = server.uri.split("?api_key=")
        assert len(open_catalog(server.uri)) == 0  # a key in the URL is not passed twice
        monkeypatch.setenv("TILED_API_KEY", key)
        assert len(open_catalog(base)) == 0
        monkeypatch.setenv("TILED_API_KEY", "wrong")
        with pytest.raises(CatalogError, match="refused the API key"):
            open_catalog(base + "/")
        monkeypatch.delenv("TILED_API_KEY")
        with pytest.raises(CatalogError, match="set the TILED_API_KEY"):
            open_catalog(base + "/?")
    finally:
        server.close()


def test_refused_plan_arguments_leave_no_run_in_the_catalog(tmp_path):
    # A catalog of its own: the server test above replaces tiled's process-wide
    # single-user API key, which the module's in-process catalog was built with.
    from bluesky import RunEngine

    from sloxide.catalog import subscribe
    from sloxide.devices.sim import SimWorld, sim_lab
    from sloxide.errors import SloxideError
    from sloxide.plans import field_loop, xas_scan

    tiled_catalog = open_catalog(tmp_path, create=True)
    lab = sim_lab(SimWorld(sample="C10/L6", seed=3))
    engine = RunEngine({})
    subscribe(engine, tiled_catalog)
    before = len(tiled_catalog)
    for plan in (
        field_loop(lab["hallbar"], lab["cryostat"], temperature=-5.0),
        field_loop(lab["hallbar"], lab["cryostat"], step="0.1 K"),
        xas_scan(lab["beamline"], regions=(868.0, 0.5)),
    ):
        with pytest.raises(SloxideError):
            engine(plan)
    assert len(tiled_catalog) == before
