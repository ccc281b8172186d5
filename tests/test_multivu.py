"""MultiVu .dat files: reading, segments, reduction and `sloxide import`.

tests/data/ holds the simulator's files written with MultiPyVu.DataFile (known
numbers: PHYSICS.md §7) and two real MPMS3 files (tests/data/README.md).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from sloxide.io import read_multivu
from sloxide.multivu import MultiVuFormatError, find_segments, import_multivu, split_segments

DATA = Path(__file__).resolve().parent / "data"
GEOMETRY = {"width_um": 200.0, "length_um": 1200.0}
HEADER = "[Header]\nTITLE, t\nBYAPP, PPMS ACT, 1.0\nINFO, film, SAMPLE_MATERIAL\n[Data]\n"


def _write(tmp_path, text, name="f.dat", encoding="utf-8"):
    path = tmp_path / name
    path.write_bytes(text.encode(encoding) if isinstance(text, str) else text)
    return path


# --------------------------------------------------------------------------- reading


def test_header_attrs_units_and_canonical_names():
    ds = read_multivu(DATA / "mpms3_dc_mvsh_5K.dat")
    assert ds.attrs["application"] == "MPMS3 w/ AC"
    assert ds.attrs["file_open_time"] == "2023-03-01T19:47:00"
    assert ds.attrs["sample"]["material"] == "[CoCp2star][ErCOT2]"
    assert ds.attrs["sample"]["mass"] == "10.1"
    assert len(ds.attrs["sha256"]) == 64
    # A DC measurement: "Moment (emu)" is empty, the moment is "DC Moment Free Ctr".
    assert ds["moment"].attrs == {
        "long_name": "DC Moment Free Ctr (emu)",
        "units": "emu",
        "quantity": "moment",
    }
    assert "Moment (emu)" in ds.attrs["empty_columns"]
    assert ds["field"].attrs["units"] == "Oe" and ds["temperature"].attrs["units"] == "K"
    assert ds["time"].attrs["units"] == "s"
    assert "DC_Moment_Fixed_Ctr" in ds  # the rest is kept


@pytest.mark.parametrize(
    ("label", "units"),
    [
        ("Bridge 1 Resistivity (Ohm-cm)", "ohm*cm"),
        ("Resistivity Ch2 (Ohm-m)", "ohm*m"),
        ("Samp HC (µJ/mole-K)", "uJ/(mol*K)"),
        ("Sample Temp (Kelvin)", "K"),
        ("Averaging Time (sec)", "s"),
        ("Pressure (Torr)", "torr"),
        ("Frequency (Hz)", "Hz"),
        ("Gain (%)", "percent"),
    ],
)
def test_units_of_the_options_parse(tmp_path, label, units):
    from sloxide.units import parse_units

    path = _write(tmp_path, HEADER + f"Time Stamp (sec),{label}\n1,2.5\n2,2.6\n")
    ds = read_multivu(path)
    (name,) = ds.data_vars
    assert parse_units(ds[name].attrs["units"]) == parse_units(units)


def test_bridges_map_to_R_and_rho(tmp_path):
    text = HEADER + (
        "Comment,Temperature (K),Field (Oe),Bridge 1 Resistance (Ohms),"
        "Bridge 2 Resistance (Ohms),Bridge 3 Resistivity (Ohm-cm)\n,2,0,1,2,3\n,2,1,1,2,3\n"
    )
    path = _write(tmp_path, text)
    ds = read_multivu(path)
    assert {"R_xx", "R_xy", "Bridge_3_Resistivity"} <= set(ds.data_vars)
    swapped = read_multivu(path, bridges={"R_xx": 3, "R_xy": 1})
    assert swapped["rho_xx"].attrs["quantity"] == "rho_xx"
    assert float(swapped["R_xy"][0]) == 1.0


def test_latin1_dat_upper_case_comments_trailing_commas_and_empty_columns(tmp_path):
    text = HEADER + (
        "Comment,Time Stamp (sec),Temperature (K),Sample Position (deg),Excitation (µA),Empty (V),\n"
        "start of the run,,,,,,\n,1,300,90,100,,\n,2,299,90,100,,\n"
    )
    path = _write(tmp_path, text, "run.DAT", "latin-1")
    ds = read_multivu(path)
    assert ds.attrs["encoding"] == "cp1252"
    assert ds.attrs["comments"] == ["start of the run"]
    assert ds.sizes["time"] == 2
    assert ds["Excitation"].attrs["units"] == "uA"
    assert ds["angle"].attrs["quantity"] == "angle"
    assert ds.attrs["empty_columns"] == ["Empty (V)"]


def test_an_empty_data_section_reads_as_no_rows(tmp_path):
    ds = read_multivu(_write(tmp_path, HEADER))
    assert ds.sizes["time"] == 0
    ds = read_multivu(_write(tmp_path, HEADER + "Temperature (K),Moment (emu)\n"))
    assert ds.sizes["time"] == 0


@pytest.mark.parametrize(
    ("content", "line", "message"),
    [
        ("Temperature,Moment\n1,2\n", 1, "not a MultiVu data file"),
        (b"[Header]\nTITLE, x\n\x00\x01\x02", 3, "binary"),
        ("[Header]\nTITLE, x\nINFO, a, B\n", 3, "no \\[Data\\] section"),
        (HEADER + "Temperature (K),Moment (emu)\n1,2\n3", 8, "truncated"),
        (HEADER + "Temperature (K),Moment (emu)\n1,2\n1,2,3\n", 8, "3 values under 2"),
        ("", None, "empty"),
    ],
)
def test_bad_input_names_file_and_line(tmp_path, content, line, message):
    path = _write(tmp_path, content, "bad.dat")
    with pytest.raises(MultiVuFormatError, match=message) as info:
        read_multivu(path)
    assert "bad.dat" in str(info.value)
    if line is not None:
        assert f"line {line}" in str(info.value)
    assert "\n" not in str(info.value)


# --------------------------------------------------------------------------- segments


def test_several_loops_at_different_temperatures_are_one_segment_each():
    ds = read_multivu(DATA / "sim_hall_loops_C10L6.dat")
    parts = split_segments(ds)
    assert [p.attrs["sloxide"]["measurement"] for p in parts] == ["field_loop", "field_loop"]
    assert [p.attrs["sloxide"]["setpoints"]["temperature_K"] for p in parts] == [2.0, 10.0]
    assert [p.sizes["time"] for p in parts] == [451, 451]


def test_cool_down_then_warm_up_is_two_segments():
    t = np.r_[np.linspace(300, 5, 60), np.linspace(5, 300, 60)]
    import xarray as xr

    ds = xr.Dataset(
        {
            "temperature": ("time", t, {"units": "K"}),
            "field": ("time", np.full(120, 0.3), {"units": "Oe"}),
            "R_xx": ("time", t / 10, {"units": "ohm"}),
        }
    )
    segments = find_segments(ds)
    assert [(s.start, s.stop, s.measurement) for s in segments] == [(0, 60, "rt"), (60, 120, "rt")]


def test_real_files_split_into_their_measurements():
    (loop,) = split_segments(read_multivu(DATA / "mpms3_dc_mvsh_5K.dat"))
    assert loop.attrs["sloxide"]["measurement"] == "mh_loop"
    assert loop.attrs["sloxide"]["setpoints"]["field_max_T"] == pytest.approx(7.0, abs=1e-3)
    (mt,) = split_segments(read_multivu(DATA / "mpms3_dc_fc_200Oe.dat"))
    assert mt.attrs["sloxide"]["measurement"] == "mt"
    assert mt.attrs["sloxide"]["setpoints"]["field_T"] == pytest.approx(0.02, abs=1e-4)


# --------------------------------------------------------------------------- reduction


def _with_context(part, sample="C10/L6"):
    from sloxide.plans.context import sample_context

    part.attrs["sloxide"] = {
        **part.attrs["sloxide"],
        "sample": sample_context(sample),
        "hall_bar": GEOMETRY,
    }
    return part


def test_the_simulator_loops_reduce_to_its_known_numbers():
    loop_2k, _ = split_segments(read_multivu(DATA / "sim_hall_loops_C10L6.dat"))
    ahe = _with_context(loop_2k).sloxide.ahe(step=0.1)
    assert ahe.coercive_field.item() == pytest.approx(0.97, abs=0.02)  # [P]
    assert ahe.delta_rho_ahe.item() == pytest.approx(0.03, rel=0.05)  # [P]
    assert ahe.carrier_type.item() == "holes"


def test_the_simulator_fc_moment_gives_its_curie_temperature():
    (mt,) = split_segments(read_multivu(DATA / "sim_fc_mt_C10L6.dat"))
    assert mt.attrs["sloxide"]["measurement"] == "fc_magnetization"
    assert mt.sloxide.curie_temperature().Tc.item() == pytest.approx(75.6, abs=1.5)


def test_the_simulator_r_of_t_gives_its_resistivity():
    (rt,) = split_segments(read_multivu(DATA / "sim_rt_C10L6.dat"))
    rho = _with_context(rt).sloxide.resistivity()
    assert float(rho.rho_xx[0]) == pytest.approx(0.60, rel=0.01)  # mΩ·cm at 300 K [P]
    assert rho.rho_xx.attrs["units"]


# --------------------------------------------------------------------------- import


def test_import_writes_one_run_per_segment_once(tiled_catalog, tmp_path):
    from sloxide.io import read_run

    copy = tmp_path / "renamed.dat"
    copy.write_bytes((DATA / "sim_hall_loops_C10L6.dat").read_bytes())
    (report,) = import_multivu(
        [DATA / "sim_hall_loops_C10L6.dat"], tiled_catalog, sample="C10/L6", hall_bar=GEOMETRY
    )
    assert len(report.written) == 2
    again = import_multivu([copy], tiled_catalog)  # the same bytes under another name
    assert again[0].written == [] and sorted(again[0].skipped) == sorted(report.written)
    start = tiled_catalog[report.written[0]].metadata["start"]
    context = start["sloxide"]
    assert context["measurement"] == "field_loop"
    assert context["source"]["file"] == "sim_hall_loops_C10L6.dat"
    assert context["source"]["sha256"] == report.sha256
    assert context["sample"]["thickness_nm"] == pytest.approx(61.54)
    assert context["quantities"]["field"] == "field"
    ds = read_run(tiled_catalog[report.written[0]])
    assert ds.attrs["exit_status"] == "success"
    assert ds["field"].attrs == {"units": "Oe", "quantity": "field"}
    ahe = ds.sloxide.ahe(step=0.1)  # zero arguments beyond the grid: all from the run
    assert ahe.coercive_field.item() == pytest.approx(0.97, abs=0.02)


def test_a_bad_file_among_good_ones_writes_nothing(tiled_catalog, tmp_path):
    good = tmp_path / "good.dat"
    good.write_bytes((DATA / "sim_fc_mt_C10L6.dat").read_bytes().replace(b"2 kOe", b"2kOe"))
    bad = _write(tmp_path, b"\x89PNG\r\n\x1a\n\x00\x00", "picture.dat")
    before = len(tiled_catalog)
    with pytest.raises(MultiVuFormatError, match="picture.dat"):
        import_multivu([good, bad], tiled_catalog)
    assert len(tiled_catalog) == before


def test_sloxide_import_command(tmp_path, capsys):
    from sloxide.cli import main

    catalog = tmp_path / "catalog"
    path = DATA / "sim_rt_C10L6.dat"
    assert main(["import", str(path), "--catalog", str(catalog), "--sample", "C10/L6"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 1 and out[0].endswith("sim_rt_C10L6.dat")
    assert main(["import", str(path), "--catalog", str(catalog), "-q"]) == 0
    assert capsys.readouterr().out == ""
    assert main(["import", str(tmp_path / "nope.dat"), "--catalog", str(catalog)]) == 2
    assert "is not a file" in capsys.readouterr().err
    with pytest.raises(SystemExit) as info:  # argparse: checked before any work
        main(["import", str(path), "--hall-bar", "wide"])
    assert info.value.code == 2
    assert "WIDTHxLENGTH" in capsys.readouterr().err


def test_imported_magnetometry_is_reduced_like_acquired_runs(tmp_path):
    # An imported M(H) loop and M(T) go through the same reduction table as acquired runs:
    # the real MPMS3 loop reduces to its hysteresis; the real M(T), stepped unevenly in T,
    # is refused with the reason in the summary, never reduced to a wrong T_c.
    from sloxide.batch import reduce_catalog
    from sloxide.catalog import open_catalog
    from sloxide.io import read_results

    catalog = open_catalog(tmp_path / "catalog", create=True)
    reports = import_multivu(
        [DATA / "mpms3_dc_mvsh_5K.dat", DATA / "mpms3_dc_fc_200Oe.dat"], catalog
    )
    summary = reduce_catalog(catalog)
    loop_uid = reports[0].written[0]
    stored = read_results(loop_uid, catalog=catalog, method="hysteresis")
    assert stored is not None
    direct = read_multivu(DATA / "mpms3_dc_mvsh_5K.dat")
    expected = split_segments(direct)[0].sloxide.hysteresis()
    assert float(stored.coercive_field) == pytest.approx(float(expected.coercive_field))
    assert stored.coercive_field.attrs["units"] == "T"
    failed = [row for row in summary.rows if row["status"].startswith("failed")]
    assert summary.reduced == 1 and len(failed) == 1
    assert "not uniform" in failed[0]["status"]
