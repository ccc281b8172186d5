"""Write the simulator's MultiVu files in tests/data/ with MultiPyVu.DataFile.

Run from the repository root (needs the ``qd`` extra)::

    python tests/data/make_multivu_files.py

The simulator is the C10/L6 SimWorld (seed 0, instant mode), so the files carry known
numbers (PHYSICS.md §7): at 2 K H_C = 0.97 T and Δρ_AHE = 0.03 µΩ·cm; FC M(T) at
0.2 T gives the tangent T_c = 75.6 K; ρ_xx(300 K) = 0.60 mΩ·cm.
"""

from __future__ import annotations

from pathlib import Path

import MultiPyVu as mpv
import numpy as np

from sloxide.devices.sim import SimWorld, sim_lab
from sloxide.plans.magnetotransport import loop_fields

HERE = Path(__file__).resolve().parent
OE_PER_T = 1e4


def _file(name: str, title: str, columns: list[str]) -> mpv.DataFile:
    path = HERE / name
    path.unlink(missing_ok=True)
    data = mpv.DataFile()
    data.add_multiple_columns(columns)
    data.create_file_and_write_header(str(path), title)
    return data


def _lab() -> dict:
    return sim_lab(SimWorld(sample="C10/L6", mode="instant", seed=0))


def hall_loops() -> None:
    """Two Hall/MR loops, 0 → +9 → −9 → +9 T in 0.1 T, at 2 K and at 10 K, one file."""
    lab = _lab()
    cryostat, hallbar = lab["cryostat"], lab["hallbar"]
    columns = [
        "Temperature (K)",
        "Magnetic Field (Oe)",
        "Sample Position (deg)",
        "Bridge 1 Resistance (Ohms)",
        "Bridge 1 Excitation (uA)",
        "Bridge 2 Resistance (Ohms)",
        "Bridge 2 Excitation (uA)",
    ]
    data = _file("sim_hall_loops_C10L6.dat", "C10/L6 Hall loops (sloxide simulator)", columns)
    for temperature in (2.0, 10.0):
        cryostat.temperature.set(temperature).wait(5)
        cryostat.field.set(0.0).wait(5)
        for field in loop_fields(9.0, 0.1):
            cryostat.field.set(field).wait(5)
            hallbar.trigger().wait(5)
            data.write_data_using_list(
                [
                    "Temperature (K)", round(cryostat.temperature.position, 4),
                    "Magnetic Field (Oe)", round(cryostat.field.position * OE_PER_T, 2),
                    "Sample Position (deg)", 90.0,
                    "Bridge 1 Resistance (Ohms)", float(hallbar.R_xx.get()),
                    "Bridge 1 Excitation (uA)", 100.0,
                    "Bridge 2 Resistance (Ohms)", float(hallbar.R_xy.get()),
                    "Bridge 2 Excitation (uA)", 100.0,
                ]
            )  # fmt: skip


def resistivity_vs_temperature() -> None:
    """R(T) at zero field, 300 → 2 K in 2 K."""
    lab = _lab()
    cryostat, hallbar = lab["cryostat"], lab["hallbar"]
    columns = ["Temperature (K)", "Magnetic Field (Oe)", "Bridge 1 Resistance (Ohms)",
               "Bridge 2 Resistance (Ohms)"]  # fmt: skip
    data = _file("sim_rt_C10L6.dat", "C10/L6 R(T) (sloxide simulator)", columns)
    for temperature in np.arange(300.0, 1.0, -2.0):
        cryostat.temperature.set(float(temperature)).wait(5)
        hallbar.trigger().wait(5)
        data.write_data_using_list(
            [
                "Temperature (K)", round(cryostat.temperature.position, 4),
                "Magnetic Field (Oe)", round(cryostat.field.position * OE_PER_T, 2),
                "Bridge 1 Resistance (Ohms)", float(hallbar.R_xx.get()),
                "Bridge 2 Resistance (Ohms)", float(hallbar.R_xy.get()),
            ]
        )  # fmt: skip


def field_cooled_moment() -> None:
    """FC M(T) at 2000 Oe (0.2 T), 150 → 2 K in 2 K, film plus substrate, as a VSM writes."""
    lab = _lab()
    cryostat = lab["cryostat"]
    cryostat.temperature.set(150.0).wait(5)
    cryostat.field.set(0.2).wait(5)
    columns = ["Temperature (K)", "Magnetic Field (Oe)", "Moment (emu)", "M. Std. Err. (emu)"]
    data = _file("sim_fc_mt_C10L6.dat", "C10/L6 FC M(T) at 2 kOe (sloxide simulator)", columns)
    for temperature in np.arange(150.0, 1.0, -2.0):
        cryostat.temperature.set(float(temperature)).wait(5)
        cryostat.trigger().wait(5)
        data.write_data_using_list(
            [
                "Temperature (K)", round(cryostat.temperature.position, 4),
                "Magnetic Field (Oe)", round(cryostat.field.position * OE_PER_T, 2),
                "Moment (emu)", float(cryostat.moment.get()),
                "M. Std. Err. (emu)", 1e-9,
            ]
        )  # fmt: skip


if __name__ == "__main__":
    hall_loops()
    resistivity_vs_temperature()
    field_cooled_moment()
