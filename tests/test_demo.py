"""The main job end to end: the quick campaign into a fresh catalog, read back and reduced."""

from __future__ import annotations

import pytest

from sloxide.cli import main


@pytest.mark.slow
def test_quick_demo_reproduces_the_paper(tmp_path, capsys):
    data, out = tmp_path / "catalog", tmp_path / "report"
    code = main(["demo", "--quick", "--data", str(data), "--out", str(out)])
    printed = capsys.readouterr().out
    assert "C10/L6 Δρ_AHE (2 K)" in printed
    assert code == 0, printed  # every reproduced value within its tolerance
    assert (out / "report.md").exists()
    assert len(list(out.glob("*.png"))) >= 5
    assert (data / "catalog.db").exists() or any(data.iterdir())


def test_bad_arguments_exit_with_a_one_line_error(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["demo", "--seed", "many"])
    assert exit_info.value.code != 0
    assert "invalid int value" in capsys.readouterr().err


def _stored_rt(catalog, samples, seed=7):
    """R(T) of each sample on the sim lab, reduced into the catalog and gathered."""
    from bluesky import RunEngine

    from sloxide.batch import reduce_catalog
    from sloxide.catalog import subscribe
    from sloxide.demo import gather
    from sloxide.devices.sim import SimWorld, sim_lab
    from sloxide.plans import rt_sweep

    RE = RunEngine({})
    subscribe(RE, catalog)
    world = SimWorld(sample=samples[0], seed=seed)
    lab = sim_lab(world)
    uids = []
    for sample in samples:
        world.set_sample(sample)
        uids += RE(rt_sweep(lab["hallbar"], lab["cryostat"], stop=250.0, step=50.0, sample=sample))
    summary = reduce_catalog(catalog)
    assert summary.failed == 0
    return gather(catalog, uids)


def test_the_parallel_model_row_is_derived_from_the_stored_results(tmp_path, monkeypatch):
    # PHYSICS.md §6: the CaRuO3 and LaNiO3 layer resistivities come from the C10/L2 and
    # C2/L6 runs (2-uc layers insulating), and C10/L6 from the two in parallel.
    from dataclasses import replace

    from sloxide.catalog import open_catalog
    from sloxide.demo import parallel_model
    from sloxide.model.samples import SAMPLES

    catalog = open_catalog(tmp_path / "catalog", create=True)
    samples = ("C10/L6", "C10/L2", "C2/L6")
    layers = parallel_model(catalog, _stored_rt(catalog, samples))
    # ρ_xx noise is 1e-5 relative: the paper's three digits are recovered.
    assert layers["CRO layer"] == pytest.approx(1.72, abs=0.005)
    assert layers["LNO layer"] == pytest.approx(0.30, abs=0.002)
    assert layers["C10/L6"] == pytest.approx(0.62, abs=0.002)
    # The row follows the model: a 20 % more resistive C10/L2 makes the CaRuO3 layer 20 %
    # more resistive and C10/L6's parallel estimate rises, with C2/L6's layer unchanged.
    # The new runs share the catalog with the old: the table reads only its own.
    monkeypatch.setitem(SAMPLES, "C10/L2", replace(SAMPLES["C10/L2"], rho300_mohm_cm=1.2 * 2.06))
    moved = parallel_model(catalog, _stored_rt(catalog, samples, seed=8))
    assert moved["CRO layer"] == pytest.approx(1.2 * layers["CRO layer"], rel=1e-3)
    assert moved["LNO layer"] == pytest.approx(layers["LNO layer"], rel=1e-3)
    assert moved["C10/L6"] > layers["C10/L6"] + 0.02


def test_the_table_reads_the_stored_results_of_its_own_campaign_only(tmp_path):
    # Two campaigns in one catalog, with different noise: what gather() returns for
    # each is what the accessor gives on that campaign's raw runs, read back.
    import numpy as np

    from sloxide.batch import reduce_catalog
    from sloxide.catalog import open_catalog
    from sloxide.demo import gather, run_campaign
    from sloxide.io import read_run

    catalog = open_catalog(tmp_path / "catalog", create=True)
    c = {}
    for seed in (1, 2):
        campaign = run_campaign(catalog, quick=True, seed=seed, progress=False,
                                samples=["LNO", "CRO"])  # fmt: skip
        assert reduce_catalog(catalog).failed == 0
        uids = [u for uids in campaign.uids.values() for u in uids]
        stored = gather(catalog, uids)["amr_harmonics"]
        c[seed] = stored.c.sel(sample="LNO", plane="(001)", temperature=5.0)
        (uid,) = campaign.uids["LNO"]
        direct = read_run(uid, catalog=catalog).sloxide.amr_harmonics()
        np.testing.assert_allclose(c[seed].values, direct.c.values, rtol=0, atol=0)
        assert stored.c.attrs["units"] == direct.c.attrs["units"] == "percent"
    assert not np.allclose(c[1].values, c[2].values, rtol=0, atol=0)  # other noise
