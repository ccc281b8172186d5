"""Quantum Design MultiVu ``.dat`` files: read, split into measurements, import as runs.

Every Quantum Design option writes the same format: a ``[Header]`` of
``KEY, value, ...`` lines (``TITLE``, ``BYAPP`` with the application and its
version, ``FILEOPENTIME``, ``INFO, value, NAME`` lines for the sample), then a
``[Data]`` section of comma-separated rows under one row of column labels with
units in parentheses, ``Temperature (K)``, ``Magnetic Field (Oe)``,
``Moment (emu)``, ``Bridge 1 Resistance (Ohms)``. Labs have years of them.

* :func:`read_multivu` reads one file into an ``xarray.Dataset`` on dim
  ``time``: units parsed from the labels, the known columns under sloxide's
  canonical names (``temperature``, ``field``, ``moment``, ``R_xx``/``R_xy``
  or ``rho_xx``/``rho_xy`` by bridge, ``angle``), every other column kept;
* :func:`split_segments` cuts it into measurements: a temperature sweep, a
  field sweep at fixed temperature (a loop, branches and all), a rotation;
  a cool-down then a warm-up is two, several loops at different temperatures
  are one each;
* :func:`import_multivu` (``sloxide import``) writes each segment into the
  catalog as a Bluesky run through the same TiledWriter path as acquisition,
  with the start document's ``sloxide`` context of an acquired run plus the
  source file's name and sha256. Importing a file again adds nothing.

The column names of the options (PPMS resistivity and its log files, ETO, ACT,
VSM, ACMS, MPMS XL, MPMS3 DC and VSM, heat capacity) differ; the table
:data:`CANONICAL` says which become which. Everything is read with the core
dependencies (numpy, xarray); only the import needs the ``acquire`` extra.

Examples
--------
>>> import tempfile, pathlib
>>> from sloxide.multivu import read_multivu
>>> path = pathlib.Path(tempfile.mkdtemp()) / "mt.dat"
>>> _ = path.write_text(
...     "[Header]\\nTITLE, M(T)\\nBYAPP, MPMS3, 1.2.3\\nINFO, C10/L6, SAMPLE_MATERIAL\\n"
...     "[Data]\\nComment,Time Stamp (sec),Temperature (K),Magnetic Field (Oe),Moment (emu)\\n"
...     ",1.0,100.0,2000.0,1e-6\\n,2.0,99.0,2000.0,1.1e-6\\n")
>>> ds = read_multivu(path)
>>> sorted(ds.data_vars), ds["field"].attrs["units"], ds.attrs["application"]
(['field', 'moment', 'temperature'], 'Oe', 'MPMS3')
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import os
import re
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from .errors import SloxideError, UnitsError
from .units import parse_units

__all__ = [
    "MultiVuFormatError",
    "CANONICAL",
    "Segment",
    "ImportReport",
    "read_multivu",
    "find_segments",
    "split_segments",
    "import_multivu",
]

#: Canonical variable -> the column names (lower case, without units) that become it,
#: best first. The bridge and channel resistances are mapped by number instead.
CANONICAL: dict[str, tuple[str, ...]] = {
    "temperature": ("temperature", "sample temp", "sample temperature", "temperature (k)"),
    "field": ("magnetic field", "field"),
    "moment": (
        "moment",
        "dc moment free ctr",
        "dc moment fixed ctr",
        "dc moment",
        "long moment",
        "m-dc",
        "long reg fit",
    ),
    "angle": ("sample position", "rotator position", "position"),
}

_TIME_COLUMNS = ("time stamp", "timestamp", "time")
_BRIDGE = re.compile(
    r"^(?:bridge\s*(?P<n1>\d)\s+(?P<q1>resistance|resistivity)"
    r"|(?P<q2>resistance|resistivity)\s*ch\s*(?P<n2>\d)"
    r"|ch\s*(?P<n3>\d)\s+(?P<q3>resistance|resistivity))$",
    re.IGNORECASE,
)
_LABEL = re.compile(r"^(?P<name>.*?)\s*\((?P<units>[^()]*)\)\s*$")
_UNIT_WORDS = [
    (re.compile(r"\bOhms?\b", re.IGNORECASE), "ohm"),
    (re.compile(r"\bKelvin\b", re.IGNORECASE), "K"),
    (re.compile(r"\bsecs?\b", re.IGNORECASE), "s"),
    (re.compile(r"\bmoles?\b", re.IGNORECASE), "mol"),
    (re.compile(r"\bAmps?\b"), "A"),
    (re.compile(r"\bdegrees\b", re.IGNORECASE), "deg"),
    (re.compile(r"\bTorr\b"), "torr"),
    (re.compile(r"%"), "percent"),
]
_DATE_FORMATS = (
    "%m/%d/%Y, %I:%M:%S %p",
    "%m/%d/%Y, %H:%M:%S %p",
    "%m/%d/%Y, %I:%M %p",
    "%m/%d/%Y %I:%M %p",
    "%m/%d/%Y %I:%M:%S %p",
    "%m/%d/%Y, %H:%M:%S",
)


class MultiVuFormatError(SloxideError):
    """A file that is not a readable MultiVu data file; the message names file and line.

    Examples
    --------
    >>> from sloxide.multivu import MultiVuFormatError
    >>> print(MultiVuFormatError("run.dat", 3, "binary data"))
    run.dat, line 3: binary data
    """

    def __init__(self, path: str | os.PathLike[str], line: int | None, message: str) -> None:
        self.path, self.line = str(path), line
        where = f"{path}, line {line}" if line is not None else str(path)
        super().__init__(f"{where}: {message}")


# --------------------------------------------------------------------------- reading


def _multivu_units(text: str) -> str | None:
    """A pint-readable unit string for a MultiVu label's units, or None."""
    cleaned = text.strip()
    if not cleaned:
        return None
    for pattern, replacement in _UNIT_WORDS:
        cleaned = pattern.sub(replacement, cleaned)
    # "µJ/mole-K" is µJ/(mol·K), "Ohm-cm" is Ω·cm: a hyphen between units multiplies,
    # and everything after a slash is the denominator.
    cleaned = re.sub(r"(?<=[A-Za-zµ])-(?=[A-Za-zµ])", "*", cleaned)
    if "/" in cleaned:
        numerator, _, denominator = cleaned.partition("/")
        cleaned = f"{numerator}/({denominator})" if "*" in denominator else cleaned
    try:
        parse_units(cleaned)
    except UnitsError:
        return None
    return cleaned.replace("µ", "u")


def _decode(path: Path) -> tuple[str, str]:
    raw = path.read_bytes()
    if b"\x00" in raw:
        line = raw[: raw.index(b"\x00")].count(b"\n") + 1
        raise MultiVuFormatError(path, line, "binary data (a NUL byte): not a MultiVu text file")
    for encoding in ("utf-8-sig", "cp1252", "latin-1"):
        try:
            return raw.decode(encoding), encoding
        except UnicodeDecodeError:
            continue
    raise AssertionError("latin-1 decodes every byte")  # pragma: no cover


def _fields(line: str, delimiter: str = ",") -> list[str]:
    """Comma-separated fields (tab-separated in files re-saved by a spreadsheet); a
    quoted field may hold the delimiter."""
    if '"' not in line:
        return [f.strip() for f in line.split(delimiter)]
    out: list[str] = []
    current: list[str] = []
    quoted = False
    for char in line:
        if char == '"':
            quoted = not quoted
        elif char == delimiter and not quoted:
            out.append("".join(current).strip())
            current = []
        else:
            current.append(char)
    out.append("".join(current).strip())
    return out


def _parse_time(fields: Sequence[str]) -> tuple[float | None, str | None]:
    stamp = None
    try:
        stamp = float(fields[0])
    except (ValueError, IndexError):
        pass
    text = ", ".join(f for f in fields[1:] if f)
    for fmt in _DATE_FORMATS:
        try:
            return stamp, _dt.datetime.strptime(text, fmt).isoformat()
        except ValueError:
            continue
    return stamp, text or None


def _header(path: Path, lines: list[str]) -> tuple[dict[str, Any], int, str]:
    """Header attrs, the index of the ``[Data]`` line and the delimiter."""
    first = next((i for i, line in enumerate(lines) if line.strip()), None)
    if first is None:
        raise MultiVuFormatError(
            path, None, "the file is empty; a MultiVu file starts with [Header]"
        )
    delimiter = "\t" if "\t" in lines[first] and "," not in lines[first] else ","
    if lines[first].strip().lstrip("\ufeff") != "[Header]":
        raise MultiVuFormatError(
            path,
            first + 1,
            f"not a MultiVu data file: it starts with {lines[first].strip()[:40]!r}, not [Header]",
        )
    attrs: dict[str, Any] = {}
    info: dict[str, str] = {}
    for i in range(first + 1, len(lines)):
        line = lines[i].strip()
        if line == "[Data]":
            break
        if not line or line.startswith(";"):
            continue
        fields = _fields(line, delimiter)
        key = fields[0].upper()
        if key == "TITLE":
            attrs["title"] = ", ".join(fields[1:]).strip()
        elif key == "BYAPP":
            attrs["application"] = fields[1] if len(fields) > 1 else ""
            if len(fields) > 2:
                attrs["application_version"] = ", ".join(fields[2:]).strip()
        elif key == "FILEOPENTIME":
            stamp, when = _parse_time(fields[1:])
            if when:
                attrs["file_open_time"] = when
            if stamp is not None:
                attrs["file_open_timestamp"] = stamp
        elif key == "INFO" and len(fields) >= 3:
            info[fields[-1]] = ", ".join(fields[1:-1]).strip()
    else:
        raise MultiVuFormatError(
            path, len(lines), "no [Data] section: the header never ends (a truncated file?)"
        )
    if info:
        attrs["info"] = info
    sample = {
        key.removeprefix("SAMPLE_").lower(): value
        for key, value in info.items()
        if key.upper().startswith("SAMPLE_") and value and value.upper() != "N/A"
    }
    if sample:
        attrs["sample"] = sample
    return attrs, i, delimiter


@dataclass
class _Column:
    label: str
    name: str
    units: str | None
    values: list[str] = field(default_factory=list)


def _canonical_name(name: str, units: str | None, bridges: Mapping[str, int]) -> str | None:
    lowered = name.lower().strip()
    match = _BRIDGE.match(lowered)
    if match:
        number = int(match["n1"] or match["n2"] or match["n3"])
        quantity = (match["q1"] or match["q2"] or match["q3"]).lower()
        for role, bridge in bridges.items():
            if bridge == number:
                return role if quantity == "resistance" else role.replace("R_", "rho_")
        return None
    for canonical, names in CANONICAL.items():
        if lowered in names:
            return canonical
    return None


def _sanitize(name: str) -> str:
    text = re.sub(r"[^0-9A-Za-z]+", "_", name).strip("_")
    return text if text and not text[0].isdigit() else f"c_{text}"


def read_multivu(
    path: str | os.PathLike[str], *, bridges: Mapping[str, int] | None = None
) -> xr.Dataset:
    """One MultiVu ``.dat`` file as an ``xarray.Dataset`` with units.

    Parameters
    ----------
    path : str or os.PathLike
        A MultiVu data file (``.dat`` or ``.DAT``), UTF-8 or Latin-1.
    bridges : mapping, optional
        Which bridge or channel number is which: default ``{"R_xx": 1, "R_xy": 2}``.
        ``Bridge n Resistance`` / ``Resistance Chn`` become ``R_xx``/``R_xy``,
        ``Resistivity`` columns ``rho_xx``/``rho_xy``.

    Returns
    -------
    xarray.Dataset
        Dim ``time`` (one point per data row, in file order); coordinate ``time``
        from ``Time Stamp (sec)`` when the file has it. Each variable has
        ``units`` (pint-readable, when the label has units pint can read),
        ``long_name`` (the column label) and, for the canonical ones
        (``temperature``, ``field``, ``moment``, ``R_xx``, ``R_xy``, ``rho_xx``,
        ``rho_xy``, ``angle``), ``quantity``; all-empty columns are dropped and
        listed in ``attrs["empty_columns"]``. Attrs: ``title``, ``application``,
        ``application_version``, ``file_open_time`` (ISO), ``sample`` (name,
        material, mass, comment, ... from the ``INFO`` lines), ``info`` (all of
        them), ``comments`` (the comment rows), ``source_file``, ``sha256``,
        ``encoding``.

    Raises
    ------
    MultiVuFormatError
        For a file that is not MultiVu (no ``[Header]``), binary, truncated (no
        ``[Data]``, or a last row cut short), or a row with more values than
        columns; the message names the file and line.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from sloxide.multivu import read_multivu
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "hall.DAT"
    >>> _ = path.write_bytes(
    ...     b"[Header]\\nBYAPP, ETO, Release 1.2\\n[Data]\\n"
    ...     b"Time Stamp (sec),Temperature (K),Magnetic Field (Oe),Resistance Ch1 (Ohms),"
    ...     b"Resistance Ch2 (Ohms),Sample Position (deg),Excitation (\\xb5A),\\n"
    ...     b"1,2.0,-90000,10.0,0.5,90,100,\\n2,2.0,-89000,10.0,0.5,90,100,\\n")
    >>> ds = read_multivu(path)
    >>> [str(v) for v in ds.data_vars]
    ['temperature', 'field', 'R_xx', 'R_xy', 'angle', 'Excitation']
    >>> ds["Excitation"].attrs["units"], ds.attrs["encoding"]
    ('uA', 'cp1252')
    """
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise MultiVuFormatError(path, None, f"cannot be read ({exc.strerror})") from None
    text, encoding = _decode(path)
    lines = text.splitlines()
    attrs, data_line, delimiter = _header(path, lines)
    label_index = next((i for i in range(data_line + 1, len(lines)) if lines[i].strip()), None)
    bridges = {"R_xx": 1, "R_xy": 2} if bridges is None else dict(bridges)
    columns: list[_Column] = []
    if label_index is not None:
        labels = _fields(lines[label_index], delimiter)
        while labels and not labels[-1]:  # a trailing comma
            labels.pop()
        for label in labels:
            match = _LABEL.match(label)
            name, units_text = (match["name"], match["units"]) if match else (label, "")
            columns.append(_Column(label, name.strip(), _multivu_units(units_text)))
    comments: list[str] = []
    comment_index = next((k for k, c in enumerate(columns) if c.name.lower() == "comment"), None)
    rows: list[list[str]] = []
    ends_with_newline = text.endswith(("\n", "\r"))
    start = label_index + 1 if label_index is not None else len(lines)
    for i in range(start, len(lines)):
        line = lines[i]
        if not line.strip():
            continue
        values = _fields(line, delimiter)
        if len(values) > len(columns):
            extra = values[len(columns) :]
            if any(extra):
                raise MultiVuFormatError(
                    path,
                    i + 1,
                    f"{len(values)} values under {len(columns)} column labels; "
                    "the row does not belong to this table",
                )
            values = values[: len(columns)]
        if len(values) < len(columns):
            if i == len(lines) - 1 and not ends_with_newline:
                raise MultiVuFormatError(
                    path,
                    i + 1,
                    f"the last row has {len(values)} of {len(columns)} values and no line "
                    "end: the file is truncated (still being written?)",
                )
            values = values + [""] * (len(columns) - len(values))
        numeric = [v for k, v in enumerate(values) if k != comment_index and v]
        if comment_index is not None and values[comment_index] and not numeric:
            comments.append(values[comment_index])
            continue
        if not numeric:
            continue
        rows.append(values)
    return _dataset(path, raw, encoding, attrs, columns, rows, comments, bridges)


def _dataset(
    path: Path,
    raw: bytes,
    encoding: str,
    attrs: dict[str, Any],
    columns: list[_Column],
    rows: list[list[str]],
    comments: list[str],
    bridges: Mapping[str, int],
) -> xr.Dataset:
    parsed: list[tuple[_Column, np.ndarray]] = []
    empty: list[str] = []
    for k, column in enumerate(columns):
        if column.name.lower() == "comment":
            continue
        texts = [row[k] for row in rows]
        if not any(texts):
            empty.append(column.label)
            continue
        try:
            data: np.ndarray = np.array([float(t) if t else np.nan for t in texts], dtype=float)
        except ValueError:
            data = np.array(texts, dtype=object)
        parsed.append((column, data))
    # The best-ranked column of each canonical quantity gets the name (an MPMS3 DC file
    # has "Moment (emu)" empty and the moment in "DC Moment Free Ctr (emu)").
    best: dict[str, tuple[int, int]] = {}
    for k, (column, data) in enumerate(parsed):
        canonical = _canonical_name(column.name, column.units, bridges)
        if canonical is None or data.dtype != float:
            continue
        names = CANONICAL.get(canonical, ())
        lowered = column.name.lower().strip()
        rank = names.index(lowered) if lowered in names else 0
        if canonical not in best or rank < best[canonical][0]:
            best[canonical] = (rank, k)
    chosen = {k: canonical for canonical, (_, k) in best.items()}
    variables: dict[str, xr.Variable] = {}
    coords: dict[str, xr.Variable] = {}
    taken: set[str] = set(chosen.values())
    for k, (column, data) in enumerate(parsed):
        var_attrs: dict[str, Any] = {"long_name": column.label}
        if column.units and data.dtype == float:
            var_attrs["units"] = column.units
        if column.name.lower() in _TIME_COLUMNS and "time" not in coords and data.dtype == float:
            coords["time"] = xr.Variable("time", data, {**var_attrs, "units": "s"})
            continue
        if k in chosen:
            name = chosen[k]
            var_attrs["quantity"] = name
        else:
            name = _sanitize(column.name)
            while name in taken or name in CANONICAL or name == "time":
                name += "_"
            taken.add(name)
        variables[name] = xr.Variable("time", data, var_attrs)
    ds = xr.Dataset(variables, coords=coords)
    if "time" not in ds.dims:  # an empty [Data] section: no rows, no variables
        ds = ds.assign_coords(time=xr.Variable("time", np.empty(0), {"units": "s"}))
    attrs = dict(attrs)
    attrs.update(
        source_file=path.name,
        sha256=hashlib.sha256(raw).hexdigest(),
        encoding=encoding,
    )
    if comments:
        attrs["comments"] = comments
    if empty:
        attrs["empty_columns"] = empty
    ds.attrs = attrs
    return ds


# --------------------------------------------------------------------------- segments


@dataclass(frozen=True)
class Segment:
    """One measurement in a file: rows ``start:stop``, what sweeps, and its kind.

    ``measurement`` is the ``sloxide`` kind: ``"rt"`` (R over temperature),
    ``"field_loop"`` (R over field), ``"amr"`` (R over angle),
    ``"fc_magnetization"`` (M while cooling in a field), ``"mt"`` (M over temperature,
    warming), ``"mh_loop"`` (M over field), ``"temperature_sweep"``,
    ``"field_sweep"``, ``"rotation"`` (other columns), or ``"log"`` (nothing sweeps).
    """

    start: int
    stop: int
    sweep: str | None
    measurement: str


#: How far a "fixed" quantity may wander, and the least a sweep must span (file units
#: converted: K, Oe, deg): max(absolute, relative·|value|).
TOLERANCES: dict[str, tuple[float, float]] = {
    "temperature": (0.1, 0.005),
    "field": (10.0, 0.01),
    "angle": (0.5, 0.0),
}


def _magnitudes(ds: xr.Dataset) -> dict[str, np.ndarray]:
    """temperature (K), field (Oe), angle (deg) where the file has them."""
    from .units import convert

    out: dict[str, np.ndarray] = {}
    for name, units in (("temperature", "K"), ("field", "Oe"), ("angle", "deg")):
        if name in ds and ds[name].attrs.get("units"):
            out[name] = np.asarray(convert(ds[name].values, ds[name].attrs["units"], units))
    return out


def _kind(ds: xr.Dataset, sweep: str | None) -> str:
    has_r = any(v in ds for v in ("R_xx", "R_xy", "rho_xx", "rho_xy"))
    has_m = "moment" in ds
    if sweep is None:
        return "log"
    if sweep == "temperature":
        return "rt" if has_r else "mt" if has_m else "temperature_sweep"
    if sweep == "field":
        return "field_loop" if has_r else "mh_loop" if has_m else "field_sweep"
    return "amr" if has_r else "rotation"


def find_segments(ds: xr.Dataset, *, min_points: int = 5) -> list[Segment]:
    """Where the measurements of a file begin and end.

    A segment is a run of rows in which one of temperature, field and angle
    sweeps while the others stay within :data:`TOLERANCES` of where they were
    when it began. A temperature sweep ends where it turns (a cool-down then a
    warm-up are two segments); a field sweep keeps its reversals (the branches
    of a loop) and ends when the temperature or the angle moves. Segments of
    fewer than ``min_points`` rows (the approach to the next measurement) are
    left out.

    Parameters
    ----------
    ds : xarray.Dataset
        What :func:`read_multivu` returns.
    min_points : int, default 5

    Returns
    -------
    list of Segment

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> from sloxide.multivu import find_segments
    >>> t = np.r_[np.linspace(300, 10, 30), np.linspace(10, 300, 30)]
    >>> ds = xr.Dataset({"temperature": ("time", t, {"units": "K"}),
    ...                  "moment": ("time", np.ones(60), {"units": "emu"}),
    ...                  "field": ("time", np.full(60, 1000.0), {"units": "Oe"})})
    >>> [(s.start, s.stop, s.measurement) for s in find_segments(ds)]
    [(0, 30, 'fc_magnetization'), (30, 60, 'mt')]
    """
    values = _magnitudes(ds)
    n = int(ds.sizes.get("time", 0))
    segments: list[Segment] = []
    i = 0
    while i < n:
        stop, sweep = _grow(values, i, n)
        if stop - i >= min_points:
            kind = _kind(ds, sweep)
            if sweep == "temperature" and kind == "mt":
                t = values["temperature"]
                if t[stop - 1] < t[i] and _fixed_field(values, i, stop):
                    kind = "fc_magnetization"
            segments.append(Segment(i, stop, sweep, kind))
        i = stop
    return segments


def _fixed_field(values: Mapping[str, np.ndarray], start: int, stop: int) -> bool:
    h = values.get("field")
    return h is not None and bool(np.nanmedian(np.abs(h[start:stop])) > TOLERANCES["field"][0])


def _tol(name: str, value: float) -> float:
    absolute, relative = TOLERANCES[name]
    return max(absolute, relative * abs(value)) if np.isfinite(value) else absolute


def _grow(values: Mapping[str, np.ndarray], i: int, n: int) -> tuple[int, str | None]:
    """(end of the segment that starts at row i, the swept quantity or None)."""
    ref = {k: v[i] for k, v in values.items()}
    sweep: str | None = None
    extreme = direction = 0.0
    for k in range(i + 1, n):
        moved = [
            name
            for name, v in values.items()
            if np.isfinite(v[k])
            and np.isfinite(ref[name])
            and abs(v[k] - ref[name]) > _tol(name, ref[name])
        ]
        if sweep is None:
            if not moved:
                continue
            sweep = max(
                moved, key=lambda name: abs(values[name][k] - ref[name]) / _tol(name, ref[name])
            )
            moved.remove(sweep)
            if moved:  # two quantities start moving together: a transition, one row
                return k, None
            direction = float(np.sign(values[sweep][k] - ref[sweep]))
            extreme = values[sweep][k]
            continue
        others = [name for name in moved if name != sweep]
        if others:
            return k, sweep
        v = values[sweep][k]
        if not np.isfinite(v):
            continue
        if sweep == "temperature":
            if (v - extreme) * direction > 0:
                extreme = v
            elif abs(v - extreme) > _tol(sweep, extreme):  # it turned: the sweep ended
                turn = int(np.argmax(values[sweep][i:k] * direction)) + i
                return turn + 1, sweep
    return n, sweep


def split_segments(ds: xr.Dataset, *, min_points: int = 5) -> list[xr.Dataset]:
    """The measurements of a file, each a Dataset with its ``sloxide`` context.

    Parameters
    ----------
    ds : xarray.Dataset
        What :func:`read_multivu` returns.
    min_points : int, default 5
        See :func:`find_segments`.

    Returns
    -------
    list of xarray.Dataset
        Each with ``attrs["sloxide"]`` as an acquired run has it (``measurement``,
        ``sample``, ``setpoints``, ``quantities``) plus ``source`` (file, sha256,
        segment index and rows).

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> from sloxide.multivu import split_segments
    >>> h = np.r_[np.linspace(0, 5e4, 11), np.linspace(4.5e4, -5e4, 20), np.linspace(-4.5e4, 5e4, 20)]
    >>> ds = xr.Dataset({"field": ("time", h, {"units": "Oe", "quantity": "field"}),
    ...                  "temperature": ("time", np.full(51, 5.0), {"units": "K"}),
    ...                  "moment": ("time", np.tanh(h / 1e3), {"units": "emu"})},
    ...                 attrs={"source_file": "loop.dat", "sha256": "0" * 64})
    >>> (segment,) = split_segments(ds)
    >>> segment.attrs["sloxide"]["measurement"], segment.attrs["sloxide"]["setpoints"]
    ('mh_loop', {'temperature_K': 5.0, 'field_max_T': 5.0})
    """
    out = []
    values = _magnitudes(ds)
    for index, segment in enumerate(find_segments(ds, min_points=min_points)):
        part = ds.isel(time=slice(segment.start, segment.stop))
        part.attrs = dict(ds.attrs)
        part.attrs["sloxide"] = _context(ds, part, segment, index, values)
        out.append(part)
    return out


def _sample(ds: xr.Dataset, sample: str | None) -> dict[str, Any]:
    from .model.samples import SAMPLES

    if sample is not None:
        if sample in SAMPLES:
            from .plans.context import sample_context

            return sample_context(sample)
        return {"name": sample}
    info = dict(ds.attrs.get("sample") or {})
    name = (
        info.get("name") or info.get("material") or Path(str(ds.attrs.get("source_file", ""))).stem
    )
    return {"name": str(name), **{k: v for k, v in info.items() if k != "name"}}


def _context(
    ds: xr.Dataset,
    part: xr.Dataset,
    segment: Segment,
    index: int,
    values: Mapping[str, np.ndarray],
) -> dict[str, Any]:
    rows = slice(segment.start, segment.stop)
    setpoints: dict[str, float] = {}

    def median(name: str) -> float:
        return float(np.nanmedian(values[name][rows]))

    if segment.sweep != "temperature" and "temperature" in values:
        setpoints["temperature_K"] = round(median("temperature"), 3)
    if segment.sweep != "field" and "field" in values:
        setpoints["field_T"] = round(median("field") * 1e-4, 6)
    if segment.sweep == "temperature":
        t = values["temperature"][rows]
        setpoints["start_K"], setpoints["stop_K"] = round(float(t[0]), 3), round(float(t[-1]), 3)
    if segment.sweep == "field":
        setpoints["field_max_T"] = round(float(np.nanmax(np.abs(values["field"][rows]))) * 1e-4, 6)
    if segment.sweep == "angle" and "angle" in values:
        a = values["angle"][rows]
        setpoints["start_deg"], setpoints["stop_deg"] = float(a[0]), float(a[-1])
    quantities = {
        str(name): str(var.attrs["quantity"])
        for name, var in part.data_vars.items()
        if "quantity" in var.attrs
    }
    return {
        "measurement": segment.measurement,
        "sample": {},
        "setpoints": setpoints,
        "quantities": quantities,
        "source": {
            "file": str(ds.attrs.get("source_file", "")),
            "sha256": str(ds.attrs.get("sha256", "")),
            "segment": index,
            "rows": [segment.start, segment.stop],
            "application": str(ds.attrs.get("application", "")),
        },
    }


# --------------------------------------------------------------------------- import


@dataclass
class ImportReport:
    """What one file's import did: the runs written and the ones already there."""

    path: str
    sha256: str
    written: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)


class _Collect:
    """Stands in for a RunEngine so :func:`sloxide.catalog.subscribe` hands over its writer."""

    def __init__(self) -> None:
        self.callbacks: list[Any] = []

    def subscribe(self, callback: Any) -> int:
        self.callbacks.append(callback)
        return len(self.callbacks)


def _documents(
    part: xr.Dataset, uid: str, start_time: float, md: Mapping[str, Any]
) -> list[tuple[str, Any]]:
    import event_model

    bundle = event_model.compose_run(uid=uid, time=start_time, metadata=dict(md))
    data_keys: dict[str, Any] = {}
    data: dict[str, list[Any]] = {}
    for name, var in part.data_vars.items():
        if var.dtype.kind not in "fiu":
            continue
        key: dict[str, Any] = {
            "source": f"multivu:{var.attrs.get('long_name', name)}",
            "dtype": "number",
            "shape": [],
        }
        if var.attrs.get("units"):
            key["units"] = str(var.attrs["units"])
        data_keys[str(name)] = key
        data[str(name)] = [float(v) for v in np.asarray(var.values, dtype=float)]
    descriptor = bundle.compose_descriptor(name="primary", data_keys=data_keys)
    n = int(part.sizes.get("time", 0))
    times = (
        [float(v) for v in np.asarray(part["time"].values, dtype=float)]
        if "time" in part.coords
        else [start_time + k for k in range(n)]
    )
    times = [t if np.isfinite(t) else start_time for t in times]
    page = descriptor.compose_event_page(
        data=data,
        timestamps={key: times for key in data},
        seq_num=list(range(1, n + 1)),
        time=times,
    )
    stop = bundle.compose_stop(exit_status="success", time=max(times) if times else start_time)
    return [
        ("start", bundle.start_doc),
        ("descriptor", descriptor.descriptor_doc),
        ("event_page", page),
        ("stop", stop),
    ]


def import_multivu(
    paths: Iterable[str | os.PathLike[str]],
    catalog: Any,
    *,
    sample: str | None = None,
    hall_bar: Mapping[str, float] | None = None,
    bridges: Mapping[str, int] | None = None,
    min_points: int = 5,
) -> list[ImportReport]:
    """Import MultiVu files into a catalog, one Bluesky run per measurement segment.

    Every file is read and split before anything is written, so a bad file
    writes nothing. Each segment becomes a run made with event-model (start,
    descriptor, one event page, stop) and stored through
    :func:`sloxide.catalog.subscribe`'s TiledWriter, as acquisition stores its
    runs. Its start document has the ``sloxide`` context of an acquired run
    (``measurement``, ``sample``, ``setpoints``, ``quantities``) plus ``source``:
    the file name, its sha256 and the segment. The run uid is derived from the
    sha256 and the segment, so a file imported again (under any name) adds
    nothing.

    Parameters
    ----------
    paths : iterable of path
        MultiVu ``.dat`` files.
    catalog : tiled client, str or os.PathLike
        What :func:`sloxide.catalog.open_catalog` returns, or a location to open.
    sample : str, optional
        The sample name for every run (a name of the sample table fills in n, m,
        thickness); default, the file's sample material or the file name.
    hall_bar : mapping, optional
        ``width_um`` and ``length_um`` of the Hall bar, stored as an acquired run's
        ``hall_bar`` context (what ``resistivity()`` needs) for runs with R columns.
    bridges : mapping, optional
        As in :func:`read_multivu`.
    min_points : int, default 5
        As in :func:`find_segments`.

    Returns
    -------
    list of ImportReport

    Raises
    ------
    MultiVuFormatError
        For a file that cannot be read (nothing of any file is written then).
    SloxideError
        For a file with no measurement in it.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> import numpy as np
    >>> from sloxide.catalog import open_catalog
    >>> from sloxide.multivu import import_multivu
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> rows = "".join(f",{k},{300 - k},0,{k * 1e-7}\\n" for k in range(20))
    >>> _ = (d / "mt.dat").write_text("[Header]\\nBYAPP, VSM, 1.0\\n[Data]\\n"
    ...     "Comment,Time Stamp (sec),Temperature (K),Magnetic Field (Oe),Moment (emu)\\n" + rows)
    >>> catalog = open_catalog(d / "catalog", create=True)
    >>> (report,) = import_multivu([d / "mt.dat"], catalog, sample="C10/L6")
    >>> len(report.written), len(import_multivu([d / "mt.dat"], catalog)[0].skipped)
    (1, 1)
    >>> catalog[report.written[0]].metadata["start"]["sloxide"]["measurement"]
    'mt'
    """
    from .catalog import open_catalog, subscribe

    prepared = []
    for path in paths:
        ds = read_multivu(path, bridges=bridges)
        parts = split_segments(ds, min_points=min_points)
        if not parts:
            raise SloxideError(
                f"{path}: no measurement found ({ds.sizes.get('time', 0)} data rows; a segment "
                f"needs {min_points} rows in which temperature, field or angle sweeps or holds)"
            )
        prepared.append((Path(path), ds, parts))
    if isinstance(catalog, str | os.PathLike):
        catalog = open_catalog(catalog)
    collect = _Collect()
    subscribe(collect, catalog)
    (writer,) = collect.callbacks
    reports = []
    for path, ds, parts in prepared:
        sha = str(ds.attrs["sha256"])
        report = ImportReport(str(path), sha)
        for index, part in enumerate(parts):
            uid = str(uuid.uuid5(uuid.NAMESPACE_URL, f"sloxide-multivu:{sha}:{index}"))
            if uid in catalog:
                report.skipped.append(uid)
                continue
            context = dict(part.attrs["sloxide"])
            context["sample"] = _sample(ds, sample)
            if hall_bar is not None and any(k in part for k in ("R_xx", "R_xy")):
                context["hall_bar"] = {str(k): float(v) for k, v in hall_bar.items()}
            md = {
                "plan_name": "multivu_import",
                "plan_args": {"file": path.name, "segment": index},
                "sloxide": context,
                "title": str(ds.attrs.get("title", "")),
            }
            first = float(part["time"].values[0]) if "time" in part.coords else np.nan
            start_time = (
                first if np.isfinite(first) else float(ds.attrs.get("file_open_timestamp", 0.0))
            )
            documents = _documents(part, uid, start_time, md)
            try:
                for name, doc in documents:
                    writer(name, doc)
            except Exception:
                _forget(catalog, uid)
                raise
            report.written.append(uid)
        reports.append(report)
    return reports


def _forget(catalog: Any, uid: str) -> None:
    """Remove a run whose writing failed half-way (best effort)."""
    try:
        if uid in catalog:
            catalog.delete(uid)
    except Exception:  # pragma: no cover - nothing more to do
        pass
