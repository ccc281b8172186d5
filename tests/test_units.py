"""Tests of sloxide.units: parsing what instruments write, exact CGS factors, declare_units.

PHYSICS.md section 0: the field is µ0H in T and Oe converts as H[Oe]·1e-4 T
exactly; the magnetic CGS factors are the exact conventional ones
(1 emu = 1e-3 A·m², µ0 = 4π·1e-7 T·m/A).
"""

from __future__ import annotations

import math

import dask
import numpy as np
import pint
import pytest
import xarray as xr

import sloxide  # noqa: F401  (registers the accessor and the registry)
from sloxide.errors import SloxideError, UnitsError
from sloxide.units import (
    Quantity,
    check_units,
    conversion_factors,
    convert,
    declare_units,
    is_quantified,
    parse_units,
    scalar_magnitude,
    to_magnitude,
    units_of,
    ureg,
)

MU0 = 4 * math.pi * 1e-7  # T·m/A, the conventional (pre-2019) exact value


def _raise_if_computed(dsk, keys, **kwargs):
    raise RuntimeError("a dask graph was computed, but the operation should stay lazy")


# --------------------------------------------------------------------------- parse_units

MICRO_SIGN = "\u00b5"  # µ, what most keyboards and instrument software write
GREEK_MU = "\u03bc"  # μ, what unicode normalization produces
MIDDLE_DOT = "\u00b7"


@pytest.mark.parametrize(
    ("text", "reference"),
    [
        ("Oe", "oersted"),
        ("kOe", "kilooersted"),
        ("G", "gauss"),
        ("emu", "erg / gauss"),
        ("emu/cm^3", "erg / gauss / centimeter ** 3"),
        ("ohm*cm", "ohm * centimeter"),
        (f"{MICRO_SIGN}\u03a9{MIDDLE_DOT}cm", "microohm * centimeter"),
        (f"{GREEK_MU}\u03a9{MIDDLE_DOT}cm", "microohm * centimeter"),
        (f"m\u03a9{MIDDLE_DOT}cm", "milliohm * centimeter"),
        ("mOhm cm", "milliohm * centimeter"),
        ("deg", "degree"),
        ("eV", "electron_volt"),
        ("cm\u207b\u00b3", "centimeter ** -3"),
        ("m\u00b2", "meter ** 2"),
    ],
)
def test_parse_units_reads_instrument_spellings(text, reference):
    unit = parse_units(text)
    expected = ureg.Unit(reference)
    assert isinstance(unit, pint.Unit)
    assert unit.dimensionality == expected.dimensionality
    # Same unit, not only the same dimension: 1 of one is exactly 1 of the other.
    assert Quantity(1.0, unit).to(expected).magnitude == pytest.approx(1.0, rel=1e-12)


def test_micro_sign_and_greek_mu_parse_to_the_same_unit():
    assert parse_units(f"{MICRO_SIGN}\u03a9{MIDDLE_DOT}cm") == parse_units(
        f"{GREEK_MU}\u03a9{MIDDLE_DOT}cm"
    )


@pytest.mark.parametrize(
    ("src", "dst", "scale"),
    [
        (f"{MICRO_SIGN}\u03a9{MIDDLE_DOT}cm", "ohm*m", 1e-8),
        ("mOhm cm", "uohm*cm", 1e3),
        ("cm\u207b\u00b3", "m^-3", 1e6),
        ("deg", "rad", math.pi / 180),
        ("eV", "J", 1.602176634e-19),  # exact since the 2019 SI
    ],
)
def test_parsed_units_convert_with_their_si_factors(src, dst, scale):
    factor, offset = conversion_factors(src, dst)
    assert factor == pytest.approx(scale, rel=1e-12)
    assert offset == 0.0


@pytest.mark.parametrize("text", ["ohm*", "1/", "m^", "(cm"])
def test_malformed_unit_string_raises_units_error(text):
    # A truncated units attr (e.g. from a fixed-width file header) is bad input like
    # any other: the docstring promises a UnitsError, not a parser-internal exception.
    with pytest.raises(UnitsError):
        parse_units(text)


def test_G_is_gauss_not_a_prefix():
    # "G" alone must be the field unit gauss (1e-4 T), not giga-anything or gram.
    assert conversion_factors("G", "T") == (1e-4, 0.0)


def test_parse_units_accepts_a_pint_unit():
    assert parse_units(ureg.Unit("tesla")) == ureg.Unit("T")


@pytest.mark.parametrize("text", ["furlongz", "kelvinz/s", "arb"])
def test_unknown_unit_raises_units_error(text):
    with pytest.raises(UnitsError, match="not a unit") as info:
        parse_units(text)
    assert repr(text) in str(info.value)
    # A SloxideError is a ValueError so `except ValueError` keeps working in pipelines.
    assert isinstance(info.value, SloxideError)
    assert isinstance(info.value, ValueError)


# --------------------------------------------------------------------------- conversions


def test_oersted_to_tesla_is_exactly_1e_minus_4():
    # Exact, not pint's Gaussian context (which carries the measured µ0, off by ~7e-11).
    assert conversion_factors("Oe", "T") == (1e-4, 0.0)


@pytest.mark.parametrize(
    ("src", "dst", "scale"),
    [
        ("kOe", "T", 0.1),
        ("G", "T", 1e-4),
        ("kOe", "mT", 100.0),
        ("T", "Oe", 1e4),
        ("emu", "A*m^2", 1e-3),
        ("emu", "J/T", 1e-3),
        ("A*m^2", "emu", 1e3),
        ("A/m", "T", MU0),
        ("kA/m", "mT", MU0 * 1e3 * 1e3),
        ("T", "A/m", 1 / MU0),
    ],
)
def test_magnetic_cgs_factors(src, dst, scale):
    factor, offset = conversion_factors(src, dst)
    assert factor == pytest.approx(scale, rel=1e-14)
    assert offset == 0.0


@pytest.mark.parametrize(
    ("src", "dst", "scale"),
    [
        # compound units as instruments write them: slopes per field, mass/volume moments
        ("ohm/Oe", "ohm/T", 1e4),
        ("uohm*cm/kOe", "uohm*cm/T", 10.0),
        ("Oe/min", "T/s", 1e-4 / 60),
        ("emu/g", "A*m^2/kg", 1.0),  # 1e-3 A·m² per 1e-3 kg
        ("emu/cm^3", "A/m", 1e3),  # magnetization M
        ("Oe", "A/m", 1e3 / (4 * math.pi)),  # field strength H
    ],
)
def test_compound_magnetic_units_convert(src, dst, scale):
    factor, offset = conversion_factors(src, dst)
    assert factor == pytest.approx(scale, rel=1e-12)
    assert offset == 0.0


def test_field_strength_in_A_per_m_becomes_mu0_H():
    h = np.array([-1e6, 0.0, 2.5e5])  # A/m
    np.testing.assert_allclose(convert(h, "A/m", "T"), MU0 * h, rtol=1e-15, atol=0)


def test_celsius_to_kelvin_has_an_offset():
    scale, offset = conversion_factors("degC", "K")
    assert scale == pytest.approx(1.0, rel=1e-15)
    assert offset == pytest.approx(273.15, rel=1e-15)
    np.testing.assert_allclose(
        convert(np.array([-273.15, 0.0, 25.0]), "degC", "K"), [0.0, 273.15, 298.15], atol=1e-12
    )


def test_incompatible_units_raise_dimensionality_error():
    with pytest.raises(pint.errors.DimensionalityError):
        conversion_factors("K", "T")


def test_convert_applies_factors_to_arrays():
    np.testing.assert_array_equal(convert(np.array([5000.0, -5000.0]), "Oe", "T"), [0.5, -0.5])


# --------------------------------------------------------------------------- unit state helpers


def test_units_of_and_is_quantified_read_both_unit_states():
    attrs = xr.DataArray([1.0, 2.0], dims="x", attrs={"units": "Oe"})
    quantified = attrs.pint.quantify()
    bare = xr.DataArray([1.0, 2.0], dims="x")
    assert (is_quantified(attrs), is_quantified(quantified), is_quantified(bare)) == (
        False,
        True,
        False,
    )
    assert units_of(attrs) == "Oe"
    assert parse_units(units_of(quantified)) == ureg.Unit("oersted")
    assert units_of(bare) is None


# --------------------------------------------------------------------------- check_units


def test_check_units_passes_compatible_units_including_cgs_field():
    field = xr.DataArray([1.0], attrs={"units": "Oe"})
    rho = xr.DataArray([1.0], attrs={"units": "mohm*cm"})
    check_units({"field": (field, "T"), "rho_xx": (rho, "uohm*cm"), "skipped": (None, "K")})


def test_check_units_lists_every_offender_in_one_error():
    field = xr.DataArray([1.0], attrs={"units": "K"})
    rho = xr.DataArray([1.0])
    garbled = xr.DataArray([1.0], attrs={"units": "furlongz"})
    fine = xr.DataArray([1.0], attrs={"units": "ohm"})
    with pytest.raises(UnitsError) as info:
        check_units(
            {
                "field": (field, "T"),
                "rho_xy": (rho, "uohm*cm"),
                "moment": (garbled, "any"),
                "R_xx": (fine, "ohm"),
            }
        )
    err = info.value
    assert len(err.problems) == 3
    message = str(err)
    for name in ("field", "rho_xy", "moment"):
        assert name in message
    assert "R_xx" not in message
    # Each problem says how to fix it.
    assert "attrs['units']" in message


def test_check_units_any_requires_some_units():
    check_units({"moment": (xr.DataArray([1.0], attrs={"units": "emu"}), "any")})
    with pytest.raises(UnitsError, match="moment: has no units"):
        check_units({"moment": (xr.DataArray([1.0]), "any")})


# --------------------------------------------------------------------------- to_magnitude


def test_to_magnitude_converts_attrs_data_and_keeps_other_attrs():
    t = xr.DataArray([0.0, 25.0], dims="x", attrs={"units": "degC", "long_name": "T"})
    out = to_magnitude(t, "K")
    np.testing.assert_allclose(out.values, [273.15, 298.15], atol=1e-12)
    assert out.attrs == {"long_name": "T", "units": "K"}
    assert not is_quantified(out)


def test_to_magnitude_any_keeps_the_data_units():
    m = xr.DataArray([1.0, 2.0], dims="x", attrs={"units": "emu"})
    out = to_magnitude(m, "any")
    np.testing.assert_array_equal(out.values, m.values)
    assert out.attrs["units"] == "emu"


@pytest.mark.parametrize(
    ("attrs", "match"),
    [({}, "has no units"), ({"units": "K"}, "not compatible")],
)
def test_to_magnitude_rejects_missing_or_wrong_units(attrs, match):
    with pytest.raises(UnitsError, match=match):
        to_magnitude(xr.DataArray([1.0], dims="x", name="field", attrs=attrs), "T")


def test_to_magnitude_on_pint_backed_dask_stays_lazy():
    values = np.linspace(-9e4, 9e4, 12)  # Oe
    lazy = (
        xr.DataArray(values, dims="time", attrs={"units": "Oe"}).chunk({"time": 4}).pint.quantify()
    )
    assert is_quantified(lazy)
    with dask.config.set(scheduler=_raise_if_computed):
        out = to_magnitude(lazy, "T")
        assert out.chunks is not None
        assert isinstance(out.data, dask.array.Array)
        assert out.attrs["units"] == "T"
        assert not is_quantified(out)
    np.testing.assert_allclose(out.values, values * 1e-4, rtol=1e-15)


# --------------------------------------------------------------------------- scalar_magnitude


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (0.5, 0.5),  # a bare number is already in the declared units
        ("200 Oe", 0.02),
        (Quantity(20, "mT"), 0.02),
        (Quantity(2, "kOe"), 0.2),
        ("0.2 kOe", 0.02),
    ],
)
def test_scalar_magnitude_converts_to_the_declared_units(value, expected):
    assert scalar_magnitude(value, "T", "step") == pytest.approx(expected, rel=1e-14)


def test_scalar_magnitude_offset_units():
    assert scalar_magnitude(Quantity(25.0, "degC"), "K", "t") == pytest.approx(298.15, rel=1e-14)


@pytest.mark.parametrize("value", [True, "3 K", "banana", [1.0], Quantity(1.0, "s")])
def test_scalar_magnitude_rejects_bad_scalars(value):
    with pytest.raises(UnitsError, match="step"):
        scalar_magnitude(value, "T", "step")


# --------------------------------------------------------------------------- declare_units


@declare_units(field="T", step="T", window="K")
def _toy(field, step=0.01, window=(1.0, 2.0)):
    """Record what the body receives, and return it as a Dataset with units attrs."""
    _toy.seen = {"field": field, "step": step, "window": window}
    return xr.Dataset(
        {
            "twice": (2 * field).assign_attrs(units="T", long_name="2·µ0H"),
            "step": ((), step, {"units": "T"}),
        }
    )


def test_declare_units_converts_attrs_data_and_returns_attrs():
    field = xr.DataArray([1000.0, -2000.0], dims="x", attrs={"units": "Oe"})
    out = _toy(field)
    seen = _toy.seen["field"]
    assert not is_quantified(seen)
    assert seen.attrs["units"] == "T"
    np.testing.assert_allclose(seen.values, [0.1, -0.2], rtol=1e-15)
    # attrs in, attrs out
    assert not is_quantified(out["twice"])
    assert out["twice"].attrs["units"] == "T"
    np.testing.assert_allclose(out["twice"].values, [0.2, -0.4], rtol=1e-15)


def test_declare_units_pint_in_gives_pint_out():
    field = xr.DataArray([1000.0, -2000.0], dims="x", attrs={"units": "Oe"}).pint.quantify()
    out = _toy(field)
    # The body works on plain numbers ...
    assert not is_quantified(_toy.seen["field"])
    # ... and the caller gets pint back.
    assert is_quantified(out["twice"])
    assert is_quantified(out["step"])
    np.testing.assert_allclose(out["twice"].data.to("T").magnitude, [0.2, -0.4], rtol=1e-15)


@pytest.mark.parametrize(
    "step", ["200 Oe", Quantity(200, "Oe"), Quantity(20, "mT"), "0.02 T", 0.02]
)
def test_declare_units_converts_scalar_quantities_and_strings(step):
    _toy(xr.DataArray([1.0], dims="x", attrs={"units": "T"}), step=step)
    assert _toy.seen["step"] == pytest.approx(0.02, rel=1e-14)
    assert isinstance(_toy.seen["step"], float)


def test_declare_units_converts_tuples_element_by_element():
    _toy(xr.DataArray([1.0], dims="x", attrs={"units": "T"}), window=("2 K", Quantity(20, "K")))
    assert _toy.seen["window"] == pytest.approx((2.0, 20.0), rel=1e-14)


def test_declare_units_lists_every_offending_argument_in_one_error():
    field = xr.DataArray([1.0], dims="x")  # no units
    with pytest.raises(UnitsError) as info:
        _toy(field, step="3 K", window=(1.0, "4 s"))
    message = str(info.value)
    assert len(info.value.problems) == 3
    assert "field" in message
    assert "step" in message
    assert "window[1]" in message
    # The fix is named for the DataArray argument.
    assert "attrs['units']" in message


def test_declare_units_two_bad_arrays_both_named():
    @declare_units(field="T", rho_xy="uohm*cm")
    def fit(field, rho_xy):
        raise AssertionError("the body must not run with bad units")

    with pytest.raises(UnitsError) as info:
        fit(
            xr.DataArray([1.0], dims="x", attrs={"units": "K"}),
            xr.DataArray([1.0], dims="x"),
        )
    message = str(info.value)
    assert "field" in message and "rho_xy" in message


def test_declare_units_rejects_names_the_function_lacks():
    with pytest.raises(TypeError, match="lacks"):

        @declare_units(feild="T")
        def typo(field):
            return field


def test_declare_units_keeps_dask_lazy_in_both_unit_states():
    values = np.arange(8.0) * 1000.0  # Oe
    lazy = xr.DataArray(values, dims="x", attrs={"units": "Oe"}).chunk({"x": 3})
    with dask.config.set(scheduler=_raise_if_computed):
        plain = _toy(lazy)
        quantified = _toy(lazy.pint.quantify())
        assert _toy.seen["field"].chunks is not None
        assert plain["twice"].chunks is not None
        assert isinstance(quantified["twice"].data, pint.Quantity)
        assert isinstance(quantified["twice"].data.magnitude, dask.array.Array)
    np.testing.assert_allclose(plain["twice"].values, 2e-4 * values, rtol=1e-15)
    np.testing.assert_allclose(
        quantified["twice"].data.to("T").magnitude.compute(), 2e-4 * values, rtol=1e-15
    )
