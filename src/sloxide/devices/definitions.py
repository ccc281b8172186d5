"""Device definitions: which instruments exist, of which class, and where they connect.

A facility says what its lab is in a small TOML file (the top-level ``devices/``
directory ships three), so changing a PV prefix or a ramp rate needs no Python::

    # devices/epics-transport-lab.toml
    [devices.cryostat]
    class = "sloxide.devices.cryostat.EpicsCryostat"
    prefix = "SLX:"
    settings = { "field.rate" = 0.02 }   # T/s: sets the move timeout

    [devices.hallbar]
    class = "sloxide.devices.hallbar.EpicsHallBar"
    prefix = "SLX:"

Each ``[devices.NAME]`` table makes one ophyd device called ``NAME``:

``class``
    The import path of an ophyd ``Device`` class.
``prefix``
    The PV prefix, for EPICS classes (required there, refused elsewhere).
``settings``
    Component values put after construction, by dotted component name
    (``"field.rate"``, ``"current"``): tolerances, rates, timeouts, excitation.

Simulated classes (those taking ``world=``) share one
:class:`~sloxide.simulation.world.SimWorld` made from the optional ``[world]``
table (``sample``, ``mode``, ``seed``), as the instruments of one lab share one
sample. Quantum Design classes (those taking ``multivu=``) share one
:class:`~sloxide.devices.quantum_design.MultiVuConnection` made from the
optional ``[multipyvu]`` table (``host``, ``port``, ``platform``,
``max_field_T``), one client per MultiPyVu server.

Why not happi, the device database of LCLS? Its loader builds every item on its
own from JSON keyword arguments, so the four simulated instruments could not
share one ``SimWorld`` without a process-global registry, and it would add a
dependency most Bluesky deployments do not use. TOML is read by the standard
library (:mod:`tomllib`) and every key is checked here.
"""

from __future__ import annotations

import importlib
import inspect
import os
import tomllib
from pathlib import Path
from typing import Any

from ..errors import SloxideError

__all__ = ["DeviceDefinitionError", "load_devices"]

_DEVICE_KEYS = {"class", "prefix", "settings"}
_WORLD_KEYS = {"sample", "mode", "seed"}
_MULTIVU_KEYS = {"host", "port", "platform", "max_field_T"}


class DeviceDefinitionError(SloxideError):
    """A device definition file that cannot be read, or a device it names that cannot be made.

    Examples
    --------
    >>> from sloxide.devices.definitions import DeviceDefinitionError
    >>> from sloxide.errors import SloxideError
    >>> issubclass(DeviceDefinitionError, SloxideError)
    True
    """


def load_devices(
    path: str | os.PathLike[str], *, connect: bool = False, timeout: float = 5.0
) -> dict[str, Any]:
    """Make the devices a definition file describes.

    Parameters
    ----------
    path : str or os.PathLike
        A TOML device definition file (see the module documentation).
    connect : bool, default False
        Wait for every device to connect (EPICS), and report all that did not
        in one error. Simulated devices are always connected.
    timeout : float, default 5.0
        Seconds to wait per device when ``connect`` is true.

    Returns
    -------
    dict
        Device name -> ophyd device, in file order.

    Raises
    ------
    DeviceDefinitionError
        For a missing or malformed file, an unknown key, a class that cannot be
        imported or is not an ophyd device, a missing or unexpected ``prefix``,
        a setting naming no component, or devices that did not connect.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from sloxide.devices.definitions import load_devices
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "lab.toml"
    >>> _ = path.write_text('''
    ... [world]
    ... sample = "C2/L6"
    ... [devices.cryostat]
    ... class = "sloxide.devices.cryostat.SimCryostat"
    ... settings = { "temperature.tolerance" = 0.1 }
    ... [devices.hallbar]
    ... class = "sloxide.devices.hallbar.SimHallBar"
    ... ''')
    >>> devices = load_devices(path)
    >>> sorted(devices), devices["hallbar"].world is devices["cryostat"].world
    (['cryostat', 'hallbar'], True)
    >>> devices["cryostat"].world.sample.name, devices["cryostat"].temperature.tolerance.get()
    ('C2/L6', 0.1)
    """
    path = Path(path)
    definitions = _read(path)
    world_spec = definitions.pop("world", {})
    multivu_spec = definitions.pop("multipyvu", None)
    tables = definitions.pop("devices", None)
    if definitions:
        raise DeviceDefinitionError(
            f"{path}: unknown top-level table(s) {sorted(definitions)}; a device definition "
            "file has [world], [multipyvu] and [devices.NAME] tables"
        )
    if not isinstance(tables, dict) or not tables:
        raise DeviceDefinitionError(
            f"{path}: no devices; add a [devices.NAME] table with class = "
            '"sloxide.devices.cryostat.SimCryostat" (or another ophyd Device class)'
        )
    world: Any = None
    multivu: Any = None
    devices: dict[str, Any] = {}
    for name, spec in tables.items():
        cls = _device_class(path, name, spec)
        kwargs: dict[str, Any] = {"name": name}
        takes_world = "world" in inspect.signature(cls.__init__).parameters
        if takes_world:
            world = world if world is not None else _make_world(path, world_spec)
            kwargs["world"] = world
        if "multivu" in inspect.signature(cls.__init__).parameters:
            multivu = multivu if multivu is not None else _make_multivu(path, multivu_spec)
            kwargs["multivu"] = multivu
        prefix = spec.get("prefix")
        if takes_world and prefix is not None:
            raise DeviceDefinitionError(
                f"{path}: [devices.{name}] is simulated ({cls.__name__}) and takes no prefix; "
                "remove it, or choose an Epics class"
            )
        if cls.__name__.startswith("Epics") and not prefix:
            raise DeviceDefinitionError(
                f"{path}: [devices.{name}] ({cls.__name__}) needs its PV prefix: "
                'add prefix = "..." (e.g. "SLX:")'
            )
        try:
            device = cls(prefix or "", **kwargs)
        except Exception as exc:
            raise DeviceDefinitionError(
                f"{path}: cannot make [devices.{name}] ({cls.__name__}): {exc}"
            ) from exc
        _apply_settings(path, name, device, spec.get("settings", {}))
        devices[name] = device
    if world_spec and world is None:
        raise DeviceDefinitionError(
            f"{path}: a [world] table but no simulated device to use it; remove [world]"
        )
    if multivu_spec is not None and multivu is None:
        raise DeviceDefinitionError(
            f"{path}: a [multipyvu] table but no Quantum Design device to use it; remove it"
        )
    if connect:
        _connect(path, devices, timeout)
    return devices


def _read(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as file:
            return tomllib.load(file)
    except FileNotFoundError:
        raise DeviceDefinitionError(
            f"no device definition file at {str(path)!r}; see the devices/ directory for "
            "examples (sim-lab.toml, epics-transport-lab.toml, epics-beamline.toml)"
        ) from None
    except tomllib.TOMLDecodeError as exc:
        raise DeviceDefinitionError(f"{path} is not valid TOML: {exc}") from None


def _check_table(path: Path, table: str, spec: Any, allowed: Any) -> None:
    """A definition's table is a table of known keys, or one error naming file and key."""
    if not isinstance(spec, dict):
        raise DeviceDefinitionError(f"{path}: [{table}] must be a table")
    unknown = set(spec) - set(allowed)
    if unknown:
        raise DeviceDefinitionError(
            f"{path}: [{table}] has unknown key(s) {sorted(unknown)}; allowed: {sorted(allowed)}"
        )


def _device_class(path: Path, name: str, spec: Any) -> Any:
    from ophyd import Device

    _check_table(path, f"devices.{name}", spec, _DEVICE_KEYS)
    dotted = spec.get("class")
    if not isinstance(dotted, str) or "." not in dotted:
        raise DeviceDefinitionError(
            f'{path}: [devices.{name}] needs class = "package.module.Class"'
        )
    module_name, _, class_name = dotted.rpartition(".")
    try:
        cls = getattr(importlib.import_module(module_name), class_name)
    except (ImportError, AttributeError) as exc:
        raise DeviceDefinitionError(
            f"{path}: [devices.{name}] class {dotted!r} cannot be imported ({exc})"
        ) from None
    if not (isinstance(cls, type) and issubclass(cls, Device)):
        raise DeviceDefinitionError(
            f"{path}: [devices.{name}] class {dotted!r} is not an ophyd Device"
        )
    return cls


def _make_world(path: Path, spec: Any) -> Any:
    from ..simulation.world import SimWorld

    if not isinstance(spec, dict):
        raise DeviceDefinitionError(f"{path}: [world] must be a table")
    unknown = set(spec) - _WORLD_KEYS
    if unknown:
        raise DeviceDefinitionError(
            f"{path}: [world] has unknown key(s) {sorted(unknown)}; allowed: {sorted(_WORLD_KEYS)}"
        )
    try:
        return SimWorld(**spec)
    except (TypeError, ValueError) as exc:
        raise DeviceDefinitionError(f"{path}: [world] {exc}") from None


def _make_multivu(path: Path, spec: Any) -> Any:
    from .quantum_design import MultiVuConnection

    spec = {} if spec is None else spec
    _check_table(path, "multipyvu", spec, _MULTIVU_KEYS)
    try:
        return MultiVuConnection.shared(**spec)
    except (TypeError, ValueError) as exc:
        raise DeviceDefinitionError(f"{path}: [multipyvu] {exc}") from None


def _apply_settings(path: Path, name: str, device: Any, settings: Any) -> None:
    if not isinstance(settings, dict):
        raise DeviceDefinitionError(
            f'{path}: [devices.{name}] settings must be a table, e.g. {{ "field.rate" = 0.02 }}'
        )
    for dotted, value in settings.items():
        component = device
        for part in dotted.split("."):
            if part not in getattr(component, "component_names", ()):
                raise DeviceDefinitionError(
                    f"{path}: [devices.{name}] setting {dotted!r}: {name} has no component "
                    f"{dotted!r}; its components are {list(device.component_names)}"
                )
            component = getattr(component, part)
        try:
            component.put(value)
        except Exception as exc:
            raise DeviceDefinitionError(
                f"{path}: [devices.{name}] setting {dotted!r} = {value!r} failed: {exc}"
            ) from exc


def _connect(path: Path, devices: dict[str, Any], timeout: float) -> None:
    failed = []
    for name, device in devices.items():
        try:
            device.wait_for_connection(timeout=timeout)
        except TimeoutError as exc:
            failed.append(f"{name} ({exc})")
        except SloxideError as exc:  # a MultiPyVu server not running: its own clear message
            raise DeviceDefinitionError(f"{path}: [devices.{name}] {exc}") from None
    if failed:
        raise DeviceDefinitionError(
            f"{path}: not connected within {timeout:g} s: {'; '.join(failed)}. Check that the "
            "IOCs are running and EPICS_CA_ADDR_LIST reaches them, or the prefixes in the file"
        )
