"""The plans/ profile in a real IPython session: it exits, every run is accounted for,
and a person at the prompt gets live feedback (issue 21 item 3, issue 20 item 3).

The sessions are real ``python -m IPython`` subprocesses on an embedded catalog; a hang
is a failure (``subprocess.TimeoutExpired``), not a stuck test run. The catalog is read
back in this process afterwards, as any later user would. The sessions are independent
(a folder and a catalog each), so they run side by side, as many at a time as there are
cores, and each test then checks its own.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from services import ROOT

from sloxide.callbacks import (
    FEEDBACK_ENV,
    NOT_REDUCED_KEY,
    FollowPlanHints,
    LiveReduction,
    feedback_wanted,
    install_feedback,
    interactive_session,
)
from sloxide.errors import SloxideError

pytest.importorskip("IPython")

STARTUP = Path(ROOT) / "plans" / "00-startup.py"
#: The session of the issue, verbatim.
SESSION = (
    f"%run -i {STARTUP}\n"
    "uid, = RE(field_loop(hallbar, cryostat, temperature=10.0, field_max=1.0, step=0.5))"
)
#: Generous for a shared 2-core machine (a session takes 10-30 s); a hang never ends.
SESSION_TIMEOUT_S = 240


def ipython(
    cell: str, catalog: Path, cwd: Path, *, interactive: bool = False, **env: str
) -> subprocess.CompletedProcess:
    """Run ``cell`` in a fresh IPython (``-c``), or type it into ``ipython -i`` (stdin)."""
    environment = {**os.environ, "SLOXIDE_CATALOG": str(catalog), "MPLBACKEND": "Agg", **env}
    for name in ("SLOXIDE_DEVICES", "SLOXIDE_LIVE", "SLOXIDE_LIVE_DRAIN_TIMEOUT"):
        if name not in env:
            environment.pop(name, None)
    if FEEDBACK_ENV not in env:
        environment.pop(FEEDBACK_ENV, None)
    command = [sys.executable, "-m", "IPython", "--quick", "--no-banner", "--colors=nocolor"]
    if interactive:
        command += ["-i", str(STARTUP)]
    else:
        command += ["-c", cell]
    return subprocess.run(
        command,
        input=cell + "\nexit\n" if interactive else None,
        env=environment,
        capture_output=True,
        text=True,
        timeout=SESSION_TIMEOUT_S,
        cwd=cwd,
    )


def tagged(out: subprocess.CompletedProcess, tag: str) -> str:
    """What the session printed after ``tag`` (at a prompt, ``In [2]: TAG ...``)."""
    found = re.findall(rf"(?:^|: ){tag} (.*)$", out.stdout, flags=re.MULTILINE)
    assert found, f"no {tag} line\n{out.stdout[-3000:]}\n{out.stderr[-3000:]}"
    return found[-1]


def runs(catalog):
    return [uid for uid in catalog if "start" in catalog[uid].metadata]


#: A reduction still running at exit (it would take ten minutes): exit must not wait for it.
DRAIN = "\n".join(
    [
        f"%run -i {STARTUP}",
        "import time, sloxide.callbacks as cb",
        "cb.reduce_job = lambda job, ds, reduce=cb.reduce_job: (time.sleep(600), reduce(job, ds))[1]",
        "uid, = RE(field_loop(hallbar, cryostat, temperature=10.0, field_max=1.0, step=0.5,"
        " sample='C10/L6'))",
        "print('RAN', uid, time.monotonic(), flush=True)",
    ]
)
#: ``ipython -i plans/00-startup.py``, typed into: a person at the prompt.
TYPED = "\n".join(
    [
        "import json, matplotlib.pyplot as plt",
        "print('FEEDBACK', type(bec).__name__, type(RE.waiting_hook).__name__)",
        "uid, = RE(field_loop(hallbar, cryostat, temperature=10.0, field_max=1.0, step=0.5,"
        " sample='C10/L6'))",
        "print('FIGURES', json.dumps([plt.figure(n).get_label() for n in plt.get_fignums()]))",
    ]
)
#: Every session of this module: (cell, typed into ``ipython -i``, environment).
SESSIONS: dict[str, tuple[str, bool, dict[str, str]]] = {
    "issue": (SESSION, False, {}),
    "drain": (DRAIN, False, {"SLOXIDE_LIVE_DRAIN_TIMEOUT": "2"}),
    "bad-drain": (f"%run -i {STARTUP}", False, {"SLOXIDE_LIVE_DRAIN_TIMEOUT": "soon"}),
    "typed": (TYPED, True, {}),
    "forced": (
        f"%run -i {STARTUP}\nprint('FEEDBACK', type(bec).__name__, type(RE.waiting_hook).__name__)",
        False,
        {"SLOXIDE_FEEDBACK": "1"},
    ),
}


@pytest.fixture(scope="module")
def sessions(tmp_path_factory) -> dict[str, tuple[subprocess.CompletedProcess, float, Path]]:
    """Every session run once: its output, when it ended (``time.monotonic``), its folder."""
    folders = {name: tmp_path_factory.mktemp(name) for name in SESSIONS}

    def run(name: str) -> tuple[subprocess.CompletedProcess, float, Path]:
        cell, interactive, env = SESSIONS[name]
        folder = folders[name]
        out = ipython(cell, folder / "catalog", folder, interactive=interactive, **env)
        return out, time.monotonic(), folder

    with ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
        return dict(zip(SESSIONS, pool.map(run, SESSIONS), strict=True))


# --------------------------------------------------------------------------- exit


def test_the_session_of_the_issue_exits_and_its_run_is_accounted_for(sessions):
    """Before the fix: "This portal is not running", then a hang (2 runs of 3)."""
    from sloxide.batch import find_jobs
    from sloxide.catalog import open_catalog
    from sloxide.results import read_results

    out, _, folder = sessions["issue"]
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:]
    assert "portal is not running" not in out.stdout + out.stderr
    assert "Transient Scan ID" not in out.stdout  # no live table: nobody is watching

    catalog = open_catalog(folder / "catalog")
    (uid,) = runs(catalog)
    assert catalog[uid].metadata["stop"]["exit_status"] == "success"
    # No sample: no thickness, so no resistivity, so no AHE. The reduction failed, and
    # says so on the run; no results are stored, so `sloxide reduce` still has it to do.
    assert read_results(uid, catalog=catalog) is None
    note = catalog[uid].metadata[NOT_REDUCED_KEY]
    assert note["status"] == "not reduced"
    assert "thickness" in note["reason"]
    jobs, _ = find_jobs(catalog)
    assert [job.uids for job in jobs] == [(uid,)]


def test_a_drain_past_its_deadline_still_exits_and_sloxide_reduce_finishes_it(sessions):
    """A reduction still running at exit: exit waits the drain timeout, not the reduction."""
    from sloxide.catalog import open_catalog
    from sloxide.results import read_results

    out, ended, folder = sessions["drain"]  # the DRAIN cell
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:]
    uid, ran = tagged(out, "RAN").split()
    # Exit took the drain timeout (2 s) plus the interpreter's teardown, not 600 s.
    assert ended - float(ran) < 60
    assert "finishing 1 live reduction(s) before exit" in out.stderr
    assert "not reduced before exit" in out.stderr

    catalog = open_catalog(folder / "catalog")
    assert catalog[uid].metadata["stop"]["exit_status"] == "success"
    assert read_results(uid, catalog=catalog) is None
    note = catalog[uid].metadata[NOT_REDUCED_KEY]
    assert note["status"] == "not reduced"
    assert "session ended before it was reduced (drain timeout 2 s)" in note["reason"]

    reduced = subprocess.run(
        [sys.executable, "-m", "sloxide.cli", "reduce", "--catalog", str(folder / "catalog")]
        + ["--out", str(folder / "summary")],
        capture_output=True,
        text=True,
        timeout=SESSION_TIMEOUT_S,
        cwd=folder,
    )
    assert reduced.returncode == 0, reduced.stdout + reduced.stderr
    stored = read_results(uid, catalog=catalog)
    assert stored is not None and {"ahe", "mr"} <= set(stored.attrs["methods"])
    assert abs(float(stored["coercive_field"].mean())) < 1.0  # a 1 T loop's H_c, in T


def test_a_bad_drain_timeout_is_one_clear_error(sessions):
    out, _, _ = sessions["bad-drain"]
    assert "SLOXIDE_LIVE_DRAIN_TIMEOUT='soon' must be a number of seconds" in (
        out.stdout + out.stderr
    )


# --------------------------------------------------------------------------- feedback


def test_feedback_is_off_outside_an_interactive_session(monkeypatch):
    from bluesky import RunEngine

    monkeypatch.delenv(FEEDBACK_ENV, raising=False)
    assert not interactive_session()  # pytest: no IPython shell
    RE = RunEngine({})
    assert install_feedback(RE) is None
    assert RE.waiting_hook is None
    assert feedback_wanted({FEEDBACK_ENV: "auto"}) is False


@pytest.mark.parametrize(
    ("value", "wanted"),
    [("1", True), ("on", True), ("true", True), ("0", False), ("off", False), ("", False)],
)
def test_the_feedback_override(value, wanted):
    assert feedback_wanted({FEEDBACK_ENV: value}) is wanted


def test_a_bad_feedback_value_says_what_to_write():
    with pytest.raises(SloxideError, match="use 1 .* 0 .* or auto"):
        feedback_wanted({FEEDBACK_ENV: "maybe"})


def test_the_queueserver_worker_is_never_interactive(monkeypatch):
    qs = pytest.importorskip("bluesky_queueserver.manager.profile_tools")
    monkeypatch.setenv(qs._env_re_worker_active, "true")
    assert qs.is_re_worker_active()
    assert not interactive_session()


#: Per plan: (x axis, the other dimension fields, the plotted fields).
TRANSPORT = ["hallbar_R_xx", "hallbar_R_xy"]
EXPECTED = {
    "rt_sweep": ("cryostat_temperature", ["cryostat_field"], TRANSPORT),
    "field_loop": ("cryostat_field", ["cryostat_temperature"], TRANSPORT),
    "fc_magnetization": ("cryostat_temperature", ["cryostat_field"], ["cryostat_moment"]),
    "amr_rotation": ("rotator_angle", ["cryostat_temperature", "cryostat_field"], TRANSPORT),
    "xas_scan": ("beamline_energy", ["beamline_incidence_angle"], ["beamline_tey"]),
    "xld_scan": ("beamline_energy", ["beamline_incidence_angle"], ["beamline_tey"]),
}


@pytest.fixture()
def agg():
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")  # no window, ever
    import matplotlib.pyplot as plt

    plt.close("all")
    yield plt
    plt.close("all")


@pytest.mark.parametrize("plan_name", sorted(EXPECTED))
def test_each_plan_hints_its_axes_and_the_live_plot_follows(plan_name, agg):
    from bluesky import RunEngine
    from bluesky.callbacks.best_effort import BestEffortCallback

    import sloxide.plans as plans
    from sloxide.devices.sim import SimWorld, sim_lab

    lab = sim_lab(SimWorld(sample="C10/L6"))
    hb, cr, ro, bl = lab["hallbar"], lab["cryostat"], lab["rotator"], lab["beamline"]
    plan = {
        "rt_sweep": lambda: plans.rt_sweep(hb, cr, start=300, stop=280, step=10),
        "field_loop": lambda: plans.field_loop(hb, cr, field_max=1.0, step=0.5),
        "fc_magnetization": lambda: plans.fc_magnetization(cr, start=100, stop=90, step=5),
        "amr_rotation": lambda: plans.amr_rotation(hb, cr, ro, step=60),
        "xas_scan": lambda: plans.xas_scan(bl, regions=(868.0, 1.0, 872.0)),
        "xld_scan": lambda: plans.xld_scan(bl, regions=(868.0, 1.0, 872.0)),
    }[plan_name]
    documents: list[tuple[str, dict]] = []
    RE = RunEngine({})
    RE.subscribe(lambda name, doc: documents.append((name, doc)))
    bec = BestEffortCallback()
    RE.subscribe(FollowPlanHints(bec))
    uids = RE(plan())

    x, fixed, ys = EXPECTED[plan_name]
    starts = [doc for name, doc in documents if name == "start"]
    descriptors = [doc for name, doc in documents if name == "descriptor"]
    assert len(starts) == len(uids) == (2 if plan_name == "xld_scan" else 1)
    for start, descriptor in zip(starts, descriptors, strict=True):
        (dimension,) = start["hints"]["dimensions"]
        fields, stream = dimension
        assert stream == "primary" and fields == [x, *fixed]
        assert start["hints"]["fields"] == ys
        assert set(fields) | set(ys) <= set(descriptor["data_keys"])  # real data keys
        assert all(descriptor["data_keys"][y]["dtype"] == "number" for y in ys)
        # The other subscribers see the devices' own hints, untouched.
        assert descriptor["hints"].get("hallbar", {"fields": []}) == {"fields": []}
    # BestEffortCallback drew the hinted fields, and only those, against the x axis.
    labels = [agg.figure(n).get_label() for n in agg.get_fignums()]
    assert labels == [f"{' '.join(sorted(ys))} vs {x}"]
    (figure,) = [agg.figure(n) for n in agg.get_fignums()]
    assert [ax.get_ylabel() for ax in figure.axes] == ys
    assert figure.axes[-1].get_xlabel() == x  # stacked panels share the x axis
    assert all(len(line.get_xdata()) > 1 for ax in figure.axes for line in ax.lines)


def test_a_plan_without_hinted_fields_is_left_to_best_effort(agg):
    """bluesky's own plans keep BestEffortCallback's usual choice (the devices' hints)."""
    from bluesky import RunEngine
    from bluesky.callbacks.best_effort import BestEffortCallback
    from bluesky.plans import scan

    from sloxide.devices.sim import SimWorld, sim_lab

    lab = sim_lab(SimWorld())
    RE = RunEngine({})
    RE.subscribe(FollowPlanHints(BestEffortCallback()))
    RE(scan([lab["cryostat"]], lab["rotator"].angle, 0, 10, 3))
    labels = [agg.figure(n).get_label() for n in agg.get_fignums()]
    assert labels == ["cryostat_field cryostat_temperature vs rotator_angle"]


def test_the_profile_in_an_interactive_session_turns_feedback_on(sessions):
    """``ipython -i plans/00-startup.py``, typed into: detected as a person at the prompt."""
    out, _, _ = sessions["typed"]  # the TYPED cell
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:]
    assert tagged(out, "FEEDBACK") == "BestEffortCallback ProgressBarManager"
    assert json.loads(tagged(out, "FIGURES")) == ["hallbar_R_xx hallbar_R_xy vs cryostat_field"]
    # The live table: the x axis first, the fixed axes, then the hinted fields.
    header = next(line for line in out.stdout.splitlines() if "seq_num" in line)
    assert [cell.strip() for cell in header.strip(" |").split("|")] == [
        "seq_num", "time", "cryostat_field", "cryostat_temperature", "hallbar_R_xx", "hallbar_R_xy",
    ]  # fmt: skip


def test_feedback_forced_on_in_a_script_session(sessions):
    out, _, _ = sessions["forced"]
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:]
    assert tagged(out, "FEEDBACK") == "BestEffortCallback ProgressBarManager"


# --------------------------------------------------------------------------- close()


def test_close_notes_what_it_could_not_finish_and_lets_sloxide_reduce_do_it(
    tiled_catalog, monkeypatch
):
    """In-process: a reduction slower than the timeout, and an XLD run without its partner."""
    import threading

    from bluesky import RunEngine

    import sloxide.callbacks as callbacks
    from sloxide.batch import reduce_catalog
    from sloxide.catalog import subscribe
    from sloxide.devices.sim import SimWorld, sim_lab
    from sloxide.plans import fc_magnetization, xas_scan
    from sloxide.results import read_results

    release = threading.Event()
    reduce_job = callbacks.reduce_job
    monkeypatch.setattr(
        callbacks, "reduce_job", lambda job, ds: release.wait(60) and reduce_job(job, ds)
    )
    RE = RunEngine({})
    subscribe(RE, tiled_catalog)
    live = callbacks.LiveReduction(tiled_catalog, echo=None, figure=False, close_at_exit=False)
    RE.subscribe(live)
    lab = sim_lab(SimWorld(sample="C10/L6"))
    (slow,) = RE(fc_magnetization(lab["cryostat"], start=150, stop=2, step=2, sample="C10/L6"))
    (lone,) = RE(xas_scan(lab["beamline"], regions=(868.0, 1.0, 872.0), group_uid="half-a-pair"))

    started = time.monotonic()
    assert sorted(live.close(timeout=0.5)) == sorted([slow, lone])
    assert time.monotonic() - started < 15  # the timeout, not the reduction
    release.set()
    assert live.close() == []  # once only
    notes = {uid: tiled_catalog[uid].metadata[NOT_REDUCED_KEY] for uid in (slow, lone)}
    assert notes[slow]["reason"] == live.errors[slow]
    assert "session ended before it was reduced (drain timeout 0.5 s)" in live.errors[slow]
    assert "XLD pair" in notes[lone]["reason"]
    assert read_results(slow, catalog=tiled_catalog) is None
    # The reduction that was running when close() returned never writes afterwards.
    time.sleep(1.0)
    assert read_results(slow, catalog=tiled_catalog) is None and slow not in live.results

    # A run that stops after close() is left to `sloxide reduce` too.
    (after,) = RE(fc_magnetization(lab["cryostat"], start=150, stop=2, step=2, sample="C10/L6"))
    monkeypatch.setattr(callbacks, "reduce_job", reduce_job)
    summary = reduce_catalog(tiled_catalog, query={"uid": slow})
    assert (summary.reduced, summary.failed) == (1, 0)
    assert float(read_results(slow, catalog=tiled_catalog, method="curie_temperature").Tc) > 70
    assert after not in live.results and read_results(after, catalog=tiled_catalog) is None


def test_a_bad_drain_timeout_is_refused(tiled_catalog):
    with pytest.raises(SloxideError, match="drain_timeout must be a number of seconds"):
        LiveReduction(tiled_catalog, drain_timeout=-1, close_at_exit=False)
