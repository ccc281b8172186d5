"""The ``sloxide`` command."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from . import __version__
from .errors import SloxideError


def _demo(args: argparse.Namespace) -> int:
    from .catalog import open_catalog
    from .demo import compare, reduce_campaign, run_campaign, write_figures
    from .report import format_table, write_report

    catalog = open_catalog(args.data)
    campaign = run_campaign(catalog, quick=args.quick, seed=args.seed)
    results = reduce_campaign(catalog, campaign)
    rows = compare(results)
    figures = write_figures(results, Path(args.out))
    summary = (
        f"{sum(len(v) for s in campaign.uids.values() for v in s.values())} runs, "
        f"{campaign.events} events, acquired in {campaign.seconds:.0f} s on the simulated lab "
        "(instant mode) and read back from the catalog."
    )
    report = write_report(rows, figures, Path(args.out), summary)
    print(summary + "\n")
    print(format_table(rows))
    print(f"\nfigures and report: {report.parent}")
    return 0 if all(r.within for r in rows) else 1


def _reduce(args: argparse.Namespace) -> int:
    from .batch import parse_query, reduce_catalog, write_summary
    from .catalog import default_catalog_directory, open_catalog

    query = parse_query(args.query)
    location = args.catalog or default_catalog_directory()
    summary = reduce_catalog(
        open_catalog(location),
        location=location,
        query=query,
        scheduler=args.scheduler,
        progress=not args.no_progress,
    )
    path = write_summary(summary, Path(args.out), args.format)
    print(
        f"{summary.reduced} reduced, {summary.skipped} already reduced, {summary.failed} "
        f"failed, {summary.incomplete} incomplete runs left out, in {summary.seconds:.1f} s; "
        f"summary: {path}"
    )
    return 1 if summary.failed else 0


def _export(args: argparse.Namespace) -> int:
    from .catalog import open_catalog
    from .export import export_dataset
    from .io import read_results, read_run

    catalog = open_catalog(args.catalog)
    if args.results:
        ds = read_results(args.uid, catalog=catalog, method=args.method)
        if ds is None:
            raise SloxideError(
                f"run {args.uid} has no stored results; reduce it first (sloxide reduce)"
            )
    else:
        ds = read_run(args.uid, catalog=catalog)
    print(export_dataset(ds, args.output, args.format))
    return 0


def _ioc(args: argparse.Namespace) -> int:
    from .ioc import run_ioc

    run_ioc(prefix=args.prefix, sample=args.sample, mode=args.mode, seed=args.seed)
    return 0


def _serve(args: argparse.Namespace) -> int:
    from .server import serve

    serve(
        args.catalog,
        host=args.host,
        port=args.port,
        public=args.public,
        allow_writes=args.allow_writes,
    )
    return 0


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
    demo = commands.add_parser(
        "demo", help="run the simulated paper campaign into the catalog and reproduce the paper"
    )
    demo.add_argument("--data", default=None, help="catalog directory (default: user data dir)")
    demo.add_argument("--out", default="sloxide-report", help="figures and report directory")
    demo.add_argument("--quick", action="store_true", help="fewer temperatures, coarser steps")
    demo.add_argument("--seed", type=int, default=0, help="noise seed (default 0)")
    demo.set_defaults(run=_demo)

    reduce = commands.add_parser(
        "reduce", help="reduce every matching run of a catalog and store the results"
    )
    reduce.add_argument("--catalog", default=None, help="directory or Tiled URL")
    reduce.add_argument(
        "--query",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="start-document key and value to match, e.g. sloxide.sample.name=C10/L6 "
        "(repeatable; all must match)",
    )
    reduce.add_argument("--scheduler", default=None, help="dask.distributed scheduler address")
    reduce.add_argument("--out", default="sloxide-reduce", help="where the summary goes")
    reduce.add_argument("--format", choices=("csv", "parquet"), default="csv")
    reduce.add_argument("--no-progress", action="store_true", help="no progress bar")
    reduce.set_defaults(run=_reduce)

    export = commands.add_parser(
        "export", help="one run (or its results) to netCDF, Zarr or CSV with units and context"
    )
    export.add_argument("uid", help="the run's uid")
    export.add_argument("--catalog", default=None, help="directory or Tiled URL")
    export.add_argument("--format", choices=("netcdf", "zarr", "csv"), required=True)
    export.add_argument("-o", "--output", required=True, help="the file to write")
    export.add_argument("--results", action="store_true", help="the stored results instead")
    export.add_argument("--method", default=None, help="with --results: one method's results")
    export.set_defaults(run=_export)

    ioc = commands.add_parser(
        "ioc", help="serve the simulated lab over EPICS Channel Access (a caproto IOC)"
    )
    ioc.add_argument("--prefix", default="SLX:", help="PV prefix (default SLX:)")
    ioc.add_argument("--sample", default="C10/L6", help="mounted sample (default C10/L6)")
    ioc.add_argument(
        "--mode",
        choices=("instant", "realistic"),
        default="realistic",
        help="moves at once, or at the rates of real hardware (default)",
    )
    ioc.add_argument("--seed", type=int, default=0, help="noise seed (default 0)")
    ioc.set_defaults(run=_ioc)

    serve = commands.add_parser(
        "serve",
        help="a Tiled server over the catalog; API key from TILED_API_KEY (or one is made)",
    )
    serve.add_argument(
        "--catalog", default=None, help="catalog directory (default: user data dir)"
    )
    serve.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=8000, help="port (default 8000)")
    access = serve.add_mutually_exclusive_group()
    access.add_argument(
        "--public", action="store_true", help="anyone may read without a key; nobody may write"
    )
    access.add_argument(
        "--allow-writes", action="store_true", help="key holders may also write (e.g. results)"
    )
    serve.set_defaults(run=_serve)
    args = parser.parse_args(argv)
    try:
        return int(args.run(args))
    except SloxideError as err:
        print(f"sloxide: error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
