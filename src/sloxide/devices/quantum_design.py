"""Quantum Design PPMS, DynaCool and MPMS3 through MultiPyVu, on the one movable contract.

MultiPyVu (Quantum Design, MIT licence; ``pip install 'sloxide[qd]'``) talks to a
``MultiPyVu.Server`` that runs next to MultiVu on the instrument's Windows
computer. The classes here are the ``QD…`` variants of the sloxide instruments,
with the same component names and data keys as the ``Sim…`` and ``Epics…`` ones
(``cryostat_temperature``, ``cryostat_field`` in T, ``hallbar_R_xx``,
``hallbar_R_xy``, ``rotator_angle``), so plans, reader, live reduction and
accessor work unchanged:

:class:`QDCryostat`
    ``temperature`` (K; rate and approach mode ``fast_settle``/``no_overshoot``)
    and ``field`` (µ0H in T, sent to MultiVu in Oe; rate, approach mode
    ``linear``/``no_overshoot``/``oscillate`` and magnet ``mode``
    ``driven``/``persistent``, persistent on the PPMS only).
:class:`QDHallBar`
    Two BRT (resistivity option) bridges as ``R_xx`` and ``R_xy``; which bridge is
    which is config (``R_xx_bridge``, ``R_xy_bridge``), set in the device
    definition, as are the excitation ``current`` (µA, sent to both bridges when
    the Hall bar is staged) and the Hall-bar geometry (``width_um``, ``length_um``).
:class:`QDRotator`
    The horizontal rotator ``angle`` (deg, −10° to 370°).

All devices of one server share one :class:`MultiVuConnection` (one client per
server, serialized by a lock; reconnects after an error). A server that is not
running gives one :class:`MultiVuConnectionError` at connect.

Status mapping
--------------
A move is done when MultiVu reports a *done* status **and** the readback has
stayed within the tolerance band for ``settle_time``; it fails at once on a
*failed* status, and with a timeout after ``|Δ|/rate + timeout_margin``.
Checking the band as well as the status guards against the stale "Stable"
MultiVu reports for a moment after a new setpoint. MultiVu's own ``WaitFor``
counts the error codes as settled, so that it never blocks; sloxide reports
them as a failed move instead. The strings are MultiPyVu's own (``STATE_DICT``
in ``CommandTemperature``, ``CommandField`` and ``CommandRotator``); a test
checks that every one of them is in this table. A string MultiPyVu does not
define (the client puts its error messages there) is a communication error.

=========== ======================================= =======
subsystem   MultiVu status                          verdict
=========== ======================================= =======
temperature Stable                                  done
temperature Tracking, Near, Chasing, Pot Operation  moving
temperature Standby                                 moving
temperature Diagnostic, Impedance Control Error,    failed
            General Failure
field       Stable, Holding (driven)                done
field       Unknown, Switch Warming, Switch         moving
            Cooling, Iterate, Ramping, Resetting
field       Current Error, Switch Error, Quenching, failed
            Charging Error, PSU Error, General
            Failure
rotator     Transport stopped at set point          done
rotator     Unknown, Calibrating, Transport moving  moving
            toward set point, Transport hit index
            switch
rotator     Transport hit limit switch, General     failed
            failure in position control system,
            Unrecognized status code
=========== ======================================= =======

"Standby" (temperature control idle) and "Transport hit index switch" (the
rotator's home reference, passed while moving) are not errors, so they do not
fail a move; a move that never leaves them ends in the timeout, whose error
names the last status. "Quenching" also raises the cryostat's ``quench`` flag,
which the quench suspender watches.

What MultiPyVu cannot do: it has no command for the VSM or SQUID moment, so
``QDCryostat.moment`` reads NaN; M(T) and M(H) from an MPMS3 or a PPMS VSM come
in as MultiVu files (:func:`sloxide.io.read_multivu`, ``sloxide import``). The
MPMS3 has no BRT bridges and no rotator: :class:`QDHallBar` and
:class:`QDRotator` refuse it when they connect.

Examples
--------
>>> from sloxide.devices.quantum_design import classify, STATUS
>>> classify("field", "Holding (driven)"), classify("temperature", "Near")
('done', 'moving')
>>> classify("field", "Quenching")
'failed'
>>> sorted(STATUS)
['field', 'rotator', 'temperature']
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Mapping
from typing import Any, ClassVar

from ophyd import Component as Cpt
from ophyd import Kind, Signal
from ophyd.status import Status

from ..errors import SloxideError
from ..model.samples import HALL_BAR
from .cryostat import Cryostat, FieldAxis, TemperatureAxis
from .hallbar import HallBar
from .positioner import LimitError, _end
from .rotator import AngleAxis, Rotator
from .signals import UnitSignal

__all__ = [
    "DONE",
    "MOVING",
    "FAILED",
    "STATUS",
    "PLATFORMS",
    "classify",
    "QuantumDesignError",
    "MultiVuConnectionError",
    "MultiVuMoveError",
    "MultiVuConnection",
    "QDCryostat",
    "QDHallBar",
    "QDRotator",
    "lab",
]

DONE, MOVING, FAILED = "done", "moving", "failed"

#: MultiVu status string -> verdict, per subsystem (see the module documentation).
STATUS: dict[str, dict[str, str]] = {
    "temperature": {
        "Stable": DONE,
        "Tracking": MOVING,
        "Near": MOVING,
        "Chasing": MOVING,
        "Pot Operation": MOVING,
        "Standby": MOVING,
        "Diagnostic": FAILED,
        "Impedance Control Error": FAILED,
        "General Failure": FAILED,
    },
    "field": {
        "Unknown": MOVING,
        "Stable": DONE,
        "Switch Warming": MOVING,
        "Switch Cooling": MOVING,
        "Holding (driven)": DONE,
        "Iterate": MOVING,
        "Ramping": MOVING,
        "Resetting": MOVING,
        "Current Error": FAILED,
        "Switch Error": FAILED,
        "Quenching": FAILED,
        "Charging Error": FAILED,
        "PSU Error": FAILED,
        "General Failure": FAILED,
    },
    "rotator": {
        "Unknown": MOVING,
        "Transport stopped at set point": DONE,
        "Calibrating": MOVING,
        "Unrecognized status code": FAILED,
        "Transport moving toward set point": MOVING,
        "Transport hit limit switch": FAILED,
        "Transport hit index switch": MOVING,
        "General failure in position control system": FAILED,
    },
}

#: What each MultiVu flavour has: BRT bridges, horizontal rotator, persistent magnet
#: mode, and the largest field in T (the common magnet; set ``max_field_T`` for others).
PLATFORMS: dict[str, dict[str, Any]] = {
    "PPMS": {"bridges": True, "rotator": True, "persistent": True, "max_field_T": 9.0},
    "DYNACOOL": {"bridges": True, "rotator": True, "persistent": False, "max_field_T": 9.0},
    "VERSALAB": {"bridges": True, "rotator": True, "persistent": False, "max_field_T": 3.0},
    "MPMS3": {"bridges": False, "rotator": False, "persistent": False, "max_field_T": 7.0},
    "OPTICOOL": {"bridges": False, "rotator": False, "persistent": False, "max_field_T": 7.0},
}

OE_PER_T = 1e4  # µ0H: 1 Oe <-> 1e-4 T (PHYSICS.md §0)
TEMPERATURE_RATE_K_PER_MIN = (0.01, 20.0)  # what MultiVu accepts
BRT_OK = "Call was successful"


def classify(subsystem: str, status: str) -> str:
    """The verdict on a MultiVu status string: ``"done"``, ``"moving"`` or ``"failed"``.

    Parameters
    ----------
    subsystem : {"temperature", "field", "rotator"}
    status : str
        As ``MultiPyVu.Client.get_temperature()`` etc. return it.

    Returns
    -------
    str
        ``"failed"`` also for a string MultiPyVu does not define.

    Examples
    --------
    >>> from sloxide.devices.quantum_design import classify
    >>> classify("temperature", "General Failure"), classify("rotator", "Calibrating")
    ('failed', 'moving')
    """
    return STATUS[subsystem].get(status, FAILED)


class QuantumDesignError(SloxideError):
    """An error from a Quantum Design instrument or its MultiPyVu server.

    Examples
    --------
    >>> from sloxide.devices.quantum_design import QuantumDesignError, MultiVuConnectionError
    >>> issubclass(MultiVuConnectionError, QuantumDesignError)
    True
    """


class MultiVuConnectionError(QuantumDesignError):
    """No MultiPyVu server answering, or the connection broke."""


class MultiVuMoveError(QuantumDesignError):
    """MultiVu reported a failure status during a move (a quench, a control error)."""


def _quiet_logging(display_logger_name: bool = True) -> None:
    """The client logger only: no QdMultiVu.log in the working directory, no console."""
    import logging

    logger = logging.getLogger("MultiVuClient")
    if not any(isinstance(h, logging.NullHandler) for h in logger.handlers):
        logger.addHandler(logging.NullHandler())
    logger.propagate = False


def _multipyvu() -> Any:
    try:
        import MultiPyVu
        import MultiPyVu.MultiVuClient_base as client_base
    except ImportError:
        raise QuantumDesignError(
            "the Quantum Design devices need MultiPyVu: pip install 'sloxide[qd]'"
        ) from None
    # MultiPyVu's setup_logging() (run by every Client.open()) reconfigures logging for
    # the whole process: it removes the root handlers, disables every logger that
    # exists (bluesky's, pytest's capture) and writes QdMultiVu.log into the working
    # directory. A library inside a RunEngine session must not, so the client gets
    # a quiet logger of its own instead.
    client_base.setup_logging = _quiet_logging
    return MultiPyVu


class MultiVuConnection:
    """The one MultiPyVu client of a server, shared by every device that uses it.

    Calls are serialized by a lock (a client is one socket). After any error the
    client is closed and the next call connects again, so a restarted server is
    picked up; a server that is not running gives one
    :class:`MultiVuConnectionError`. Nothing is sent until the first call or
    :meth:`connect`.

    Parameters
    ----------
    host : str, default "localhost"
        The computer running ``MultiPyVu.Server``.
    port : int, default 27183
        Its port (MultiPyVu's default).
    platform : str, optional
        The MultiVu flavour expected (``"PPMS"``, ``"DYNACOOL"``, ``"MPMS3"``, ...);
        checked against what the server reports at connect.
    max_field_T : float, optional
        The magnet's largest field; default that of the platform.

    Examples
    --------
    >>> from sloxide.devices.quantum_design import MultiVuConnection
    >>> a = MultiVuConnection.shared(port=27999, platform="PPMS")
    >>> a is MultiVuConnection.shared(port=27999), a.max_field_T
    (True, 9.0)
    """

    _registry: ClassVar[dict[tuple[str, int], MultiVuConnection]] = {}
    _registry_lock: ClassVar[threading.Lock] = threading.Lock()

    def __init__(
        self,
        host: str = "localhost",
        port: int = 27183,
        platform: str | None = None,
        max_field_T: float | None = None,
    ) -> None:
        if platform is not None and platform.upper() not in PLATFORMS:
            raise QuantumDesignError(
                f"unknown Quantum Design platform {platform!r}; use one of {sorted(PLATFORMS)}"
            )
        self.host = str(host)
        self.port = int(port)
        self.expected_platform = platform.upper() if platform else None
        self._max_field_T = None if max_field_T is None else float(max_field_T)
        self._client: Any = None
        self._lock = threading.RLock()
        self.server_platform: str | None = None

    @classmethod
    def shared(
        cls,
        host: str = "localhost",
        port: int = 27183,
        platform: str | None = None,
        max_field_T: float | None = None,
    ) -> MultiVuConnection:
        """The connection to ``host:port``, made once per process."""
        key = (str(host), int(port))
        with cls._registry_lock:
            connection = cls._registry.get(key)
            if connection is None:
                connection = cls(host, port, platform, max_field_T)
                cls._registry[key] = connection
            else:
                if platform is not None:
                    connection.expected_platform = platform.upper()
                if max_field_T is not None:
                    connection._max_field_T = float(max_field_T)
            return connection

    # ------------------------------------------------------------------ state

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    @property
    def platform(self) -> str:
        """The server's flavour once connected, else the one expected (default PPMS)."""
        return self.server_platform or self.expected_platform or "PPMS"

    @property
    def max_field_T(self) -> float:
        if self._max_field_T is not None:
            return self._max_field_T
        return float(PLATFORMS[self.platform]["max_field_T"])

    @property
    def connected(self) -> bool:
        return self._client is not None

    def has(self, option: str) -> bool:
        """Whether the platform has ``"bridges"``, ``"rotator"`` or ``"persistent"``."""
        return bool(PLATFORMS.get(self.platform, {}).get(option, False))

    # ------------------------------------------------------------------ connect

    def connect(self) -> None:
        """Connect now (a no-op when connected).

        Raises
        ------
        MultiVuConnectionError
            No server at the address, or a server of another platform.
        """
        with self._lock:
            if self._client is not None:
                return
            mpv = _multipyvu()
            client = mpv.Client(host=self.host, port=self.port)
            try:
                client.open()
            except BaseException as exc:  # MultiPyVu raises SystemExit on some socket errors
                if isinstance(exc, KeyboardInterrupt):
                    raise
                raise MultiVuConnectionError(
                    f"no MultiPyVu server answers at {self.address} "
                    f"({type(exc).__name__}: {exc}); "
                    "start it on the MultiVu computer (python -m MultiPyVu) and check the "
                    "host and port in the device definition"
                ) from None
            name = str(getattr(client, "instrument_name", "") or "").upper()
            if self.expected_platform and name and name != self.expected_platform:
                self._close_quietly(client)
                raise MultiVuConnectionError(
                    f"the MultiPyVu server at {self.address} runs {name}, but the device "
                    f"definition says platform = {self.expected_platform!r}; correct it"
                )
            self.server_platform = name or self.expected_platform
            self._client = client

    def close(self) -> None:
        """Close the client (the server keeps running)."""
        with self._lock:
            client, self._client = self._client, None
        if client is not None:
            self._close_quietly(client)

    @staticmethod
    def _close_quietly(client: Any) -> None:
        try:
            client.close_client()
        except BaseException as exc:  # a dead socket, or MultiPyVu's sys.exit
            if isinstance(exc, KeyboardInterrupt):
                raise

    def call(self, method: str, *args: Any) -> Any:
        """Call a client method by dotted name, e.g. ``"resistivity.get_resistance"``.

        Raises
        ------
        MultiVuConnectionError
            The server cannot be reached or the call broke the connection.
        QuantumDesignError
            MultiVu refused the command (``MultiPyVuError``).
        """
        mpv = _multipyvu()
        with self._lock:
            self.connect()
            target: Any = self._client
            for part in method.split("."):
                target = getattr(target, part)
            try:
                return target(*args)
            except BaseException as exc:
                if isinstance(exc, KeyboardInterrupt):
                    raise
                client, self._client = self._client, None
                if client is not None:
                    self._close_quietly(client)
                if isinstance(exc, mpv.MultiPyVuError) or isinstance(exc, ValueError):
                    raise QuantumDesignError(
                        f"MultiVu at {self.address} refused {method}{args}: {exc}"
                    ) from None
                raise MultiVuConnectionError(
                    f"lost the MultiPyVu server at {self.address} during {method} "
                    f"({type(exc).__name__}: {exc}); check that it still runs"
                ) from None

    def enum(self, module: str, name: str, member: str) -> Any:
        """A member of one of MultiPyVu's enums, e.g. ``("CommandField", "ApproachEnum", "linear")``."""
        import importlib

        _multipyvu()
        cls = getattr(importlib.import_module(f"MultiPyVu.{module}"), name)
        try:
            return cls[member]
        except KeyError:
            raise QuantumDesignError(
                f"{member!r} is not one of MultiPyVu's {name} {[m.name for m in cls]}"
            ) from None


def _connection_of(device: Any) -> MultiVuConnection:
    return device.root.multivu


class _PushedSignal(UnitSignal):
    """A signal whose value arrives with a server answer; subscribers hear of changes."""

    def _update(self, value: Any) -> None:
        old: Any = getattr(self, "_readback", None)
        self._readback = value
        if value != old:
            self._run_subs(
                sub_type=self.SUB_VALUE, old_value=old, value=value, timestamp=time.time()
            )


class _Readback(_PushedSignal):
    """The readback of a MultiVu axis: every ``get()`` asks the server.

    While somebody subscribes (a suspender), a daemon thread asks every
    ``monitor_period`` seconds, as an EPICS monitor would push: a suspender that
    tripped must see the value come back, and nothing else reads while the
    RunEngine waits for it.
    """

    monitor_period: ClassVar[float] = 1.0
    _monitor: threading.Thread | None = None

    def get(self, **kwargs: Any) -> Any:
        value, _ = self.parent.query()
        return value

    def subscribe(self, callback: Any, event_type: Any = None, run: bool = True) -> int:
        cid = super().subscribe(callback, event_type=event_type, run=run)
        if getattr(self, "_monitor", None) is None:
            self._monitor = threading.Thread(target=self._poll, daemon=True)
            self._monitor.start()
        return int(cid)

    def _poll(self) -> None:
        while self._callbacks[self.SUB_VALUE]:
            time.sleep(self.monitor_period)
            try:
                self.parent.query()
            except Exception:  # the moves and reads report a dead server; keep watching
                continue
        self._monitor = None


class _MultiVuAxis:
    """Mixin: a :class:`~sloxide.devices.positioner.Positioner` driven through MultiPyVu."""

    subsystem: ClassVar[str] = ""
    getter: ClassVar[str] = ""
    poll_period: ClassVar[float] = 0.1

    name: str
    egu: str
    readback: Any
    setpoint: Any
    rate: Any
    _move_lock: threading.Lock
    _status: Status | None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.last_status: str = ""
        self._synced = False

    # conversions between sloxide's units and MultiVu's
    def _from_multivu(self, value: float) -> float:
        return float(value)

    def _send(self, target: float) -> None:
        raise NotImplementedError

    def query(self) -> tuple[float, str]:
        """A fresh (value in ``egu``, MultiVu status string) from the server."""
        raw, status = _connection_of(self).call(self.getter)
        status = str(status)
        if status not in STATUS[self.subsystem]:
            raise MultiVuConnectionError(
                f"{self.name}: MultiPyVu answered {status!r}, not a {self.subsystem} status "
                "it defines: the connection or the server is in trouble"
            )
        value = self._from_multivu(float(raw))
        self.last_status = status
        if not self._synced:
            # Start from where the instrument is, as the sims do: a setpoint left at the
            # class default would read as an excursion to the suspenders.
            self._synced = True
            self.setpoint.put(value)
        self.readback._update(value)
        return value, status

    def _after_setpoint(self, value: float) -> None:
        self._send(value)

    def _in_band(self, target: float) -> bool:
        value, status = self.query()
        band = self.band(target)  # type: ignore[attr-defined]
        return classify(self.subsystem, status) == DONE and abs(value - target) <= band

    def _watch(self, status: Status, target: float) -> None:
        in_band_since: float | None = None
        while not status.done:
            try:
                value, text = self.query()
            except Exception as exc:  # a dead server ends the move, never hangs it
                _end(status, exc)
                return
            verdict = classify(self.subsystem, text)
            if verdict == FAILED:
                _end(
                    status,
                    MultiVuMoveError(
                        f"{self.name}: MultiVu reports {text!r} at {value:g} {self.egu} on the "
                        f"way to {target:g} {self.egu}; the move failed. Check the instrument "
                        "in MultiVu"
                    ),
                )
                return
            now = time.monotonic()
            if verdict == DONE and abs(value - target) <= self.band(target):  # type: ignore[attr-defined]
                in_band_since = now if in_band_since is None else in_band_since
                if now - in_band_since >= float(self.settle_time.get()):  # type: ignore[attr-defined]
                    _end(status, None)
                    return
            else:
                in_band_since = None
            time.sleep(self.poll_period)

    def stop(self, *, success: bool = False) -> None:
        with self._move_lock:
            status = self._status
        try:
            super().stop(success=success)  # type: ignore[misc]
        except QuantumDesignError as exc:  # nothing to hold with: end the move all the same
            with self._move_lock:
                self._status = None
            if status is not None:
                _end(status, exc)


class QDTemperatureAxis(_MultiVuAxis, TemperatureAxis):
    """The MultiVu temperature: rate in K/s (MultiVu takes 0.01–20 K/min), approach mode."""

    subsystem = "temperature"
    getter = "get_temperature"
    limits = (1.8, 400.0)
    readback = Cpt(_Readback, value=300.0, kind=Kind.hinted)
    approach = Cpt(Signal, value="fast_settle", kind=Kind.config)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.rate.put(10.0 / 60)  # 10 K/min
        self.timeout_margin.put(300.0)  # MultiVu's "Near" -> "Stable" takes minutes

    def _check_target(self, target: float) -> None:
        per_min = float(self.rate.get()) * 60
        low, high = TEMPERATURE_RATE_K_PER_MIN
        if not low <= per_min <= high:
            raise LimitError(
                f"{self.name}: rate {per_min:g} K/min is outside what MultiVu accepts "
                f"({low:g}–{high:g} K/min); set {self.name}.rate in K/s, e.g. "
                f"{self.name}.rate.put({10 / 60:.4f}) for 10 K/min"
            )
        _connection_of(self).enum("CommandTemperature", "ApproachEnum", self.approach.get())

    def _send(self, target: float) -> None:
        connection = _connection_of(self)
        mode = connection.enum("CommandTemperature", "ApproachEnum", self.approach.get())
        connection.call("set_temperature", target, float(self.rate.get()) * 60, mode)


class QDFieldAxis(_MultiVuAxis, FieldAxis):
    """The MultiVu field: µ0H in T (MultiVu's Oe / 1e4); rate in T/s; approach and magnet mode."""

    subsystem = "field"
    getter = "get_field"
    readback = Cpt(_Readback, value=0.0, kind=Kind.hinted)
    approach = Cpt(Signal, value="linear", kind=Kind.config)
    mode = Cpt(Signal, value="driven", kind=Kind.config)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.rate.put(0.01)  # 100 Oe/s
        self.timeout_margin.put(60.0)
        limit = _connection_of(self).max_field_T
        self.limits = (-limit, limit)  # type: ignore[misc]

    def _from_multivu(self, value: float) -> float:
        return float(value) / OE_PER_T

    def query(self) -> tuple[float, str]:
        value, status = super().query()
        self.root.quench._update(int(status == "Quenching"))
        return value, status

    def _check_target(self, target: float) -> None:
        rate = float(self.rate.get())
        if not (math.isfinite(rate) and rate > 0):
            raise LimitError(f"{self.name}: rate must be a positive number of T/s, got {rate!r}")
        connection = _connection_of(self)
        connection.enum("CommandField", "ApproachEnum", self.approach.get())
        mode = self.mode.get()
        connection.enum("CommandField", "drivenEnum", mode)
        if mode == "persistent" and not connection.has("persistent"):
            raise LimitError(
                f"{self.name}: the {connection.platform} drives its magnet only in driven "
                f'mode; set {self.name}.mode to "driven"'
            )

    def _send(self, target: float) -> None:
        connection = _connection_of(self)
        approach = connection.enum("CommandField", "ApproachEnum", self.approach.get())
        mode = connection.enum("CommandField", "drivenEnum", self.mode.get())
        rate = float(self.rate.get()) * OE_PER_T
        connection.call("set_field", target * OE_PER_T, rate, approach, mode)


class _QuenchSignal(_PushedSignal):
    """1 while MultiVu reports the field "Quenching" (updated by every field reading)."""


class _NaNSignal(UnitSignal):
    """MultiPyVu has no magnetometer command: the moment reads NaN."""


class _QDDevice:
    """Mixin: a device bound to a :class:`MultiVuConnection`; checks the platform's options."""

    needs: ClassVar[str | None] = None
    name: str

    def __init__(self, *args: Any, multivu: MultiVuConnection, **kwargs: Any) -> None:
        self.multivu = multivu
        super().__init__(*args, **kwargs)

    def wait_for_connection(self, all_signals: bool = False, timeout: float = 2.0) -> None:
        """Connect to the server and check that the platform has this instrument.

        Raises
        ------
        MultiVuConnectionError, QuantumDesignError
        """
        self.multivu.connect()
        self.check_platform()

    def check_platform(self) -> None:
        if self.needs is None or self.multivu.has(self.needs):
            return
        what = {"bridges": "BRT resistivity bridges", "rotator": "horizontal rotator"}
        raise QuantumDesignError(
            f"{self.name}: the {self.multivu.platform} at {self.multivu.address} has no "
            f"{what[self.needs]}; remove [devices.{self.name}] from the device definition"
        )


class QDCryostat(_QDDevice, Cryostat):
    """The cryostat of a Quantum Design system: temperature and field through MultiVu.

    ``moment`` reads NaN (MultiPyVu has no magnetometer command; import the MultiVu
    files instead); ``quench`` is 1 while MultiVu reports the field "Quenching".

    Examples
    --------
    >>> from sloxide.devices.quantum_design import MultiVuConnection, QDCryostat
    >>> cryostat = QDCryostat(name="cryostat", multivu=MultiVuConnection(port=27998))
    >>> cryostat.field.limits, cryostat.temperature.rate.get() * 60
    ((-9.0, 9.0), 10.0)
    """

    temperature = Cpt(QDTemperatureAxis)
    field = Cpt(QDFieldAxis)
    moment = Cpt(_NaNSignal, value=math.nan, units="emu", kind=Kind.normal)
    quench = Cpt(_QuenchSignal, value=0, units="1", kind=Kind.normal)


class _BridgeCurrent(UnitSignal):
    """The excitation in µA: remembered on ``put``, sent to both bridges on ``stage``."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.pending = False

    def put(self, value: Any, **kwargs: Any) -> None:
        current = float(value)
        if not 0.01 <= current <= 8000.0:
            raise LimitError(f"{self.name}: {current!r} µA is outside the BRT range 0.01–8000 µA")
        super().put(current, **kwargs)
        self.pending = True


class QDHallBar(_QDDevice, HallBar):
    """R_xx and R_xy from two BRT bridges of the resistivity option.

    Config: ``R_xx_bridge`` and ``R_xy_bridge`` (1, 2 or 3), ``current`` (µA; sent to
    both bridges when the device is staged, i.e. at the start of each run, after a
    change), ``width_um`` and ``length_um`` (the geometry plans write into the run).
    ``trigger()`` reads both bridges in a thread and fails, never hangs, after
    ``trigger_timeout``.

    Examples
    --------
    >>> from sloxide.devices.quantum_design import MultiVuConnection, QDHallBar
    >>> hallbar = QDHallBar(name="hallbar", multivu=MultiVuConnection(port=27998))
    >>> hallbar.R_xx_bridge.get(), hallbar.R_xy_bridge.get(), hallbar.width_um.get()
    (1, 2, 200.0)
    """

    needs = "bridges"
    current = Cpt(_BridgeCurrent, value=HALL_BAR.current_uA, units="uA", kind=Kind.config)
    current_reversal = Cpt(UnitSignal, value=0, units="1", kind=Kind.config)
    R_xx_bridge = Cpt(UnitSignal, value=1, units="1", kind=Kind.config)
    R_xy_bridge = Cpt(UnitSignal, value=2, units="1", kind=Kind.config)
    width_um = Cpt(UnitSignal, value=HALL_BAR.width_um, units="um", kind=Kind.config)
    length_um = Cpt(UnitSignal, value=HALL_BAR.length_um, units="um", kind=Kind.config)

    def bridges(self) -> tuple[int, int]:
        """(R_xx bridge, R_xy bridge), checked."""
        xx, xy = int(self.R_xx_bridge.get()), int(self.R_xy_bridge.get())
        if xx not in (1, 2, 3) or xy not in (1, 2, 3) or xx == xy:
            raise QuantumDesignError(
                f"{self.name}: R_xx_bridge = {xx} and R_xy_bridge = {xy} must be two different "
                "BRT bridges of 1, 2, 3; correct the settings in the device definition"
            )
        return xx, xy

    def stage(self) -> list[Any]:
        self.check_platform()
        if self.current.pending:
            for bridge in self.bridges():
                self.multivu.call("resistivity.set_current", bridge, float(self.current.get()))
            self.current.pending = False
        return super().stage()

    def _read_bridge(self, bridge: int) -> float:
        value, status = self.multivu.call("resistivity.get_resistance", bridge)
        if status != BRT_OK:
            raise QuantumDesignError(
                f"{self.name}: BRT bridge {bridge} answered {status!r}; check that the "
                "bridge is on and the sample is connected"
            )
        return float(value)

    def trigger(self) -> Status:
        self.check_platform()
        xx, xy = self.bridges()
        status = Status(obj=self, timeout=float(self.trigger_timeout.get()))

        def measure() -> None:
            try:
                r_xx, r_xy = self._read_bridge(xx), self._read_bridge(xy)
            except Exception as exc:
                _end(status, exc)
                return
            self.R_xx.put(r_xx)
            self.R_xy.put(r_xy)
            _end(status, None)

        threading.Thread(target=measure, daemon=True).start()
        return status


class QDAngleAxis(_MultiVuAxis, AngleAxis):
    """The horizontal rotator of MultiVu, −10° to 370°, rate in deg/s."""

    subsystem = "rotator"
    getter = "get_position"
    limits = (-10.0, 370.0)
    readback = Cpt(_Readback, value=0.0, kind=Kind.hinted)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.rate.put(5.0)
        self.timeout_margin.put(30.0)

    def _check_target(self, target: float) -> None:
        rate = float(self.rate.get())
        if not (math.isfinite(rate) and rate > 0):
            raise LimitError(f"{self.name}: rate must be a positive number of deg/s, got {rate!r}")

    def _send(self, target: float) -> None:
        _connection_of(self).call("set_position", target, float(self.rate.get()))


class QDRotator(_QDDevice, Rotator):
    """The horizontal rotator; ``plane`` records how the sample is mounted.

    Examples
    --------
    >>> from sloxide.devices.quantum_design import MultiVuConnection, QDRotator
    >>> QDRotator(name="rotator", multivu=MultiVuConnection(port=27998)).angle.limits
    (-10.0, 370.0)
    """

    needs = "rotator"
    angle = Cpt(QDAngleAxis)


def lab(
    host: str = "localhost", port: int = 27183, platform: str | None = None
) -> Mapping[str, Any]:
    """The three Quantum Design instruments on one server, named as DESIGN.md fixes.

    Examples
    --------
    >>> from sloxide.devices.quantum_design import lab
    >>> sorted(lab(port=27997))
    ['cryostat', 'hallbar', 'rotator']
    """
    connection = MultiVuConnection.shared(host, port, platform)
    devices: dict[str, Any] = {"cryostat": QDCryostat(name="cryostat", multivu=connection)}
    if connection.has("bridges"):
        devices["hallbar"] = QDHallBar(name="hallbar", multivu=connection)
    if connection.has("rotator"):
        devices["rotator"] = QDRotator(name="rotator", multivu=connection)
    return devices
