"""Errors a scientist can act on.

Every error sloxide raises on bad input is a :class:`SloxideError`, a
``ValueError``, so ``except ValueError`` keeps working in pipelines. Each
message says what was wrong, the value seen, and what to do about it.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable

__all__ = [
    "SloxideError",
    "SloxideWarning",
    "UnitsError",
    "MissingVariableError",
    "DataError",
    "FitError",
    "LimitError",
]


class SloxideError(ValueError):
    """Base class of every sloxide input error.

    Examples
    --------
    >>> from sloxide.errors import SloxideError, UnitsError
    >>> issubclass(UnitsError, SloxideError) and issubclass(SloxideError, ValueError)
    True
    """


class SloxideWarning(UserWarning):
    """A result was computed, but something about the input deserves a look."""


class UnitsError(SloxideError):
    """Missing or incompatible units on one or more inputs.

    One error lists every offending input, so a user fixes them all at once.

    Parameters
    ----------
    problems : iterable of str
        One line per offending input, each ending in how to fix it.

    Examples
    --------
    >>> err = UnitsError(["field: no units; set da.attrs['units'] = 'T'"])
    >>> print(err)
    wrong or missing units:
      - field: no units; set da.attrs['units'] = 'T'
    """

    def __init__(self, problems: Iterable[str]) -> None:
        self.problems = list(problems)
        lines = "\n".join(f"  - {p}" for p in self.problems)
        super().__init__(f"wrong or missing units:\n{lines}")


class MissingVariableError(SloxideError, KeyError):
    """A variable the method needs is not in the Dataset.

    Parameters
    ----------
    what : str
        The quantity that was looked for, e.g. ``"rho_xy"``.
    argument : str
        The keyword argument that names it explicitly.
    available : iterable of str
        The variables the Dataset does have.
    alternatives : iterable of str, optional
        Other quantities the method could have used instead.

    Examples
    --------
    >>> err = MissingVariableError("field", "field", ["R_xx", "R_xy"])
    >>> "R_xx" in str(err) and "field=" in str(err)
    True
    """

    def __init__(
        self,
        what: str,
        argument: str,
        available: Iterable[Hashable],
        alternatives: Iterable[str] = (),
    ) -> None:
        avail = sorted(map(str, available))
        alts = list(alternatives)
        also = f" (or one of {alts})" if alts else ""
        msg = (
            f"no variable for {what!r}{also}: looked for an explicit {argument}= argument, "
            f"a variable with attrs['quantity'] == {what!r}, and a variable named {what!r}. "
            f"The Dataset has {avail}. Pass {argument}='<name>' or rename the variable."
        )
        self.message = msg
        super().__init__(msg)

    def __str__(self) -> str:  # KeyError would otherwise quote the message
        return self.message


class DataError(SloxideError):
    """The values cannot support the requested reduction.

    Raised for ±inf, all-NaN data, too few points, a single sweep branch,
    non-monotonic coordinates and similar problems.
    """


class FitError(DataError):
    """A fit window is empty or the data in it violate the fit's assumptions."""


class LimitError(SloxideError):
    """A setpoint outside a device's limits, or a named position it does not have.

    Raised before anything moves, so no motion follows from a refused request.

    Examples
    --------
    >>> from sloxide.errors import LimitError, SloxideError
    >>> issubclass(LimitError, SloxideError)
    True
    """
