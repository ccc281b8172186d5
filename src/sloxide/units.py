"""The single pint registry of sloxide, shared with pint-xarray, and the unit checks.

Every function in :mod:`sloxide.analysis` declares the units it computes in
with :func:`declare_units`. The decorator converts every input to those units
at the edge, strips them for the numerics, and puts the caller's unit state
back on the result: pint-backed data in gives pint-backed data out, ``units``
attrs in give ``units`` attrs out.

Magnetic CGS units
------------------
Instruments write fields in oersted or gauss, moments in emu and magnetization
in emu/cm³. pint only converts these to SI inside its "Gaussian" context, and
then with a float error of 7e-11 from the measured µ0. Following PHYSICS.md
section 0 the field is always µ0H in tesla, so sloxide converts with the exact
conventional factors: 1 Oe ≙ 1 G = 1e-4 T, 1 emu = 1e-3 A·m², and a field
strength H in A/m becomes µ0H with µ0 = 4π·1e-7 T·m/A.
"""

from __future__ import annotations

import functools
import inspect
import math
import numbers
import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any, ParamSpec, TypeVar

import pint
import pint_xarray
import xarray as xr

from .errors import DataError, UnitsError

__all__ = [
    "ureg",
    "labelled_dataset",
    "Quantity",
    "parse_units",
    "parse_quantity",
    "units_of",
    "is_quantified",
    "conversion_factors",
    "convert",
    "check_units",
    "to_magnitude",
    "scalar_magnitude",
    "difference",
    "declare_units",
    "with_attrs",
    "quantify_data_vars",
    "dequantify",
]

ureg: pint.UnitRegistry = pint.UnitRegistry(force_ndarray_like=True)
# Units that instrument software and data files write but pint does not know.
ureg.define("emu = erg / gauss")  # magnetic moment, 1 emu = 1e-3 A m^2
ureg.define("@alias ohm = Ohm = Ohms")
pint_xarray.setup_registry(ureg)
# One registry for the session, as MetPy and cf-xarray do: ``.pint.quantify()``
# and ``sloxide`` then agree on every unit.
pint.set_application_registry(ureg)
Quantity = ureg.Quantity

_SUPERSCRIPTS = str.maketrans("⁰¹²³⁴⁵⁶⁷⁸⁹⁻", "0123456789-")
_SUPERSCRIPT_RUN = re.compile(r"([⁻]?[⁰¹²³⁴⁵⁶⁷⁸⁹]+)")


def parse_units(text: str | pint.Unit) -> pint.Unit:
    """Parse a unit string as instruments and files write it.

    Accepts pint syntax plus the spellings found in the wild: ``µΩ·cm``,
    ``mOhm cm``, ``emu/cm^3``, ``cm⁻³``, ``Oe``, ``deg``.

    Parameters
    ----------
    text : str or pint.Unit
        The unit, e.g. ``"µΩ·cm"``.

    Returns
    -------
    pint.Unit
        The unit in the sloxide registry.

    Raises
    ------
    UnitsError
        If the string is not a unit.

    Examples
    --------
    >>> from sloxide.units import parse_units
    >>> parse_units("µΩ·cm") == parse_units("uohm * cm")
    True
    >>> parse_units("mOhm cm") == parse_units("mohm * cm")
    True
    >>> parse_units("emu/cm^3")
    <Unit('emu / centimeter ** 3')>
    """
    if isinstance(text, pint.Unit):
        return ureg.Unit(str(text))
    cleaned = (
        str(text).strip().replace("·", "*").replace("⋅", "*").replace("×", "*").replace("−", "-")
    )
    cleaned = _SUPERSCRIPT_RUN.sub(lambda m: "**" + m.group(1).translate(_SUPERSCRIPTS), cleaned)
    try:
        return ureg.parse_units(cleaned)
    except Exception as exc:  # pint raises several types for malformed strings
        raise UnitsError([f"{text!r} is not a unit pint can read ({exc})"]) from None


def is_quantified(da: xr.DataArray) -> bool:
    """True when the DataArray wraps a pint Quantity.

    Examples
    --------
    >>> import xarray as xr
    >>> from sloxide.units import is_quantified
    >>> da = xr.DataArray([1.0], dims="x", attrs={"units": "K"})
    >>> is_quantified(da), is_quantified(da.pint.quantify())
    (False, True)
    """
    return isinstance(da.variable._data, pint.Quantity) or isinstance(da.data, pint.Quantity)


def units_of(da: xr.DataArray) -> str | None:
    """The units of a DataArray, from its pint data or its ``units`` attr.

    Examples
    --------
    >>> import xarray as xr
    >>> from sloxide.units import units_of
    >>> units_of(xr.DataArray([1.0], attrs={"units": "Oe"}))
    'Oe'
    >>> units_of(xr.DataArray([1.0])) is None
    True
    """
    if is_quantified(da):
        return str(da.data.units)
    units = da.attrs.get("units")
    return None if units is None else str(units)


# Gaussian units and their exact conventional SI equivalents (module docstring):
# (CGS reference, SI unit, SI per CGS reference).
_GAUSSIAN: tuple[tuple[str, str, float], ...] = (
    ("gauss", "tesla", 1e-4),  # B, and µ0H from oersted
    ("erg / gauss", "ampere * meter ** 2", 1e-3),  # magnetic moment (emu)
)
_MU0 = 4e-7 * math.pi  # T·m/A: a field strength H in A/m becomes µ0H in T


def _without_gaussian(unit: pint.Unit) -> tuple[float, pint.Unit]:
    """Replace every Gaussian factor of a compound unit (Oe, kOe, G, emu) by its SI unit."""
    scale, out = 1.0, ureg.Unit("dimensionless")
    for name, exponent in unit._units.items():
        part = ureg.Unit(name)
        for cgs, si, factor in _GAUSSIAN:
            if part.dimensionality == ureg.Unit(cgs).dimensionality:
                scale *= float(Quantity(1.0, part).to(cgs).magnitude * factor) ** float(exponent)  # type: ignore[arg-type]
                part = ureg.Unit(si)
                break
        out *= part**exponent
    return float(scale), out


@functools.lru_cache(maxsize=512)
def _factors(src: str, dst: str) -> tuple[float, float]:
    usrc, udst = parse_units(src), parse_units(dst)
    try:
        zero = Quantity(0.0, usrc).to(udst).magnitude
        one = Quantity(1.0, usrc).to(udst).magnitude
        return float(one - zero), float(zero)
    except pint.errors.DimensionalityError:
        pass
    scale_src, si_src = _without_gaussian(usrc)
    scale_dst, si_dst = _without_gaussian(udst)
    tesla, per_meter = ureg.Unit("tesla"), ureg.Unit("ampere / meter")
    try:
        value = Quantity(1.0, si_src).to(si_dst).magnitude
        return float(scale_src * value / scale_dst), 0.0
    except pint.errors.DimensionalityError:
        pass
    # Between a field strength H (A/m) and µ0H (T) only, through µ0.
    for a, b, bridge in ((per_meter, tesla, _MU0), (tesla, per_meter, 1 / _MU0)):
        if si_src.dimensionality == a.dimensionality and si_dst.dimensionality == b.dimensionality:
            value = Quantity(1.0, si_src).to(a).magnitude * bridge * Quantity(1.0, b).to(si_dst)
            return float(scale_src * value.magnitude / scale_dst), 0.0
    raise pint.errors.DimensionalityError(usrc, udst)


def conversion_factors(src: str | pint.Unit, dst: str | pint.Unit) -> tuple[float, float]:
    """Scale and offset that take values in ``src`` to ``dst``: ``y = scale * x + offset``.

    Applying the factors by arithmetic keeps dask arrays lazy.

    Parameters
    ----------
    src, dst : str or pint.Unit
        Units to convert from and to.

    Returns
    -------
    scale, offset : float

    Raises
    ------
    pint.errors.DimensionalityError
        If the units are incompatible.

    Examples
    --------
    >>> from sloxide.units import conversion_factors
    >>> conversion_factors("Oe", "T")
    (0.0001, 0.0)
    >>> conversion_factors("degC", "K")
    (1.0, 273.15)
    """
    return _factors(str(src), str(dst))


def convert(value: Any, src: str | pint.Unit, dst: str | pint.Unit) -> Any:
    """Convert plain numbers (or arrays) from ``src`` to ``dst`` units.

    Examples
    --------
    >>> from sloxide.units import convert
    >>> convert(5000.0, "Oe", "T")
    0.5
    >>> round(convert(1.0, "emu", "A*m^2"), 12)
    0.001
    """
    scale, offset = conversion_factors(src, dst)
    if offset == 0.0:
        return value * scale if scale != 1.0 else value
    return value * scale + offset


_COORDINATE_LABEL = re.compile(r"^the '(.+)' coordinate$")


def _fix_hint(name: str, expected: str) -> str:
    example = "" if expected == "any" else f" (e.g. {expected!r})"
    # Coordinates are labelled "the 'angle' coordinate": point at ds['angle'], not at a
    # variable of that label (the advice named a variable that does not exist).
    coordinate = _COORDINATE_LABEL.match(name)
    target = coordinate.group(1) if coordinate else name
    return (
        f"set ds[{target!r}].attrs['units'] to the units the data were recorded in"
        f"{example}, or quantify it with pint-xarray"
    )


@functools.lru_cache(maxsize=256)
def _is_angle(unit: str) -> bool:
    return bool(ureg.get_root_units(parse_units(unit))[1] == ureg.radian)


def _problem_for(name: str, units: str | None, expected: str) -> str | None:
    if units is None:
        return f"{name}: has no units; {_fix_hint(name, expected)}"
    try:
        parsed = parse_units(units)
    except UnitsError:
        return f"{name}: units {units!r} are not readable; {_fix_hint(name, expected)}"
    if expected == "any":
        return None
    try:
        conversion_factors(parsed, expected)
    except pint.errors.DimensionalityError:
        want = parse_units(expected).dimensionality
        return (
            f"{name}: units {units!r} are not compatible with {expected!r} ({want}); "
            f"pass the right variable or correct its units attr"
        )
    # pint counts angles as dimensionless, so "" or "percent" converted silently to
    # radians: degrees labelled "" became 57 times too large. An angle needs
    # an angle unit.
    if _is_angle(expected) and not _is_angle(str(parsed)):
        return (
            f"{name}: units {units!r} are not an angle (pint would read the numbers as "
            f"radians); {_fix_hint(name, expected)}"
        )
    return None


def check_units(expected: dict[str, tuple[xr.DataArray | None, str]]) -> None:
    """Check several DataArrays at once; raise one :class:`UnitsError` listing every offender.

    Data that are not real numbers (datetimes, strings, complex, ...) raise a
    :class:`~sloxide.errors.DataError` first.

    Parameters
    ----------
    expected : dict
        Maps a variable name to ``(data_array, units)``; ``None`` entries are
        skipped and ``"any"`` only requires some units.

    Examples
    --------
    >>> import xarray as xr
    >>> from sloxide.units import check_units
    >>> field = xr.DataArray([1.0], attrs={"units": "K"})
    >>> rho = xr.DataArray([1.0])
    >>> try:
    ...     check_units({"field": (field, "T"), "rho_xy": (rho, "uohm*cm")})
    ... except ValueError as err:
    ...     print(err)
    wrong or missing units:
      - field: units 'K' are not compatible with 'T' (...); pass the right variable or correct its units attr
      - rho_xy: has no units; set ds['rho_xy'].attrs['units'] to the units the data were recorded in (e.g. 'uohm*cm'), or quantify it with pint-xarray
    """
    for name, (da, _) in expected.items():
        if da is not None:
            _require_real(da, name)
    problems = [
        problem
        for name, (da, units) in expected.items()
        if da is not None and (problem := _problem_for(name, units_of(da), units))
    ]
    if problems:
        raise UnitsError(problems)


def _require_real(da: xr.DataArray, label: str) -> None:
    """Refuse data that are not real numbers before any units or arithmetic touch them.

    A datetime axis labelled "deg" gave nonsense harmonics, complex data silently lost
    their imaginary part, and strings or objects failed deep inside numpy.
    """
    kind = da.dtype.kind
    if kind in "iuf" or (kind == "O" and is_quantified(da)):
        return
    what = {
        "b": "booleans",
        "c": "complex numbers (the imaginary part would be dropped)",
        "M": "datetimes",
        "m": "time differences",
        "U": "strings",
        "S": "bytes",
        "O": "Python objects",
    }.get(kind, f"dtype {da.dtype}")
    raise DataError(
        f"{label} holds {what} ({da.dtype}), not real numbers; pass the measured values "
        f"as floats, e.g. da.astype(float) or np.real(da) after checking that is right"
    )


def to_magnitude(da: xr.DataArray, units: str, name: str | None = None) -> xr.DataArray:
    """Return ``da`` as plain numbers in ``units``, with ``attrs['units'] = units``.

    Works lazily on dask and on both unit states (pint-backed or attrs).

    Parameters
    ----------
    da : xarray.DataArray
        Data with units.
    units : str
        Target units; ``"any"`` keeps the data's own units.
    name : str, optional
        Name used in the error message (default: ``da.name``).

    Raises
    ------
    UnitsError
        If ``da`` has no units or incompatible ones.

    Examples
    --------
    >>> import xarray as xr
    >>> from sloxide.units import to_magnitude
    >>> field = xr.DataArray([-5000.0, 0.0, 5000.0], dims="time", attrs={"units": "Oe"})
    >>> to_magnitude(field, "T").values
    array([-0.5,  0. ,  0.5])
    """
    label = name or (str(da.name) if da.name is not None else "data")
    _require_real(da, label)
    current = units_of(da)
    problem = _problem_for(label, current, units)
    if problem:
        raise UnitsError([problem])
    assert current is not None
    target = current if units == "any" else units
    plain = da.pint.dequantify() if is_quantified(da) else da
    plain = plain.copy(data=convert(plain.data, current, target))
    plain.attrs = {**{k: v for k, v in da.attrs.items() if k != "units"}, "units": target}
    return plain


#: Marks a declared unit as a *difference* (a width, step, tolerance): see :func:`difference`.
_DIFFERENCE = "Δ "


def difference(units: str) -> str:
    """Declare a parameter as a difference of ``units`` (a window, a step, a tolerance).

    pint reads ``"5 degC"`` as the absolute temperature 278.15 K, so a 5 degC
    window would become 278 K wide. A difference therefore refuses a bare offset
    unit (degC, degF) with an error that says to write ``delta_degC``; K,
    ``delta_degC`` and compound units such as ``degC/min`` convert as
    differences. Use it in :func:`declare_units` and :func:`scalar_magnitude`.

    Examples
    --------
    >>> from sloxide.units import difference, scalar_magnitude
    >>> scalar_magnitude("5 delta_degC", difference("K"), "window")
    5.0
    >>> scalar_magnitude("5 degC", difference("K"), "window")
    Traceback (most recent call last):
    ...
    sloxide.errors.UnitsError: wrong or missing units:
      - window: '5 degC' is a temperature on an offset scale, which pint reads as 278.15 K; a difference needs '5 delta_degC' (or '5 K')
    """
    return _DIFFERENCE + units


def _undifferenced(units: str) -> tuple[str, bool]:
    """The plain units of a declaration, and whether it declares a difference."""
    if units.startswith(_DIFFERENCE):
        return units[len(_DIFFERENCE) :], True
    return units, False


def _offset_problem(name: str, value: pint.Quantity, units: str) -> str | None:
    """A difference given in an offset unit, which pint would read as absolute."""
    try:
        _, offset = conversion_factors(str(value.units), units)
    except pint.errors.DimensionalityError:
        return None  # reported by the dimension check
    if offset == 0.0:
        return None
    absolute = convert(float(value.magnitude), str(value.units), units)
    written = _OFFSET_SPELLING.get(str(value.units), str(value.units))
    number = f"{float(value.magnitude):g}"
    return (
        f"{name}: '{number} {written}' is a temperature on an offset scale, which pint "
        f"reads as {absolute:g} {units}; a difference needs '{number} delta_{written}' "
        f"(or '{number} {units}')"
    )


#: How people write pint's offset units, for the advice in :func:`_offset_problem`.
_OFFSET_SPELLING = {"degree_Celsius": "degC", "degree_Fahrenheit": "degF"}


def scalar_magnitude(value: Any, units: str, name: str) -> float:
    """Convert a scalar parameter to a float in ``units``.

    A bare number is taken to be in ``units`` already (the documented unit of
    the parameter); a pint Quantity or a string such as ``"200 Oe"`` is
    converted. ``units`` may be a :func:`difference`.

    Examples
    --------
    >>> from sloxide.units import scalar_magnitude, Quantity
    >>> scalar_magnitude(0.5, "T", "step")
    0.5
    >>> scalar_magnitude("200 Oe", "T", "step")
    0.02
    >>> scalar_magnitude(Quantity(20, "mT"), "T", "step")
    0.02
    """
    problems = _scalar_problems(value, units, name)
    if problems:
        raise UnitsError(problems)
    return _scalar(value, units)


_NUMBER_AND_UNIT = re.compile(r"^\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*(.*?)\s*$")


def parse_quantity(text: str) -> pint.Quantity:
    """Parse ``"<number> <unit>"`` as written by people and instruments.

    The unit part goes through :func:`parse_units`, so ``"0.6 mΩ·cm"`` and
    offset units such as ``"25 degC"`` work.

    Examples
    --------
    >>> from sloxide.units import parse_quantity
    >>> parse_quantity("25 degC").to("K")
    <Quantity(298.15, 'kelvin')>
    >>> float(parse_quantity("200 Oe").magnitude)
    200.0
    """
    match = _NUMBER_AND_UNIT.match(text)
    if match is None:
        raise UnitsError([f"{text!r} is not a number followed by a unit, e.g. '0.02 T'"])
    return Quantity(float(match.group(1)), parse_units(match.group(2) or "dimensionless"))


def _scalar(value: Any, units: str) -> float:
    units, _ = _undifferenced(units)
    if isinstance(value, str):
        value = parse_quantity(value)
    if isinstance(value, pint.Quantity):
        return float(convert(value.magnitude, str(value.units), units))
    return float(value)


def _scalar_problems(value: Any, units: str, name: str) -> list[str]:
    units, is_difference = _undifferenced(units)
    if isinstance(value, bool):
        return [f"{name}: expected a number in {units!r}, got {value!r}"]
    if isinstance(value, numbers.Real):
        return []
    if isinstance(value, str):
        try:
            value = parse_quantity(value)
        except UnitsError:
            return [f"{name}: {value!r} is not a quantity; write e.g. '0.02 T' or pass a number"]
    if isinstance(value, pint.Quantity):
        problem = _problem_for(name, str(value.units), units)
        if problem is None and is_difference:
            problem = _offset_problem(name, value, units)
        return [problem] if problem else []
    return [
        f"{name}: expected a number in {units!r} or a pint Quantity, got {type(value).__name__}"
    ]


P = ParamSpec("P")
R = TypeVar("R")


def declare_units(**declared: str) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Declare the units a function computes in, once, for every argument.

    On each call the wrapper:

    1. checks **every** declared argument and raises one :class:`UnitsError`
       listing all the offenders and how to fix each;
    2. converts DataArrays to plain numbers in the declared units, and scalar
       Quantities (or strings like ``"200 Oe"``) to floats; bare numbers are
       taken to be in the declared units already, and tuples are converted
       element by element;
    3. calls the function;
    4. if any DataArray argument was pint-backed, quantifies every numeric
       data variable of the returned Dataset from its ``units`` attr.

    Declare ``"any"`` for an argument that only needs *some* units.

    Examples
    --------
    >>> import xarray as xr
    >>> from sloxide.units import declare_units
    >>> @declare_units(field="T")
    ... def double(field):
    ...     return xr.Dataset({"twice": (2 * field).assign_attrs(units="T")})
    >>> field = xr.DataArray([1000.0], dims="x", attrs={"units": "Oe"})
    >>> double(field)["twice"].values
    array([0.2])
    >>> double(field.pint.quantify())["twice"].data
    <Quantity([0.2], 'tesla')>
    """

    def decorate(func: Callable[P, R]) -> Callable[P, R]:
        signature = inspect.signature(func)
        unknown = set(declared) - set(signature.parameters)
        if unknown:
            raise TypeError(f"declare_units names arguments {func.__name__} lacks: {unknown}")

        @functools.wraps(func)
        def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
            bound = signature.bind(*args, **kwargs)
            problems: list[str] = []
            quantified = False
            for name, units in declared.items():
                value = bound.arguments.get(name)
                if value is None:
                    continue
                if isinstance(value, xr.DataArray):
                    quantified |= is_quantified(value)
                    plain, is_difference = _undifferenced(units)
                    problem = _problem_for(name, units_of(value), plain)
                    if problem is None and is_difference and plain != "any":
                        problem = _offset_problem(name, Quantity(1.0, units_of(value)), plain)
                elif isinstance(value, tuple | list):
                    problem = "; ".join(
                        p
                        for i, v in enumerate(value)
                        for p in _scalar_problems(v, units, f"{name}[{i}]")
                    )
                else:
                    problem = "; ".join(_scalar_problems(value, units, name))
                if problem:
                    problems.append(problem)
            if problems:
                raise UnitsError(problems)
            for name, value in bound.arguments.items():
                if isinstance(value, xr.Dataset) and any(
                    is_quantified(v) for v in value.data_vars.values()
                ):
                    quantified = True
                    bound.arguments[name] = value.pint.dequantify()
            for name, units in declared.items():
                value = bound.arguments.get(name)
                if value is None:
                    continue
                if isinstance(value, xr.DataArray):
                    bound.arguments[name] = to_magnitude(value, _undifferenced(units)[0], name)
                elif isinstance(value, tuple | list):
                    bound.arguments[name] = tuple(_scalar(v, units) for v in value)
                else:
                    bound.arguments[name] = _scalar(value, units)
            result = func(*bound.args, **bound.kwargs)
            if quantified and isinstance(result, xr.Dataset):
                return quantify_data_vars(result)  # type: ignore[return-value]
            return result

        return wrapper

    return decorate


def quantify_data_vars(ds: xr.Dataset) -> xr.Dataset:
    """Wrap every numeric data variable that has a ``units`` attr in pint.

    Index coordinates keep their ``units`` attr: a pint index would break
    ``.sel`` and ``.to_series()`` (STACK.md).

    Examples
    --------
    >>> import xarray as xr
    >>> from sloxide.units import quantify_data_vars
    >>> ds = xr.Dataset({"Tc": ((), 75.6, {"units": "K"})})
    >>> quantify_data_vars(ds)["Tc"].data
    <Quantity(75.6, 'kelvin')>
    """
    out = ds.copy()
    for name, var in ds.data_vars.items():
        if "units" in var.attrs and var.dtype.kind in "fciu" and not is_quantified(var):
            attrs = {k: v for k, v in var.attrs.items() if k != "units"}
            data = Quantity(var.data, parse_units(var.attrs["units"]))
            out[name] = xr.Variable(var.dims, data, attrs)  # the data only, never the coords
    return out


def dequantify(obj: xr.Dataset | xr.DataArray) -> Any:
    """Return ``obj`` with pint data replaced by magnitudes and ``units`` attrs.

    Examples
    --------
    >>> import xarray as xr
    >>> from sloxide.units import dequantify
    >>> da = xr.DataArray([1.0], dims="x", attrs={"units": "K"}).pint.quantify()
    >>> dequantify(da).attrs["units"]
    'kelvin'
    """
    if isinstance(obj, xr.DataArray):
        return obj.pint.dequantify() if is_quantified(obj) else obj
    if any(is_quantified(v) for v in obj.data_vars.values()):
        return obj.pint.dequantify()
    return obj


def with_attrs(da: xr.DataArray, **attrs: Any) -> xr.DataArray:
    """``da`` with its attrs *replaced* by ``attrs``.

    Attrs that survived arithmetic are stale (xarray keeps them by default),
    so every output sets its own ``units`` and ``long_name`` (STYLE.md 5).

    Examples
    --------
    >>> import xarray as xr
    >>> from sloxide.units import with_attrs
    >>> rho = xr.DataArray(2.0, attrs={"units": "ohm", "quantity": "R_xx"}) * 3
    >>> with_attrs(rho, units="mohm*cm").attrs
    {'units': 'mohm*cm'}
    """
    out = da.copy(deep=False)
    out.attrs = dict(attrs)
    return out


def labelled_dataset(
    table: Iterable[tuple[str, str, str]],
    arrays: Iterable[xr.DataArray],
    attrs: Mapping[str, Any] | None = None,
) -> xr.Dataset:
    """A Dataset of ``arrays``, each named and labelled by its row ``(name, units, long_name)``.

    A reduction's outputs come from one kernel as a tuple of DataArrays; their
    table gives each its name, units and long name in one place (STYLE.md 5),
    through :func:`with_attrs`.

    Examples
    --------
    >>> import xarray as xr
    >>> from sloxide.units import labelled_dataset
    >>> table = [("R0", "uohm * cm / T", "ordinary Hall coefficient"), ("n", "1/cm**3", "density")]
    >>> out = labelled_dataset(table, [xr.DataArray(0.02), xr.DataArray(3e22)], {"kind": "demo"})
    >>> out.R0.attrs, out.attrs
    ({'units': 'uohm * cm / T', 'long_name': 'ordinary Hall coefficient'}, {'kind': 'demo'})
    """
    return xr.Dataset(
        {
            name: da.pipe(with_attrs, units=units, long_name=long_name)
            for (name, units, long_name), da in zip(table, arrays, strict=True)
        },
        attrs=attrs,
    )
