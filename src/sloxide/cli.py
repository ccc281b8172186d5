"""The ``sloxide`` command."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from . import __version__
from .errors import SloxideError


def _demo(args: argparse.Namespace) -> int:
    from .report import format_table, synthetic_preview

    print(
        "sloxide demo (preview): synthetic C10/L6 field loops at 2-20 K and FC M(T) from the "
        "PHYSICS.md section 7 model, reduced through the .sloxide accessor.\n"
        "The simulated Bluesky campaign into the embedded catalog is not built yet.\n"
    )
    rows = synthetic_preview(seed=args.seed)
    print(format_table(rows))
    return 0 if all(r.within for r in rows) else 1


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``sloxide`` command.

    Examples
    --------
    >>> from sloxide.cli import main
    >>> main(["--version"])  # doctest: +SKIP
    """
    parser = argparse.ArgumentParser(prog="sloxide", description=__doc__)
    parser.add_argument("--version", action="version", version=f"sloxide {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)
    demo = commands.add_parser("demo", help="reproduce the paper's numbers on simulated data")
    demo.add_argument("--seed", type=int, default=0, help="noise seed (default 0)")
    demo.set_defaults(run=_demo)
    args = parser.parse_args(argv)
    try:
        return int(args.run(args))
    except SloxideError as err:
        print(f"sloxide: error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
