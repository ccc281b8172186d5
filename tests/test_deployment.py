"""Deployment: devices/ definitions, the plans/ profile in IPython and the queueserver.

The queueserver test is end to end with real components: redis and the RE Manager run
as subprocesses started here, the manager loads ``plans/`` with the shipped
``existing_plans_and_devices.yaml`` and ``user_group_permissions.yaml``, plans are
submitted through ``bluesky-queueserver-api``, and their data is read back from the
catalog the manager's worker wrote to.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from services import (
    ROOT,
    free_port,
    port_open,
    require,
    require_executable,
    running,
    wait_for,
)

from sloxide.devices.definitions import DeviceDefinitionError, load_devices
from sloxide.plans.magnetotransport import loop_fields

PLANS = Path(ROOT) / "plans"
DEVICES = Path(ROOT) / "devices"
STARTUP = PLANS / "00-startup.py"
SLOXIDE_PLANS = {
    "rt_sweep",
    "field_loop",
    "fc_magnetization",
    "amr_rotation",
    "xas_scan",
    "xld_scan",
    "campaign",
}
STANDARD_PLANS = {"count", "scan", "rel_scan", "list_scan", "grid_scan", "mv", "mvr", "sleep"}


# --------------------------------------------------------------------------- devices/


@pytest.mark.parametrize("name", ["sim-lab", "epics-transport-lab", "epics-beamline"])
def test_each_shipped_definition_makes_its_devices(name, monkeypatch):
    devices = load_devices(DEVICES / f"{name}.toml")  # EPICS ones are made, not connected
    expected = {
        "sim-lab": {"cryostat", "hallbar", "rotator", "beamline"},
        "epics-transport-lab": {"cryostat", "hallbar", "rotator"},
        "epics-beamline": {"beamline", "cryostat"},
    }[name]
    assert set(devices) == expected
    for device_name, device in devices.items():
        assert device.name == device_name
        assert type(device).__name__.startswith("Sim" if name == "sim-lab" else "Epics")
    if name == "epics-transport-lab":
        assert devices["cryostat"].field.setpoint.pvname == "SLX:AMI430:FieldTarget"
        assert devices["cryostat"].field.rate.get() == 0.02  # a setting from the file


def test_editing_a_prefix_needs_no_python(tmp_path):
    text = (DEVICES / "epics-beamline.toml").read_text().replace('"SLX:"', '"BL29:"')
    path = tmp_path / "bl29.toml"
    path.write_text(text)
    devices = load_devices(path)
    assert devices["beamline"].energy.setpoint.pvname == "BL29:MONO:Energy"
    assert devices["beamline"].tey.pvname == "BL29:EM:TEY"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "no devices"),
        ("[devices.x]\nclass = 'sloxide.devices.cryostat.Nope'\n", "cannot be imported"),
        ("[devices.x]\nclass = 'pathlib.Path'\n", "is not an ophyd Device"),
        ("[devices.x]\nclass = 'sloxide.devices.cryostat.EpicsCryostat'\n", "needs its PV prefix"),
        (
            "[devices.x]\nclass = 'sloxide.devices.cryostat.SimCryostat'\nprefix = 'A:'\n",
            "takes no prefix",
        ),
        ("[devices.x]\nclass = 'sloxide.devices.cryostat.SimCryostat'\nport = 1\n", "unknown key"),
        (
            "[devices.x]\nclass = 'sloxide.devices.cryostat.SimCryostat'\n"
            "settings = { 'feild.rate' = 1.0 }\n",
            "has no component 'feild.rate'",
        ),
        (
            "[world]\nsample = 'C99/L1'\n[devices.x]\n"
            "class = 'sloxide.devices.cryostat.SimCryostat'\n",
            "unknown sample",
        ),
        ("[devices.x\n", "not valid TOML"),
    ],
)
def test_a_bad_definition_file_is_one_clear_error(tmp_path, text, message):
    path = tmp_path / "lab.toml"
    path.write_text(text)
    with pytest.raises(DeviceDefinitionError, match=message):
        load_devices(path)


def test_a_missing_definition_file_points_at_the_examples(tmp_path):
    with pytest.raises(DeviceDefinitionError, match="sim-lab.toml"):
        load_devices(tmp_path / "nope.toml")


# --------------------------------------------------------------------------- IPython


def test_the_profile_in_ipython_gives_a_run_engine_devices_and_plans(tmp_path):
    pytest.importorskip("IPython")
    cell = "\n".join(
        [
            f"%run -i {STARTUP}",
            "uid, = RE(field_loop(hallbar, cryostat, temperature=10.0, field_max=1.0, step=0.5,"
            " sample='C10/L6'))",
            "print('RESULT', uid, catalog[uid].metadata['stop']['exit_status'], len(RE.suspenders),"
            " bec, RE.waiting_hook)",
        ]
    )
    env = {**os.environ, "SLOXIDE_CATALOG": str(tmp_path / "catalog")}
    for name in (
        "SLOXIDE_DEVICES",
        "SLOXIDE_FEEDBACK",
        "SLOXIDE_LIVE",
        "SLOXIDE_LIVE_DRAIN_TIMEOUT",
    ):
        env.pop(name, None)
    out = subprocess.run(
        [sys.executable, "-m", "IPython", "--quick", "--no-banner", "--colors=nocolor"]
        + ["-c", cell],
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        cwd=tmp_path,
    )
    lines = [line for line in out.stdout.splitlines() if line.startswith("RESULT")]
    assert lines, out.stdout[-2000:] + out.stderr[-2000:]
    _, uid, status, suspenders, bec, waiting_hook = lines[0].split()
    assert status == "success"
    assert int(suspenders) == 3  # quench, temperature excursion, beam dump
    assert (bec, waiting_hook) == ("None", "None")  # `ipython -c`: nobody at the prompt
    # The session exits, after reducing the run it ended with (issue 21 item 3).
    assert out.returncode == 0, out.stderr[-2000:]
    from sloxide.catalog import open_catalog
    from sloxide.io import read_run
    from sloxide.results import read_results

    catalog = open_catalog(tmp_path / "catalog")
    ds = read_run(uid, catalog=catalog)
    assert ds.sizes["time"] == len(loop_fields(1.0, 0.5))
    assert ds["cryostat_field"].attrs["units"] == "T"
    stored = read_results(uid, catalog=catalog)
    assert stored is not None and {"ahe", "mr"} <= set(stored.attrs["methods"])


# --------------------------------------------------------------------------- queueserver


def test_the_shipped_plan_list_is_not_stale(tmp_path):
    """CI fails when plans/ changed without regenerating existing_plans_and_devices.yaml."""
    lister = require_executable("qserver-list-plans-devices")
    env = {**os.environ, "SLOXIDE_CATALOG": str(tmp_path / "catalog")}
    env.pop("SLOXIDE_DEVICES", None)
    out = subprocess.run(
        [lister, "--startup-dir", str(PLANS), "--file-dir", str(tmp_path)]
        + ["--file-name", "existing_plans_and_devices.yaml"],
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:]
    fresh = yaml.safe_load((tmp_path / "existing_plans_and_devices.yaml").read_text())
    shipped = yaml.safe_load((PLANS / "existing_plans_and_devices.yaml").read_text())
    assert fresh == shipped, (
        "plans/existing_plans_and_devices.yaml is stale; regenerate it with: "
        "SLOXIDE_CATALOG=$(mktemp -d) qserver-list-plans-devices --startup-dir plans "
        "--file-dir plans --file-name existing_plans_and_devices.yaml"
    )
    assert SLOXIDE_PLANS | STANDARD_PLANS <= set(shipped["existing_plans"])


@pytest.fixture(scope="module")
def redis_port():
    server = require_executable("redis-server")
    port = free_port()
    with running([server, "--port", str(port), "--bind", "127.0.0.1", "--save", ""] + [
        "--appendonly", "no",
    ]) as process:  # fmt: skip
        wait_for(lambda: port_open(port), 20, "redis-server", process)
        yield port


@pytest.fixture(scope="module")
def queue(redis_port, tmp_path_factory):
    """An RE Manager on the shipped profile (sim lab), with its environment open."""
    pytest.importorskip("bluesky_queueserver_api")
    from bluesky_queueserver_api.zmq import REManagerAPI

    manager = require_executable("start-re-manager")
    catalog = tmp_path_factory.mktemp("queue-catalog")
    control, info = f"tcp://127.0.0.1:{free_port()}", f"tcp://127.0.0.1:{free_port()}"
    command = [
        manager,
        "--startup-dir", str(PLANS),
        "--existing-plans-devices", str(PLANS / "existing_plans_and_devices.yaml"),
        "--update-existing-plans-devices", "NEVER",  # the shipped file is the reference
        "--user-group-permissions", str(PLANS / "user_group_permissions.yaml"),
        "--redis-addr", f"127.0.0.1:{redis_port}",
        "--redis-name-prefix", f"sloxide_test_{redis_port}",
        "--zmq-control-addr", control,
        "--zmq-info-addr", info,
    ]  # fmt: skip
    env = {"SLOXIDE_CATALOG": str(catalog), "SLOXIDE_DEVICES": "sim-lab"}
    with running(command, env=env, cwd=str(catalog)) as process:
        api = REManagerAPI(zmq_control_addr=control, zmq_info_addr=info, timeout_recv=10)

        def ready() -> bool:
            try:
                return api.status()["manager_state"] == "idle"
            except Exception:
                return False

        try:
            wait_for(ready, 60, "the RE Manager", process)
            api.environment_open()
            api.wait_for_idle(timeout=120)
            require(api.status()["worker_environment_exists"], "the worker environment opened")
            yield api, catalog
            api.environment_close()
            api.wait_for_idle(timeout=60)
        finally:
            api.close()


def test_the_permissions_allow_exactly_the_sloxide_and_standard_plans(queue):
    api, _ = queue
    assert set(api.plans_allowed()["plans_allowed"]) == SLOXIDE_PLANS | STANDARD_PLANS


def test_a_plan_outside_the_permissions_is_refused(queue):
    from bluesky_queueserver_api import BPlan

    api, _ = queue
    # `rd` exists in the profile (users compose plans with it) but is not allowed.
    existing = yaml.safe_load((PLANS / "existing_plans_and_devices.yaml").read_text())
    assert "rd" in existing["existing_plans"]
    with pytest.raises(api.RequestFailedError, match="not in the list of allowed plans"):
        api.item_add(BPlan("rd", "cryostat"))
    assert api.status()["items_in_queue"] == 0


def test_a_field_loop_and_an_xld_pair_run_through_the_queue(queue):
    from bluesky_queueserver_api import BPlan

    from sloxide.catalog import open_catalog
    from sloxide.io import read_run

    api, catalog_dir = queue
    api.item_add(BPlan("field_loop", "hallbar", "cryostat", temperature=10.0, field_max=2.0,
                       step=0.1, sample="C10/L6"))  # fmt: skip
    api.item_add(BPlan("xld_scan", "beamline", edge="Ni L2", regions=[866.0, 0.5, 876.0]))
    api.queue_start()
    api.wait_for_idle(timeout=180)
    items = api.history_get()["items"][-2:]
    assert [i["name"] for i in items] == ["field_loop", "xld_scan"]
    assert [i["result"]["exit_status"] for i in items] == ["completed", "completed"]
    loop_uids, pair_uids = (i["result"]["run_uids"] for i in items)
    assert len(loop_uids) == 1 and len(pair_uids) == 2

    catalog = open_catalog(catalog_dir)  # written by the manager's worker process
    loop = read_run(loop_uids[0], catalog=catalog)
    assert loop.sizes["time"] == len(loop_fields(2.0, 0.1))
    assert loop.attrs["exit_status"] == "success"
    assert loop.attrs["sloxide"]["sample"]["name"] == "C10/L6"
    assert loop["hallbar_R_xy"].attrs["units"] == "ohm"
    pair = [read_run(uid, catalog=catalog) for uid in pair_uids]
    assert [p.attrs["sloxide"]["xas"]["incidence_angle_deg"] for p in pair] == [90.0, 30.0]
    assert len({p.attrs["sloxide"]["xas"]["group_uid"] for p in pair}) == 1
    assert all(p.sizes["time"] == 21 and p["beamline_tey"].attrs["units"] == "pA" for p in pair)
