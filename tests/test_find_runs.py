"""find_runs, ``sloxide ls`` and read_runs without ``along``, on a real catalog.

One embedded catalog per module holds ~80 runs: synthetic ones written as
event-model documents through the catalog's TiledWriter (start times spread
over 40 days, contexts as the plans write them, a failed and an unfinished
run), real plan runs for the stacks, and stored results for two runs. Every
search is checked against a brute-force scan of the same catalog, once on the
embedded catalog, once through ``sloxide serve`` in a subprocess (as
tests/test_server.py starts it), so the server-side queries are checked over
HTTP too, and once on a Tiled catalog on PostgreSQL (the synthetic runs only),
whose queries tiled writes differently (JSONB containment and comparison).
"""

from __future__ import annotations

import datetime
import json
import os
import secrets
import subprocess
import sys
import time

import pytest
from services import SloxideServe

pytest.importorskip("tiled")
httpx = pytest.importorskip("httpx")

from event_model import compose_run  # noqa: E402

from sloxide.catalog import QueryError, find_runs, open_catalog, subscribe  # noqa: E402
from sloxide.io import StackError, read_runs  # noqa: E402

KEY = secrets.token_hex(32)
SAMPLES = ("C10/L6", "C2/L6", "C10/L2")
LOOP_TEMPERATURES = (2.0, 5.0, 10.0, 20.0, 50.0, 100.0)
DAY = 86400.0
#: The synthetic runs start at midnight (local) 40 days ago, one every 13 hours.
BASE = datetime.datetime.combine(
    datetime.date.today() - datetime.timedelta(days=40), datetime.time()
).timestamp()


def _context(i: int) -> dict:
    sample = {"name": SAMPLES[i % 3]}
    kind = i % 5
    if kind == 0:
        return {
            "measurement": "field_loop",
            "sample": sample,
            "setpoints": {
                "temperature_K": LOOP_TEMPERATURES[(i // 5) % 6],
                "field_max_T": 9.0,
                "field_step_T": 0.02,
            },
        }
    if kind == 1:
        return {
            "measurement": "rt",
            "sample": sample,
            "setpoints": {"field_T": 9.0 if i % 2 else 0.0, "start_K": 300.0, "stop_K": 2.0},
        }
    if kind == 2:
        return {
            "measurement": "amr",
            "sample": sample,
            "setpoints": {"temperature_K": 10.0 + (i % 4) * 0.01, "field_T": 9.0 - i % 2 * 0.5},
            "rotation": {"plane": "(001)" if i % 2 else "(010)", "angle_name": "theta"},
        }
    if kind == 3:
        angle = 90.0 if (i // 5) % 2 else 30.0
        return {
            "measurement": "xas",
            "sample": sample,
            "xas": {
                "edge": "Ni L2" if i % 4 == 3 else "O K",
                "incidence_angle_deg": angle,
                "channel": "I_ab" if angle == 90 else "I_c",
                "group_uid": f"group-{i // 2}",
            },
            "setpoints": {"incidence_angle_deg": angle},
        }
    return {
        "measurement": "fc_magnetization",
        "sample": sample,
        "setpoints": {"field_T": 0.1, "start_K": 150.0, "stop_K": 2.0},
    }


def _write_synthetic(catalog, n: int = 60) -> None:
    """``n`` runs as documents through TiledWriter: start and stop, one event stream."""
    from bluesky_tiled_plugins import TiledWriter

    writer = TiledWriter(catalog)
    for i in range(n):
        when = BASE + i * 13 * 3600.0
        bundle = compose_run(
            metadata={"sloxide": _context(i), "plan_name": "synthetic", "scan_id": i},
            time=when,
        )
        writer("start", bundle.start_doc)
        if i == n - 1:
            continue  # unfinished: no stop document
        status = "fail" if i == 7 else "success"
        writer("stop", bundle.compose_stop(exit_status=status, time=when + 60.0))


@pytest.fixture(scope="module")
def catalog_dir(tmp_path_factory):
    directory = tmp_path_factory.mktemp("find")
    open_catalog(directory, create=True)
    return directory


@pytest.fixture(scope="module")
def server(catalog_dir, tmp_path_factory):
    """``sloxide serve`` over the module's catalog, started early: it takes seconds."""
    server = SloxideServe(catalog_dir, tmp_path_factory.mktemp("serve-logs"), key=KEY)
    yield server
    server.stop()


@pytest.fixture(scope="module")
def written(catalog_dir, server):
    """Every run of the module, and the uids the tests need by name."""
    import bluesky.plans as bp
    import xarray as xr
    from bluesky import RunEngine

    from sloxide.devices.sim import SimWorld, sim_lab
    from sloxide.plans import field_loop, xld_scan
    from sloxide.results import store_result

    catalog = open_catalog(catalog_dir)
    _write_synthetic(catalog)
    RE = RunEngine({})
    subscribe(RE, catalog)
    world = SimWorld(sample="C10/L6", mode="instant", seed=1)
    lab = sim_lab(world)
    series = [
        RE(field_loop(lab["hallbar"], lab["cryostat"], temperature=t, field_max=0.5, step=0.25,
                      sample="C10/L6"))[0]
        for t in (20.0, 2.0, 10.0)
    ]  # fmt: skip
    world.set_sample("C2/L2")
    pair = list(RE(xld_scan(lab["beamline"], regions=(864.0, 0.5, 876.0), sample="C2/L2")))
    world.set_sample("C2/L6")
    other = RE(field_loop(lab["hallbar"], lab["cryostat"], temperature=5.0, field_max=0.5,
                          step=0.25, sample="C2/L6"))[0]  # fmt: skip
    again = RE(field_loop(lab["hallbar"], lab["cryostat"], temperature=20.0, field_max=0.5,
                          step=0.25, sample="C2/L6"))[0]  # fmt: skip
    count = RE(bp.count([lab["hallbar"]], num=2))[0]  # a run without sloxide context
    result = xr.Dataset({"Tc": ((), 75.6, {"units": "K"})})
    store_result(catalog, result, method="curie_temperature", raw_uids=[series[0]])
    store_result(catalog, result, method="xld", raw_uids=pair)
    return {
        "catalog": catalog,
        "series": series,
        "pair": pair,
        "other": other,
        "again": again,
        "count": count,
        "reduced": {series[0], *pair},
    }


def _served(server):
    server.wait()
    return open_catalog(f"{server.url}?api_key={KEY}")


@pytest.fixture(scope="module")
def postgres_catalog(postgres, tmp_path_factory):
    """A Tiled catalog on PostgreSQL, as a facility's server has (STACK.md), with the
    synthetic runs, a run without context and a stored result, served in-process."""
    pytest.importorskip("asyncpg")
    uri = postgres.createdb("find_runs")
    from tiled.catalog import from_uri
    from tiled.client import Context, from_context
    from tiled.server.app import build_app

    storage = tmp_path_factory.mktemp("postgres-storage")
    adapter = from_uri(
        uri.replace("postgresql://", "postgresql+asyncpg://"),
        writable_storage=[str(storage / "data"), f"sqlite:///{storage}/tables.sqlite"],
        readable_storage=[str(storage / "data")],
        init_if_not_exists=True,
    )
    client = from_context(Context.from_app(build_app(adapter)))
    _write_synthetic(client)
    _write_without_context(client)
    import xarray as xr

    from sloxide.results import store_result

    first = next(iter(client))
    store_result(client, xr.Dataset({"Tc": ((), 1.0, {"units": "K"})}), method="m",
                 raw_uids=[first])  # fmt: skip
    return client


def _write_without_context(catalog):
    from bluesky_tiled_plugins import TiledWriter

    writer = TiledWriter(catalog)
    bundle = compose_run(metadata={"plan_name": "count"}, time=BASE - DAY)
    writer("start", bundle.start_doc)
    writer("stop", bundle.compose_stop(exit_status="success", time=BASE - DAY + 1))


@pytest.fixture(scope="module", params=["embedded", "served", "postgresql"])
def catalog(request, written, server):
    if request.param == "embedded":
        return written["catalog"]
    if request.param == "postgresql":
        return request.getfixturevalue("postgres_catalog")
    return _served(server)


# --------------------------------------------------------------------------- brute force


def _scan(catalog):
    """(uid, start document) of every run, by listing everything and reading each one."""
    runs = []
    for uid, node in catalog.items():
        start = node.metadata.get("start")
        if start is not None:
            runs.append((uid, dict(start)))
    return runs


def _get(start, path):
    node = start.get("sloxide") or {}
    for part in path.split("."):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


def _within(value, low, high):
    return isinstance(value, int | float) and low <= value <= high


def _day(days_ago: float) -> float:
    return datetime.datetime.combine(
        datetime.date.today() - datetime.timedelta(days=days_ago), datetime.time()
    ).timestamp()


# (find_runs keywords, the same condition written out by hand on the start document)
CASES = {
    "sample": ({"sample": "C10/L6"}, lambda s: _get(s, "sample.name") == "C10/L6"),
    "samples": (
        {"sample": ["C2/L6", "C10/L2"]},
        lambda s: _get(s, "sample.name") in ("C2/L6", "C10/L2"),
    ),
    "measurement": (
        {"measurement": "field_loop"},
        lambda s: _get(s, "measurement") == "field_loop",
    ),
    "sample and measurement": (
        {"sample": "C2/L6", "measurement": "rt"},
        lambda s: _get(s, "sample.name") == "C2/L6" and _get(s, "measurement") == "rt",
    ),
    "temperature range": (
        {"temperature": (2, 20)},
        lambda s: _within(_get(s, "setpoints.temperature_K"), 2, 20),
    ),
    "temperature range with units": (
        {"temperature": ("2 K", "20 K")},
        lambda s: _within(_get(s, "setpoints.temperature_K"), 2, 20),
    ),
    "temperature in degC": (
        {"temperature": (None, "-253.15 degC")},  # 20 K
        lambda s: _within(_get(s, "setpoints.temperature_K"), -1e9, 20 + 1e-6),
    ),
    "temperature value within 0.05 K": (
        {"temperature": 10.02},
        lambda s: _within(_get(s, "setpoints.temperature_K"), 9.97, 10.07),
    ),
    "field in T": (
        {"field": "9 T"},
        lambda s: _within(_get(s, "setpoints.field_T"), 8.999, 9.001),
    ),
    "field in kOe": (
        {"field": "90 kOe", "measurement": "rt"},
        lambda s: (
            _within(_get(s, "setpoints.field_T"), 8.999, 9.001) and _get(s, "measurement") == "rt"
        ),
    ),
    "field below 1 T": (
        {"field": (None, "1 T")},
        lambda s: _within(_get(s, "setpoints.field_T"), -1e9, 1.0),
    ),
    "field loop step": (
        {"field_max": 9, "field_step": "20 mT"},
        lambda s: (
            _within(_get(s, "setpoints.field_max_T"), 8.999, 9.001)
            and _within(_get(s, "setpoints.field_step_T"), 0.019, 0.021)
        ),
    ),
    "suffixed setpoint": (
        {"start_K": 300},
        lambda s: _within(_get(s, "setpoints.start_K"), 299.25, 300.75),
    ),
    "edge and angle": (
        {"edge": "Ni L2", "incidence_angle": 30},
        lambda s: (
            _get(s, "xas.edge") == "Ni L2"
            and _within(_get(s, "setpoints.incidence_angle_deg"), 29.95, 30.05)
        ),
    ),
    "plane": ({"plane": "(001)"}, lambda s: _get(s, "rotation.plane") == "(001)"),
    "since": ({"since": "25d"}, lambda s: s["time"] >= time.time() - 25 * DAY),
    "since and until dates": (
        {
            "since": (datetime.date.today() - datetime.timedelta(days=30)).isoformat(),
            "until": (datetime.date.today() - datetime.timedelta(days=20)).isoformat(),
        },
        lambda s: _day(30) <= s["time"] < _day(20),
    ),
    "until a datetime": (
        {"until": datetime.datetime.fromtimestamp(BASE + 5 * DAY + 1)},
        lambda s: s["time"] < BASE + 5 * DAY + 1,
    ),
    "everything": ({}, lambda s: True),
}


@pytest.mark.parametrize("case", list(CASES))
def test_find_runs_is_a_brute_force_scan(catalog, case):
    keywords, matches = CASES[case]
    expected = sorted(((s["time"], uid) for uid, s in _scan(catalog) if matches(s)))
    runs = find_runs(catalog, **keywords)
    found = [(run.metadata["start"]["time"], uid) for uid, run in runs.items()]
    assert found == expected  # same runs, oldest first
    assert len(runs) == len(expected)
    if case not in ("since", "everything"):
        assert 0 < len(expected) < len(_scan(catalog))  # the case selects something


def test_find_runs_never_returns_the_results_container(catalog):
    from sloxide.results import RESULTS_CONTAINER

    assert RESULTS_CONTAINER in catalog  # results are stored beside the runs
    uids = list(find_runs(catalog))
    assert RESULTS_CONTAINER not in uids
    without_context = [uid for uid, start in _scan(catalog) if "sloxide" not in start]
    assert without_context and set(without_context) <= set(uids)  # runs too
    assert len(uids) == len(catalog) - 1


def test_a_near_setpoint_is_not_the_same_setpoint(catalog):
    at_10 = {u for u, s in _scan(catalog) if _get(s, "setpoints.temperature_K") == 10.0}
    assert at_10 and at_10 <= set(find_runs(catalog, temperature="10 K"))
    assert not at_10 & set(find_runs(catalog, temperature=10.1))  # 2 band widths away


@pytest.mark.parametrize(
    "keywords, message",
    [
        ({"temprature": 2}, "no search key 'temprature'"),
        ({"field": "9 K"}, "field"),
        ({"temperature": (20, 2)}, "empty"),
        ({"temperature": (2, 5, 10)}, "range is a"),
        ({"temperature": [2, 20]}, "tuple"),
        ({"temperature": (None, None)}, "no bound"),
        ({"since": "last tuesday"}, "not a time"),
        ({"since": "2026-11-26", "until": "2026-11-25"}, "not before"),
        ({"sample": 3}, "sample is text"),
        ({"edge": 2}, "edge is text"),
    ],
)
def test_bad_searches_are_one_line_errors_before_any_request(keywords, message):
    with pytest.raises(QueryError, match=message) as info:
        find_runs(object(), **keywords)  # no catalog needed to refuse
    assert "\n" not in str(info.value)


# --------------------------------------------------------------------------- sloxide ls


def _ls(*args, env=None):
    return subprocess.run(
        [sys.executable, "-m", "sloxide.cli", "ls", *args],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )


def test_ls_prints_one_line_per_run_oldest_first(written, catalog_dir):
    catalog = written["catalog"]
    done = _ls("--catalog", str(catalog_dir), "--sample", "C10/L6", "--measurement", "field_loop")
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    lines = done.stdout.splitlines()
    runs = find_runs(catalog, sample="C10/L6", measurement="field_loop")
    assert [line.split()[0] for line in lines] == [uid[:8] for uid in runs]
    by_uid = dict(zip(list(runs), lines, strict=True))
    first = by_uid[written["series"][0]]  # the 20 K loop, reduced
    assert "C10/L6" in first and "field_loop" in first and "temperature=20 K" in first
    assert first.split()[-2:] == ["success", "reduced"]
    assert by_uid[written["series"][1]].split()[-2:] == ["success", "-"]
    start = datetime.datetime.fromtimestamp(
        catalog[written["series"][0]].metadata["start"]["time"]
    )
    assert start.strftime("%Y-%m-%d %H:%M:%S") in first


def test_ls_json_through_the_server(written, server):
    _served(server)
    env = {k: v for k, v in os.environ.items() if not k.startswith("TILED_")}
    env["TILED_API_KEY"] = KEY
    done = _ls("--catalog", server.url, "--json", "--query", "temperature=2 K..20 K", env=env)
    assert done.returncode == 0, done.stderr
    rows = [json.loads(line) for line in done.stdout.splitlines()]
    expected = find_runs(written["catalog"], temperature=(2, 20))
    assert [row["uid"] for row in rows] == list(expected)
    assert [row["time"] for row in rows] == sorted(row["time"] for row in rows)
    reduced = {row["uid"] for row in rows if row["reduced"]}
    assert reduced == written["reduced"] & set(expected)
    row = next(r for r in rows if r["uid"] == written["series"][0])
    assert row["setpoints"]["temperature_K"] == 20.0 and row["exit_status"] == "success"
    assert datetime.datetime.fromisoformat(row["start"]).timestamp() == pytest.approx(
        row["time"], abs=1
    )


def test_ls_shows_failed_and_unfinished_runs(written, catalog_dir):
    done = _ls("--catalog", str(catalog_dir), "--query", "plan_name=synthetic", "--json")
    assert done.returncode == 0, done.stderr
    statuses = [json.loads(line)["exit_status"] for line in done.stdout.splitlines()]
    assert len(statuses) == 60
    assert statuses.count("fail") == 1 and statuses[-1] is None


def test_ls_refuses_a_folder_without_a_catalog_and_creates_nothing(tmp_path):
    missing = tmp_path / "typo"
    done = _ls("--catalog", str(missing))
    assert done.returncode == 2
    assert done.stderr.startswith("sloxide: error: ") and done.stderr.count("\n") == 1
    assert "holds no sloxide catalog" in done.stderr
    assert not missing.exists()
    from sloxide.cli import main

    empty = tmp_path / "empty"
    empty.mkdir()
    assert main(["ls", "--catalog", str(empty)]) == 2
    assert list(empty.iterdir()) == []


@pytest.mark.parametrize(
    "args, message",
    [
        (["--since", "yesterday-ish"], "not a time"),
        (["--query", "temprature=2"], "temprature"),
        (["--query", "field=2 K"], "field"),
        (["--sample", "C10/L6", "--query", "sample=C2/L6"], "both given"),
    ],
)
def test_ls_checks_its_arguments_before_opening_a_catalog(tmp_path, capsys, args, message):
    from sloxide.cli import main

    missing = tmp_path / "never-opened"
    assert main(["ls", "--catalog", str(missing), *args]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1
    assert "holds no sloxide catalog" not in err  # refused before opening


# --------------------------------------------------------------------------- read_runs


def test_an_xld_pair_stacks_on_incidence_angle_without_along(written):
    catalog = written["catalog"]
    group = catalog[written["pair"][0]].metadata["start"]["sloxide"]["xas"]["group_uid"]
    runs = find_runs(catalog, group_uid=group)
    assert list(runs) == written["pair"]
    pair = read_runs(runs)
    assert pair.attrs["along"] == "sloxide.xas.incidence_angle_deg"
    assert dict(pair.sizes) == {"incidence_angle": 2, "energy": 25}
    assert pair.incidence_angle.values.tolist() == [90.0, 30.0]
    assert pair.incidence_angle.attrs["units"] == "deg"
    explicit = read_runs(written["pair"], catalog=catalog, along="xas.incidence_angle_deg")
    assert pair.identical(explicit)
    assert set(pair.sloxide.xld().data_vars) >= {"xld", "iso"}


def test_a_temperature_series_stacks_along_temperature_without_along(written):
    catalog = written["catalog"]
    runs = find_runs(catalog, sample="C10/L6", measurement="field_loop", field_max="0.5 T")
    assert list(runs) == written["series"]
    loops = read_runs(runs)
    assert loops.attrs["along"] == "sloxide.setpoints.temperature_K"
    assert loops.temperature.values.tolist() == [20.0, 2.0, 10.0]  # the order given
    assert loops.temperature.attrs["units"] == "K"
    assert loops.uid.values.tolist() == written["series"]
    explicit = read_runs(written["series"], catalog=catalog, along="setpoints.temperature_K")
    assert loops.identical(explicit)


def test_runs_that_differ_in_more_than_one_key_name_them(written):
    catalog = written["catalog"]
    mixed = [written["series"][0], written["other"]]  # 20 K on C10/L6, 5 K on C2/L6
    with pytest.raises(StackError) as info:
        read_runs(mixed, catalog=catalog)
    message = str(info.value)
    assert "\n" not in message
    assert "sloxide.sample.name" in message and "sloxide.setpoints.temperature_K" in message
    assert "along=" in message
    stacked = read_runs(mixed, catalog=catalog, along="setpoints.temperature_K")
    assert stacked.temperature.values.tolist() == [20.0, 5.0]  # along= still decides


def test_runs_that_differ_in_nothing_say_so(written):
    catalog = written["catalog"]
    same = [written["series"][0], written["again"]]  # 20 K both, but different samples
    with pytest.raises(StackError, match="sloxide.sample"):
        read_runs(same, catalog=catalog)
    twice = [written["series"][0], written["series"][0]]
    with pytest.raises(StackError, match="nothing to stack"):
        read_runs(twice, catalog=catalog)


# --------------------------------------------------------------------------- sloxide reduce


def test_reduce_queries_find_the_runs_find_runs_finds(written):
    from sloxide.batch import find_jobs, parse_query

    catalog = written["catalog"]
    query = parse_query(["sample=C10/L6", "temperature=2 K..20 K", "field_max=0.5 T"])
    assert query == {"sample": "C10/L6", "temperature": ("2 K", "20 K"), "field_max": "0.5 T"}
    jobs, incomplete = find_jobs(catalog, query)
    runs = find_runs(catalog, sample="C10/L6", temperature=(2, 20), field_max=0.5)
    assert list(runs) == written["series"] and incomplete == 0
    singles = [job.uids[0] for job in jobs if job.kind == "run"]
    assert singles == sorted(written["series"], key=lambda u: catalog[u].metadata["start"]["time"])
    (series,) = [job for job in jobs if job.kind == "series"]  # the AHE scaling of the three
    assert set(series.uids) == set(written["series"])
    # A dotted start-document key is still matched exactly, beside the search keys.
    exact = parse_query(["sloxide.sample.name=C2/L6", "measurement=field_loop", "field_max=..1"])
    jobs, _ = find_jobs(catalog, exact)
    assert {job.uids[0] for job in jobs if job.kind == "run"} == {
        written["other"],
        written["again"],
    }
