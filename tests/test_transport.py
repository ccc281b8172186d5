"""Tests of sloxide.analysis.resistivity, the carriers of sloxide.analysis.hall and sloxide.analysis.multilayer.

PHYSICS.md section 8, checks 1 (thickness), 2 (parallel resistor), 3 (R → ρ)
and 15 (carriers). All inputs here are exact (no noise); the tolerances are
the ones PHYSICS.md states, or float round-off where the arithmetic is exact.
"""

from __future__ import annotations

import math

import dask
import numpy as np
import pytest
import xarray as xr

import sloxide  # noqa: F401  (registers the .sloxide accessor)
from sloxide.analysis.hall import carrier_density, sheet_carrier_density
from sloxide.analysis.multilayer import (
    CRO_C_AXIS,
    LNO_C_AXIS,
    parallel_resistivity,
    superlattice_thickness,
)
from sloxide.analysis.resistivity import resistivity
from sloxide.errors import MissingVariableError, SloxideError, UnitsError
from sloxide.units import Quantity, is_quantified, parse_units

# The C10/L6 Hall bar (PHYSICS.md section 0): w = 200 µm, L = 1200 µm, t = 61.54 nm.
WIDTH_UM, LENGTH_UM, THICKNESS_NM = 200.0, 1200.0, 61.54
R_XX_OHM = 584.99  # gives ρ_xx = 0.600 mΩ·cm (check 3)
R_XY_OHM = 4.875e-3  # gives ρ_xy = 0.0300 µΩ·cm (check 3)
E_CHARGE = 1.602176634e-19  # C, exact


def _raise_if_computed(dsk, keys, **kwargs):
    raise RuntimeError("a dask graph was computed, but the operation should stay lazy")


def _in(da: xr.DataArray, units: str) -> np.ndarray:
    """Values of an output variable in ``units``, whatever its unit state."""
    if is_quantified(da):
        return np.asarray(da.data.to(units).magnitude)
    return np.asarray(Quantity(da.values, parse_units(da.attrs["units"])).to(units).magnitude)


def _resistances(units_xx: str = "ohm", units_xy: str = "ohm", scale_xx=1.0, scale_xy=1.0):
    R_xx = xr.DataArray(R_XX_OHM * scale_xx, attrs={"units": units_xx})
    R_xy = xr.DataArray(R_XY_OHM * scale_xy, attrs={"units": units_xy})
    return R_xx, R_xy


# =========================================================================== check 3: R -> rho


def _assert_check3(out: xr.Dataset) -> None:
    # ρ_xx = R·w·t/L = 584.99 Ω · 200 µm · 61.54 nm / 1200 µm = 0.59999 mΩ·cm
    assert _in(out["rho_xx"], "mohm*cm") == pytest.approx(0.600, rel=1e-3)
    # ρ_xy = R_xy·t = 4.875 mΩ · 61.54 nm = 3.000e-8 Ω·cm
    assert _in(out["rho_xy"], "uohm*cm") == pytest.approx(0.0300, rel=1e-3)
    # The stated arithmetic is exact to round-off, so hold the code to it too.
    assert _in(out["rho_xx"], "ohm*m") == pytest.approx(
        R_XX_OHM * WIDTH_UM * 1e-6 * THICKNESS_NM * 1e-9 / (LENGTH_UM * 1e-6), rel=1e-12
    )
    assert _in(out["rho_xy"], "ohm*m") == pytest.approx(R_XY_OHM * THICKNESS_NM * 1e-9, rel=1e-12)


def test_check3_bare_numbers_are_um_and_nm():
    out = resistivity(*_resistances(), width=WIDTH_UM, length=LENGTH_UM, thickness=THICKNESS_NM)
    _assert_check3(out)
    assert parse_units(out["rho_xx"].attrs["units"]) == parse_units("mOhm cm")
    assert parse_units(out["rho_xy"].attrs["units"]) == parse_units("µΩ·cm")
    assert out["rho_xx"].attrs["long_name"]
    assert out["rho_xy"].attrs["long_name"]


@pytest.mark.parametrize(
    ("width", "length", "thickness"),
    [
        (Quantity(0.2, "mm"), Quantity(1.2, "mm"), Quantity(615.4, "angstrom")),
        (Quantity(2e-4, "m"), Quantity(0.12, "cm"), Quantity(0.06154, "um")),
        ("0.2 mm", "1.2 mm", "615.4 angstrom"),
    ],
)
def test_check3_geometry_as_quantities_in_other_units(width, length, thickness):
    _assert_check3(resistivity(*_resistances(), width=width, length=length, thickness=thickness))


def test_check3_resistances_in_other_units():
    # R_xx in kΩ and R_xy in mΩ: the same physical resistances.
    R_xx, R_xy = _resistances("kohm", "mohm", 1e-3, 1e3)
    _assert_check3(
        resistivity(R_xx, R_xy, width=WIDTH_UM, length=LENGTH_UM, thickness=THICKNESS_NM)
    )


def test_check3_pint_in_gives_pint_out():
    R_xx, R_xy = (r.pint.quantify() for r in _resistances())
    out = resistivity(R_xx, R_xy, width=WIDTH_UM, length=LENGTH_UM, thickness=THICKNESS_NM)
    assert is_quantified(out["rho_xx"]) and is_quantified(out["rho_xy"])
    _assert_check3(out)


def test_check3_through_the_accessor_from_run_context():
    R_xx, R_xy = _resistances()
    ds = xr.Dataset(
        {"R_xx": R_xx, "R_xy": R_xy},
        attrs={
            "sloxide": {
                "hall_bar": {"width_um": WIDTH_UM, "length_um": LENGTH_UM, "current_uA": 100},
                "sample": {"name": "C10/L6", "thickness_nm": THICKNESS_NM},
            }
        },
    )
    out = ds.sloxide.resistivity()
    _assert_check3(out)
    # The accessor is thin: it returns what the function returns.
    expected = resistivity(R_xx, R_xy, width=WIDTH_UM, length=LENGTH_UM, thickness=THICKNESS_NM)
    xr.testing.assert_identical(out, expected)


def test_accessor_finds_resistances_by_quantity_attr():
    R_xx, R_xy = _resistances()
    ds = xr.Dataset(
        {
            "hallbar_R_xx": R_xx.assign_attrs(quantity="R_xx"),
            "hallbar_R_xy": R_xy.assign_attrs(quantity="R_xy"),
        },
        attrs={
            "sloxide": {
                "hall_bar": {"width_um": WIDTH_UM, "length_um": LENGTH_UM},
                "sample": {"thickness_nm": THICKNESS_NM},
            }
        },
    )
    _assert_check3(ds.sloxide.resistivity())


def test_accessor_arguments_override_context():
    R_xx, _ = _resistances()
    ds = xr.Dataset(
        {"R_xx": R_xx},
        attrs={
            "sloxide": {
                "hall_bar": {"width_um": 1.0, "length_um": 1.0},
                "sample": {"thickness_nm": 1.0},
            }
        },
    )
    out = ds.sloxide.resistivity(width=Quantity(0.2, "mm"), length=LENGTH_UM, thickness="61.54 nm")
    assert "rho_xy" not in out
    assert _in(out["rho_xx"], "mohm*cm") == pytest.approx(0.600, rel=1e-3)


def test_dataarray_accessor_converts_R_xy():
    R_xy = xr.DataArray(R_XY_OHM, name="R_xy", attrs={"units": "ohm"})
    out = R_xy.sloxide.resistivity(width=WIDTH_UM, length=LENGTH_UM, thickness=THICKNESS_NM)
    assert _in(out["rho_xy"], "uohm*cm") == pytest.approx(0.0300, rel=1e-3)


def test_thickness_dataarray_over_sample_broadcasts():
    # One R(T) per sample, each with its own thickness (PHYSICS.md §0 table).
    thickness = xr.DataArray(
        [61.54, 46.18, 30.74],
        dims="sample",
        coords={"sample": ["C10/L6", "C10/L2", "C2/L6"]},
        attrs={"units": "nm"},
    )
    temperature = np.array([2.0, 100.0, 300.0])
    R = xr.DataArray(
        np.array([[300.0, 450.0, 584.99], [900.0, 1200.0, 2000.0], [400.0, 500.0, 600.0]]),
        dims=("sample", "temperature"),
        coords={"sample": thickness.sample, "temperature": temperature},
        attrs={"units": "ohm"},
    )
    out = resistivity(R, width=WIDTH_UM, length=LENGTH_UM, thickness=thickness)
    assert out["rho_xx"].dims == ("sample", "temperature")
    for sample in thickness.sample.values:
        per_sample = resistivity(
            R.sel(sample=sample),
            width=WIDTH_UM,
            length=LENGTH_UM,
            thickness=float(thickness.sel(sample=sample)),
        )
        np.testing.assert_allclose(
            out["rho_xx"].sel(sample=sample).values, per_sample["rho_xx"].values, rtol=1e-14
        )
    assert float(out["rho_xx"].sel(sample="C10/L6", temperature=300.0)) == pytest.approx(
        0.600, rel=1e-3
    )


def test_thickness_variable_in_the_dataset_is_used_by_the_accessor():
    thickness = xr.DataArray([61.54, 30.77], dims="sample", attrs={"units": "nm"})
    R = xr.DataArray([584.99, 584.99], dims="sample", attrs={"units": "ohm"})
    ds = xr.Dataset(
        {"R_xx": R, "thickness": thickness},
        attrs={"sloxide": {"hall_bar": {"width_um": WIDTH_UM, "length_um": LENGTH_UM}}},
    )
    rho = _in(ds.sloxide.resistivity()["rho_xx"], "mohm*cm")
    # Half the thickness, half the resistivity.
    np.testing.assert_allclose(rho, [0.59999, 0.299995], rtol=1e-4)
    assert rho[1] / rho[0] == pytest.approx(0.5, rel=1e-14)


def test_resistivity_stays_lazy_on_dask():
    R = xr.DataArray(np.linspace(500.0, 600.0, 12), dims="temperature", attrs={"units": "ohm"})
    lazy = R.chunk({"temperature": 4})
    with dask.config.set(scheduler=_raise_if_computed):
        out = resistivity(lazy, width=WIDTH_UM, length=LENGTH_UM, thickness=THICKNESS_NM)
        assert out["rho_xx"].chunks is not None
    eager = resistivity(R, width=WIDTH_UM, length=LENGTH_UM, thickness=THICKNESS_NM)
    np.testing.assert_allclose(out["rho_xx"].values, eager["rho_xx"].values, rtol=1e-15)


@pytest.mark.parametrize(
    ("missing_section", "missing_key", "argument"),
    [
        ("hall_bar", "width_um", "width"),
        ("hall_bar", "length_um", "length"),
        ("sample", "thickness_nm", "thickness"),
    ],
)
def test_missing_geometry_names_how_to_provide_it(missing_section, missing_key, argument):
    context = {
        "hall_bar": {"width_um": WIDTH_UM, "length_um": LENGTH_UM},
        "sample": {"thickness_nm": THICKNESS_NM},
    }
    del context[missing_section][missing_key]
    R_xx, _ = _resistances()
    ds = xr.Dataset({"R_xx": R_xx}, attrs={"sloxide": context})
    with pytest.raises(MissingVariableError) as info:
        ds.sloxide.resistivity()
    message = str(info.value)
    assert f"{argument}=" in message  # the explicit argument
    assert missing_key in message  # the context key the plans write
    assert "R_xx" in message  # what the Dataset does have
    assert isinstance(info.value, SloxideError)


def test_missing_resistances_raise_missing_variable_error():
    ds = xr.Dataset({"temperature": ("time", [1.0, 2.0], {"units": "K"})})
    with pytest.raises(MissingVariableError, match="R_xx"):
        ds.sloxide.resistivity(width=WIDTH_UM, length=LENGTH_UM, thickness=THICKNESS_NM)
    with pytest.raises(SloxideError, match="neither"):
        resistivity(width=WIDTH_UM, length=LENGTH_UM, thickness=THICKNESS_NM)


@pytest.mark.parametrize(
    "geometry",
    [
        {"width": 0.0},
        {"length": -1200.0},
        {"thickness": Quantity(-61.54, "nm")},
        {"thickness": xr.DataArray([61.54, 0.0], dims="sample", attrs={"units": "nm"})},
    ],
)
def test_non_positive_geometry_raises(geometry):
    kwargs = {"width": WIDTH_UM, "length": LENGTH_UM, "thickness": THICKNESS_NM, **geometry}
    (name,) = geometry
    with pytest.raises(SloxideError, match=name):
        resistivity(_resistances()[0], **kwargs)


def test_resistance_units_errors_name_every_argument():
    with pytest.raises(UnitsError) as info:
        resistivity(
            xr.DataArray(1.0),  # no units
            xr.DataArray(1.0, attrs={"units": "K"}),  # wrong units
            width="3 s",
            length=LENGTH_UM,
            thickness=THICKNESS_NM,
        )
    message = str(info.value)
    for name in ("R_xx", "R_xy", "width"):
        assert name in message


# =========================================================================== check 15: carriers


def test_check15_positive_hall_coefficient_is_holes():
    out = carrier_density(xr.DataArray(2e-10, attrs={"units": "m^3/C"}))
    n = _in(out["carrier_density"], "cm^-3")
    # n = 1/(e·R_H) = 1/(1.602e-19 C · 2e-10 m³/C) = 3.12e28 m⁻³ = 3.12e22 cm⁻³
    assert n == pytest.approx(3.12e22, rel=5e-3)
    assert n == pytest.approx(1e-6 / (E_CHARGE * 2e-10), rel=1e-12)
    assert out["carrier_type"].item() == "holes"


def test_check15_negative_hall_coefficient_is_electrons():
    out = carrier_density(xr.DataArray(-2e-10, attrs={"units": "m^3/C"}))
    assert _in(out["carrier_density"], "cm^-3") == pytest.approx(3.12e22, rel=5e-3)
    assert out["carrier_type"].item() == "electrons"


@pytest.mark.parametrize("quantify", [False, True])
def test_check15_hall_coefficient_in_resistivity_per_tesla(quantify):
    # 2e-10 m³/C = 0.02 µΩ·cm/T (PHYSICS.md §1 item 10: µΩ·cm/T × 1e-8 = m³/C)
    r_h = xr.DataArray([0.02, -0.02], dims="sample", attrs={"units": "uohm*cm/T"})
    r_h = r_h.pint.quantify() if quantify else r_h
    out = carrier_density(r_h)
    reference = carrier_density(
        xr.DataArray([2e-10, -2e-10], dims="sample", attrs={"units": "m^3/C"})
    )
    np.testing.assert_allclose(
        _in(out["carrier_density"], "cm^-3"),
        _in(reference["carrier_density"], "cm^-3"),
        rtol=1e-12,
    )
    assert list(out["carrier_type"].values) == ["holes", "electrons"]
    assert is_quantified(out["carrier_density"]) == quantify


def test_outputs_do_not_inherit_input_metadata():
    # read_run tags every variable with `quantity` (and instruments add `description`).
    # Results must not carry the input's tags: a carrier density tagged quantity="R0"
    # would be found by the accessor's quantity lookup as the Hall slope.
    r0 = xr.DataArray(
        0.02, attrs={"units": "uohm*cm/T", "quantity": "R0", "description": "ordinary Hall slope"}
    )
    out = carrier_density(r0)
    assert out["carrier_density"].attrs.get("quantity") in (None, "carrier_density")
    assert out["carrier_density"].attrs.get("description") != r0.attrs["description"]
    R = xr.DataArray(
        R_XX_OHM, attrs={"units": "ohm", "quantity": "R_xx", "description": "4-wire V_xx/I"}
    )
    rho = resistivity(R, width=WIDTH_UM, length=LENGTH_UM, thickness=THICKNESS_NM)["rho_xx"]
    assert rho.attrs["quantity"] == "rho_xx"
    assert rho.attrs.get("description") != R.attrs["description"]


def test_zero_or_nan_hall_coefficient_is_undetermined():
    out = carrier_density(xr.DataArray([0.0, np.nan], dims="x", attrs={"units": "m^3/C"}))
    assert list(out["carrier_type"].values) == ["undetermined", "undetermined"]


def test_carrier_density_wrong_units_raise():
    with pytest.raises(UnitsError, match="hall_coefficient"):
        carrier_density(xr.DataArray(2e-10, attrs={"units": "ohm"}))


def test_sheet_carrier_density_and_volume_density_agree():
    # A film of thickness t with R_H = 2e-10 m³/C has sheet slope R_s = R_H/t (Ω/T).
    t_m = THICKNESS_NM * 1e-9
    slope = xr.DataArray([2e-10 / t_m, -2e-10 / t_m], dims="x", attrs={"units": "ohm/T"})
    out = sheet_carrier_density(slope)
    n2d = _in(out["sheet_carrier_density"], "cm^-2")
    np.testing.assert_allclose(n2d, 1e-4 / (E_CHARGE * np.abs(slope.values)), rtol=1e-12)
    # n = n_2D / t recovers the volume density (PHYSICS.md §1 item 10).
    n_volume = n2d / (THICKNESS_NM * 1e-7)
    np.testing.assert_allclose(n_volume, 1e-6 / (E_CHARGE * 2e-10), rtol=1e-12)
    assert list(out["carrier_type"].values) == ["holes", "electrons"]


def test_sheet_slope_in_milliohm_per_kilooersted():
    # Magnetometer/transport software writes slopes per oersted. With µ0H[Oe]·1e-4 T
    # (PHYSICS.md §0), 1 mΩ/kOe = 1e-3 Ω / 0.1 T = 1e-2 Ω/T.
    out = sheet_carrier_density(xr.DataArray(1.0, attrs={"units": "mohm/kOe"}))
    assert _in(out["sheet_carrier_density"], "cm^-2") == pytest.approx(
        1e-4 / (E_CHARGE * 1e-2), rel=1e-12
    )


# =========================================================================== check 1: thickness


def test_check1_thickness_c10_l6_and_c2_l2():
    t = superlattice_thickness(10, 6)
    assert t.to("nm").magnitude == pytest.approx(61.54, abs=0.01)
    assert superlattice_thickness(2, 2).to("nm").magnitude == pytest.approx(15.38, abs=0.01)


@pytest.mark.parametrize(
    ("n", "m", "nm"),
    [(2, 2, 15.38), (10, 2, 46.18), (10, 4, 53.86), (10, 6, 61.54), (10, 8, 69.22), (2, 6, 30.74)],
)
def test_check1_table_of_physics_section0(n, m, nm):
    t = superlattice_thickness(n, m)
    assert t.to("nm").magnitude == pytest.approx(nm, abs=0.01)
    # t_SL = 10·(n·3.85 + m·3.84) Å exactly
    assert t.to("angstrom").magnitude == pytest.approx(10 * (n * 3.85 + m * 3.84), rel=1e-12)


def test_thickness_is_vectorized_and_takes_repetitions_and_spacings():
    n = np.array([2, 10, 10, 10, 10, 2])
    m = np.array([2, 2, 4, 6, 8, 6])
    t = superlattice_thickness(n, m).to("nm").magnitude
    np.testing.assert_allclose(t, [15.38, 46.18, 53.86, 61.54, 69.22, 30.74], atol=1e-9)
    assert superlattice_thickness(10, 6, repetitions=5).to("nm").magnitude == pytest.approx(
        30.77, abs=1e-9
    )
    custom = superlattice_thickness(
        1, 1, repetitions=1, c_cro=Quantity(0.4, "nm"), c_lno=Quantity(3.9, "angstrom")
    )
    assert custom.to("nm").magnitude == pytest.approx(0.79, abs=1e-12)
    assert CRO_C_AXIS.to("angstrom").magnitude == pytest.approx(3.85)
    assert LNO_C_AXIS.to("angstrom").magnitude == pytest.approx(3.84)


@pytest.mark.parametrize(("n", "m"), [(-1, 6), (10, "six")])
def test_thickness_rejects_negative_or_non_numeric_counts(n, m):
    with pytest.raises(SloxideError):
        superlattice_thickness(n, m)


# =========================================================================== check 2: parallel


def _c10_l6_layers():
    # per period 10 × 3.85 Å CRO and 6 × 3.84 Å LNO, 10 periods
    return [Quantity(10 * 3.85 * 10, "angstrom"), Quantity(6 * 3.84 * 10, "angstrom")]


def test_check2_parallel_resistivity_c10_l6():
    rho = parallel_resistivity(Quantity([1.72, 0.30], "mohm*cm"), _c10_l6_layers())
    assert rho.to("mohm*cm").magnitude == pytest.approx(0.6205, abs=5e-4)
    # 1/ρ = Σ(t_i/ρ_i)/Σt_i, evaluated independently
    expected = (38.5 + 23.04) / (38.5 / 1.72 + 23.04 / 0.30)
    assert rho.to("mohm*cm").magnitude == pytest.approx(expected, rel=1e-12)


def test_check2_accepts_other_units_and_sequences():
    rho = parallel_resistivity(
        [Quantity(1720.0, "uohm*cm"), Quantity(3e-6, "ohm*m")],
        Quantity([38.5, 23.04], "nm"),
    )
    assert rho.to("mohm*cm").magnitude == pytest.approx(0.6205, abs=5e-4)


def test_insulating_layer_adds_thickness_only():
    conducting = [Quantity(38.5, "nm")]
    with_insulator = parallel_resistivity(
        [Quantity(1.72, "mohm*cm"), Quantity(np.inf, "mohm*cm")],
        [conducting[0], Quantity(7.68, "nm")],
    )
    # ρ = (t_c + t_i)/(t_c/ρ_c) = ρ_c·(t_c + t_i)/t_c
    assert with_insulator.to("mohm*cm").magnitude == pytest.approx(
        1.72 * (38.5 + 7.68) / 38.5, rel=1e-12
    )
    alone = parallel_resistivity([Quantity(1.72, "mohm*cm")], conducting)
    assert alone.to("mohm*cm").magnitude == pytest.approx(1.72, rel=1e-12)


def test_all_insulating_stack_raises():
    with pytest.raises(SloxideError, match="insulating"):
        parallel_resistivity(Quantity([np.inf, np.inf], "mohm*cm"), Quantity([1.0, 2.0], "nm"))


def test_bare_numbers_raise_units_error():
    with pytest.raises(UnitsError, match="resistivities"):
        parallel_resistivity([1.72, 0.30], _c10_l6_layers())
    with pytest.raises(UnitsError, match="thicknesses"):
        parallel_resistivity(Quantity([1.72, 0.30], "mohm*cm"), [38.5, 23.04])


@pytest.mark.parametrize(
    ("rho", "t"),
    [
        (Quantity([1.72, 0.30], "mohm*cm"), Quantity([38.5], "nm")),  # lengths differ
        (Quantity([1.72, 0.30], "mohm*cm"), Quantity([38.5, 0.0], "nm")),
        (Quantity([1.72, -0.30], "mohm*cm"), Quantity([38.5, 23.04], "nm")),
    ],
)
def test_parallel_resistivity_rejects_inconsistent_layers(rho, t):
    with pytest.raises(SloxideError):
        parallel_resistivity(rho, t)


def test_parallel_resistivity_wrong_dimension_raises_units_error():
    # DESIGN.md: wrong units raise a SloxideError naming the variable (not pint's TypeError).
    with pytest.raises(UnitsError, match="resistivities"):
        parallel_resistivity(Quantity([1.72, 0.30], "K"), Quantity([38.5, 23.04], "nm"))


def test_physics_section6_implied_superlattice_resistivities():
    # PHYSICS.md §6: the same layer resistivities imply 2.06 (C10/L2, LNO 2 uc insulating)
    # and 0.400 (C2/L6, CRO 2 uc insulating) mΩ·cm; the first to the stated 3 digits.
    t_cro = lambda n: Quantity(10 * n * 3.85, "angstrom")  # noqa: E731
    t_lno = lambda m: Quantity(10 * m * 3.84, "angstrom")  # noqa: E731
    c10_l2 = parallel_resistivity(
        [Quantity(1.72, "mohm*cm"), Quantity(math.inf, "mohm*cm")], [t_cro(10), t_lno(2)]
    )
    assert c10_l2.to("mohm*cm").magnitude == pytest.approx(2.06, abs=0.005)
    c2_l6 = parallel_resistivity(
        [Quantity(math.inf, "mohm*cm"), Quantity(0.30, "mohm*cm")], [t_cro(2), t_lno(6)]
    )
    assert c2_l6.to("mohm*cm").magnitude == pytest.approx(0.400, abs=0.0005)
