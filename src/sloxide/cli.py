"""The ``sloxide`` command.

Every subcommand checks its arguments before any work starts (before a catalog is
opened, a campaign run or a server started) and refuses what it would ignore or
could not finish, with one line on stderr, ``sloxide: error: ...``, and exit
status 2. Results meant for the user (tables, paths, a server's URL) go to stdout;
sloxide's own messages go through the ``sloxide`` logger to stderr, quiet unless
something deserves a look: ``-v`` says more, ``-vv`` lets the libraries speak too
(tiled's banner, uvicorn's and caproto's start and stop), ``-q`` leaves errors only.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import sys
import tempfile
import warnings
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, NoReturn, TextIO

from . import __version__
from .errors import SloxideError

logger = logging.getLogger("sloxide")

_LEVELS = {-1: logging.ERROR, 0: logging.WARNING, 1: logging.INFO}


class UsageError(SloxideError, argparse.ArgumentTypeError):
    """A command-line argument sloxide cannot act on: the value, and what to pass instead.

    Examples
    --------
    >>> from sloxide.cli import UsageError
    >>> from sloxide.errors import SloxideError
    >>> issubclass(UsageError, SloxideError)
    True
    """


class _Parser(argparse.ArgumentParser):
    """argparse, with its errors on one line like sloxide's own."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"sloxide: error: {message}; see '{self.prog} --help'\n")


# --------------------------------------------------------------------------- argument types


def _port(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        port = -1
    if not 1 <= port <= 65535:
        raise UsageError(f"{text!r} is not a TCP port; give a number from 1 to 65535")
    return port


def _seed(text: str) -> int:
    try:
        seed = int(text)
    except ValueError:
        seed = -1
    if seed < 0:
        raise UsageError(f"invalid int value: {text!r}; the seed is a whole number, 0 or more")
    return seed


def _prefix(text: str) -> str:
    if not text or any(c.isspace() or not c.isprintable() for c in text):
        raise UsageError(
            f"{text!r} is not a PV prefix; give a non-empty one without spaces, e.g. SLX:"
        )
    return text


def _host(text: str) -> str:
    if not text.strip():
        raise UsageError(
            "the address to bind is empty; pass 127.0.0.1 (this machine only) or 0.0.0.0"
        )
    return text


def _sample(text: str) -> str:
    from .model.samples import SAMPLES

    if text not in SAMPLES:
        raise UsageError(f"unknown sample {text!r}; choose one of {', '.join(SAMPLES)}")
    return text


# --------------------------------------------------------------------------- checks up front


def _writable_directory(path: str, option: str) -> Path:
    """``path`` is, or can be made, a directory this process can write in."""
    directory = Path(path).expanduser()
    if directory.exists() and not directory.is_dir():
        raise UsageError(f"{option} {path!r} is a file; name a directory (it is made if missing)")
    existing = directory.absolute()
    while not existing.exists():
        existing = existing.parent
    if not existing.is_dir():
        raise UsageError(
            f"{option} {path!r} cannot be made: {str(existing)!r} is a file; "
            "name another directory"
        )
    try:  # a real probe: access() says yes to root even on a read-only mount
        with tempfile.TemporaryFile(dir=existing):
            pass
    except OSError as exc:
        raise UsageError(
            f"{option} {path!r}: cannot write in {str(existing)!r} "
            f"({exc.strerror or exc}); choose a directory you can write to"
        ) from None
    return directory


def _progress_wanted(args: argparse.Namespace) -> bool:
    """Progress bars on a terminal only: a log file or a pipe gets none."""
    return args.verbosity >= 0 and sys.stderr.isatty()


# --------------------------------------------------------------------------- subcommands


def _demo(args: argparse.Namespace) -> int:
    out = _writable_directory(args.out, "--out")
    if args.data is not None:
        _writable_directory(args.data, "--data")

    from .catalog import open_catalog
    from .demo import reproduce
    from .report import format_table, write_report

    catalog = open_catalog(args.data, create=True)
    reproduction = reproduce(
        catalog, out, quick=args.quick, seed=args.seed, progress=_progress_wanted(args)
    )
    report = write_report(reproduction.rows, reproduction.figures, out, reproduction.summary)
    print(reproduction.summary + "\n")
    print(format_table(reproduction.rows))
    print(f"\nfigures and report: {report.parent}")
    return 0 if reproduction.reproduced else 1


def _reduce(args: argparse.Namespace) -> int:
    from .batch import check_scheduler, parse_query

    query = parse_query(args.query)
    out = _writable_directory(args.out, "--out")
    if args.format == "parquet":
        import importlib.util

        if importlib.util.find_spec("pyarrow") is None:
            raise UsageError(
                "--format parquet needs pyarrow (pip install pyarrow); or use --format csv"
            )
    if args.scheduler is not None:
        check_scheduler(args.scheduler)

    from .batch import reduce_catalog, write_summary
    from .catalog import default_catalog_directory, open_catalog

    location = args.catalog or default_catalog_directory()
    summary = reduce_catalog(
        open_catalog(location),
        location=location,
        query=query,
        scheduler=args.scheduler,
        progress=not args.no_progress and _progress_wanted(args),
    )
    path = write_summary(summary, out, args.format)
    print(
        f"{summary.reduced} reduced, {summary.skipped} already reduced, {summary.failed} "
        f"failed, {summary.incomplete} incomplete runs left out, in {summary.seconds:.1f} s; "
        f"summary: {path}"
    )
    return 1 if summary.failed else 0


def _export(args: argparse.Namespace) -> int:
    from .export import check_export_path, export_dataset

    if args.method is not None and not args.results:
        raise UsageError(
            f"--method {args.method} selects stored results; add --results, or drop --method "
            "to export the raw run"
        )
    written = check_export_path(args.output, args.format, overwrite=args.force)

    from .catalog import open_catalog
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
    export_dataset(ds, args.output, args.format, overwrite=args.force)
    for path in written:
        print(path)
    return 0


def _hall_bar(text: str) -> dict[str, float]:
    try:
        width, length = (float(v) for v in text.lower().split("x"))
    except ValueError:
        width = length = -1.0
    if not (width > 0 and length > 0):
        raise UsageError(f"--hall-bar takes WIDTHxLENGTH in µm, e.g. 200x1200; got {text!r}")
    return {"width_um": width, "length_um": length}


def _import(args: argparse.Namespace) -> int:
    from .multivu import import_multivu

    paths = [Path(p) for p in args.paths]
    for path in paths:
        if not path.is_file():
            raise UsageError(f"{path} is not a file; pass MultiVu .dat files")
    from .catalog import default_catalog_directory, open_catalog

    location = args.catalog or default_catalog_directory()
    catalog = open_catalog(location, create=True)
    reports = import_multivu(paths, catalog, sample=args.sample, hall_bar=args.hall_bar)
    for report in reports:
        logger.info("%s: sha256 %s", report.path, report.sha256)
        for uid in report.written:
            print(f"{uid}  {report.path}")
        if report.skipped:
            logger.warning(
                "%s: %d run(s) already in the catalog, not imported again",
                report.path,
                len(report.skipped),
            )
    return 0


def _ls(args: argparse.Namespace) -> int:
    from .batch import parse_query
    from .catalog import _search_terms

    query = parse_query(args.query)
    named = {"sample": args.sample, "measurement": args.measurement}
    named.update(since=args.since, until=args.until)
    for key, value in named.items():
        if value is not None:
            if key in query:
                raise UsageError(f"--{key} and --query {key}=... both given; pass one")
            query[key] = value
    _search_terms(**{k: v for k, v in query.items() if k in named})

    from .batch import find_runs_of
    from .catalog import open_catalog

    catalog = open_catalog(args.catalog)
    runs = find_runs_of(catalog, query)
    reduced = _reduced_uids(catalog)
    rows = [_ls_row(uid, run.metadata, reduced) for uid, run in runs.items()]
    if args.json:
        import json

        for row in rows:
            row.pop("setpoints_text")
            print(json.dumps(row))
        return 0
    table = [
        [
            row["uid"][:8],
            _local_time(row["time"]),
            row["sample"] or "-",
            row["measurement"] or "-",
            ", ".join(f"{k}={v}" for k, v in row["setpoints_text"].items()) or "-",
            row["exit_status"] or "unfinished",
            "reduced" if row["reduced"] else "-",
        ]
        for row in rows
    ]
    widths = [max((len(cells[i]) for cells in table), default=0) for i in range(7)]
    for cells in table:
        print("  ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)).rstrip())
    logger.info("%d runs", len(rows))
    return 0


def _reduced_uids(catalog: Any) -> set[str]:
    """Every raw uid with stored results: one ``distinct`` request, whatever the run count."""
    from .results import RESULTS_CONTAINER

    if RESULTS_CONTAINER not in catalog:
        return set()
    found = catalog[RESULTS_CONTAINER].distinct("attrs.raw_uids")
    entries = (found.get("metadata") or {}).get("attrs.raw_uids") or []
    return {str(uid) for entry in entries for uid in (entry.get("value") or [])}


def _ls_row(uid: str, metadata: Any, reduced: set[str]) -> dict[str, Any]:
    from .io import _dim_and_units

    start = metadata.get("start") or {}
    stop = metadata.get("stop") or {}
    context = start.get("sloxide") or {}
    setpoints = dict(context.get("setpoints") or {})
    text = {}
    for key, value in setpoints.items():
        name, units = _dim_and_units(str(key), None, None)
        shown = f"{value:g}" if isinstance(value, int | float) else str(value)
        text[name] = f"{shown} {units}" if units else shown
    xas = context.get("xas") or {}
    if xas.get("edge"):
        text = {"edge": str(xas["edge"]), **text}
    plane = (context.get("rotation") or {}).get("plane")
    if plane:
        text["plane"] = str(plane)
    return {
        "uid": str(start.get("uid", uid)),
        "time": start.get("time"),
        "start": _iso_time(start.get("time")),
        "sample": (context.get("sample") or {}).get("name"),
        "measurement": context.get("measurement"),
        "plan_name": start.get("plan_name"),
        "scan_id": start.get("scan_id"),
        "setpoints": setpoints,
        "setpoints_text": text,
        "edge": xas.get("edge"),
        "group_uid": xas.get("group_uid"),
        "exit_status": stop.get("exit_status"),
        "reduced": str(start.get("uid", uid)) in reduced,
    }


def _iso_time(timestamp: Any) -> str | None:
    import datetime

    if not isinstance(timestamp, int | float):
        return None
    return datetime.datetime.fromtimestamp(timestamp).astimezone().isoformat(timespec="seconds")


def _local_time(timestamp: Any) -> str:
    import datetime

    if not isinstance(timestamp, int | float):
        return "-"
    return datetime.datetime.fromtimestamp(timestamp).strftime("%Y-%m-%d %H:%M:%S")


def _ioc(args: argparse.Namespace) -> int:
    from .ioc import run_ioc

    logging.getLogger("sloxide.ioc").propagate = False  # run_ioc gives it a handler
    port = os.environ.get("EPICS_CA_SERVER_PORT", "5064")

    def announce() -> None:  # once the server listens, never before
        print(
            f"sloxide ioc: serving the simulated lab ({args.sample}, {args.mode}, seed "
            f"{args.seed}) as {args.prefix}* on Channel Access port {port}; Ctrl-C stops it",
            flush=True,
        )

    # Ctrl-C is how a server is stopped, even while it is still starting: exit 0, quietly.
    with contextlib.suppress(KeyboardInterrupt):
        run_ioc(
            prefix=args.prefix, sample=args.sample, mode=args.mode, seed=args.seed,
            on_serving=announce,
        )  # fmt: skip
    return 0


def _serve(args: argparse.Namespace) -> int:
    from .server import is_database_uri

    database = is_database_uri(args.catalog)
    if args.data is not None and not database:
        raise UsageError(
            "--data is the data folder of a PostgreSQL catalog (--catalog postgresql://...); "
            "an embedded catalog keeps its files in its own folder"
        )
    if database and args.data is None:
        raise UsageError(
            "--catalog postgresql://... needs --data DIR, the folder for the catalog's array files"
        )
    # A database is checked by the server itself, with a message naming the fix.
    local = args.catalog is not None and not args.catalog.lower().startswith(("http:", "https:"))
    if local and not database:
        catalog = Path(args.catalog).expanduser()
        if catalog.is_dir():
            try:
                os.listdir(catalog)
            except OSError as exc:
                raise UsageError(
                    f"--catalog {args.catalog!r}: cannot read it ({exc.strerror or exc}); "
                    "fix its permissions or serve another catalog"
                ) from None
        if args.allow_writes:
            _writable_directory(args.catalog, "--catalog")

    from .server import serve

    # Ctrl-C is how a server is stopped, even while it is still starting: exit 0, quietly.
    with contextlib.suppress(KeyboardInterrupt):
        serve(
            args.catalog,
            data=args.data,
            host=args.host,
            port=args.port,
            public=args.public,
            allow_writes=args.allow_writes,
            log_level={-1: "ERROR", 0: "WARNING"}.get(args.verbosity, "INFO"),
        )
    return 0


# --------------------------------------------------------------------------- quiet by default


class _Formatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        message = record.getMessage()
        if record.levelno >= logging.WARNING:
            return f"sloxide: {record.levelname.lower()}: {message}"
        return f"sloxide: {message}"


class _Below(logging.Filter):
    """Drops a logger's own records under ``level``."""

    def __init__(self, level: int) -> None:
        super().__init__()
        self.level = level

    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno >= self.level


def _log_warning(
    message: Warning | str,
    category: type[Warning],
    filename: str,
    lineno: int,
    file: TextIO | None = None,
    line: str | None = None,
) -> None:
    """A warning as one ``sloxide: warning: ...`` line, not a path and a source line."""
    from .errors import SloxideWarning

    text = " ".join(str(message).split())
    if not issubclass(category, SloxideWarning):
        text = f"{category.__name__}: {text}"
    logger.warning("%s", text)


@contextlib.contextmanager
def _talk(verbosity: int) -> Iterator[None]:
    """sloxide's messages on stderr at the asked level, the libraries' chatter off.

    Library loggers get filters rather than levels: ``run_ioc`` sets their levels
    and handlers again later, but keeps a logger's filters. ``sloxide serve`` passes
    the level to uvicorn's log configuration instead.
    Python warnings become ``sloxide: warning: ...`` lines (none with ``-q``).
    Everything is undone on exit, so :func:`main` called in a process (a test, a
    notebook) leaves its logging as it was.
    """
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_Formatter())
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(_LEVELS.get(verbosity, logging.DEBUG))
    filtered: list[tuple[logging.Logger, logging.Filter]] = []
    with warnings.catch_warnings():
        if verbosity < 2:
            # starlette >= 1 warns when tiled's in-process client imports its TestClient.
            warnings.filterwarnings(
                "ignore",
                message=r"Using `httpx` with `starlette\.testclient` is deprecated",
                category=UserWarning,
            )
        if verbosity < 1:
            chatter = _Below(logging.ERROR if verbosity < 0 else logging.WARNING)
            # tiled 0.2 logs "Tiled version ..." to its own stderr handler whenever an app
            # starts, the embedded catalog's included (tiled/server/app.py, startup_event);
            # run_ioc sets caproto's server and its own "serving ..." (which _ioc prints
            # on stdout instead) to INFO with a handler.
            for name in ("tiled.server.app", "caproto.ctx", "sloxide.ioc"):
                filtered.append((logging.getLogger(name), chatter))
                logging.getLogger(name).addFilter(chatter)
        warnings.showwarning = _log_warning
        try:
            yield
        finally:
            for library, drop in filtered:
                library.removeFilter(drop)
            logger.removeHandler(handler)
            logger.setLevel(level)


# --------------------------------------------------------------------------- the parser


def _parser() -> argparse.ArgumentParser:
    common = _Parser(add_help=False)
    talk = common.add_mutually_exclusive_group()
    talk.add_argument(
        "-v",
        "--verbose",
        action="count",
        default=0,
        help="say more; -vv also shows the libraries' messages",
    )
    talk.add_argument("-q", "--quiet", action="store_true", help="errors only")

    parser = _Parser(prog="sloxide", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"sloxide {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    def command(name: str, help: str) -> argparse.ArgumentParser:
        return commands.add_parser(name, help=help, description=help, parents=[common])

    demo = command(
        "demo", "run the simulated paper campaign into the catalog and reproduce the paper"
    )
    demo.add_argument("--data", default=None, help="catalog directory (default: user data dir)")
    demo.add_argument("--out", default="sloxide-report", help="figures and report directory")
    demo.add_argument("--quick", action="store_true", help="fewer temperatures, coarser steps")
    demo.add_argument("--seed", type=_seed, default=0, help="noise seed (default 0)")
    demo.set_defaults(run=_demo)

    reduce = command("reduce", "reduce every matching run of a catalog and store the results")
    reduce.add_argument("--catalog", default=None, help="directory or Tiled URL")
    reduce.add_argument(
        "--query",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a search key or start-document key and its value, e.g. sample=C10/L6, "
        "temperature=2..20, field=9T, sloxide.measurement=amr (repeatable; all must match)",
    )
    reduce.add_argument(
        "--scheduler",
        default=None,
        help="dask.distributed scheduler address, e.g. tcp://host:8786 (checked first)",
    )
    reduce.add_argument(
        "--out", default="sloxide-reduce", help="directory for summary.csv (or .parquet)"
    )
    reduce.add_argument("--format", choices=("csv", "parquet"), default="csv")
    reduce.add_argument(
        "--no-progress", action="store_true", help="no progress bar (there is none off a terminal)"
    )
    reduce.set_defaults(run=_reduce)

    ls = command("ls", "list the runs of a catalog: one line per run, oldest first")
    ls.add_argument("--catalog", default=None, help="directory or Tiled URL (never created)")
    ls.add_argument("--sample", default=None, help="sample name, e.g. C10/L6")
    ls.add_argument(
        "--measurement",
        default=None,
        help="rt, field_loop, amr, fc_magnetization or xas",
    )
    ls.add_argument(
        "--since", default=None, help="started at or after: 2026-11-26, 2026-11-26T14:30, 7d, 12h"
    )
    ls.add_argument("--until", default=None, help="started before: a date, time or age as --since")
    ls.add_argument(
        "--query",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a setpoint or start-document key, e.g. temperature=2..20, field=9T, "
        '"edge=Ni L2" (repeatable; all must match)',
    )
    ls.add_argument(
        "--json", action="store_true", help="one JSON object per run and line (full uid, ISO time)"
    )
    ls.set_defaults(run=_ls)

    export = command(
        "export", "one run (or its results) to netCDF, Zarr or CSV with units and context"
    )
    export.add_argument("uid", help="the run's uid")
    export.add_argument("--catalog", default=None, help="directory or Tiled URL")
    export.add_argument("--format", choices=("netcdf", "zarr", "csv"), required=True)
    export.add_argument(
        "-o",
        "--output",
        required=True,
        help="the file to write (zarr: a new or empty directory); "
        "csv also writes OUTPUT.sloxide.json with the attrs",
    )
    export.add_argument("--results", action="store_true", help="the stored results instead")
    export.add_argument("--method", default=None, help="with --results: one method's results")
    export.add_argument(
        "--force",
        action="store_true",
        help="replace existing files, or an existing Zarr store; never other directories",
    )
    export.set_defaults(run=_export)

    imp = command("import", "MultiVu .dat files into the catalog, one run per measurement segment")
    imp.add_argument("paths", nargs="+", metavar="PATH", help="MultiVu .dat files")
    imp.add_argument("--catalog", default=None, help="directory or Tiled URL")
    imp.add_argument(
        "--sample",
        default=None,
        help="sample name, e.g. C10/L6 (default: the file's sample material, or its name)",
    )
    imp.add_argument(
        "--hall-bar",
        type=_hall_bar,
        default=None,
        metavar="WIDTHxLENGTH",
        help="Hall-bar width and voltage-probe spacing in µm, e.g. 200x1200",
    )
    imp.set_defaults(run=_import)

    ioc = command("ioc", "serve the simulated lab over EPICS Channel Access (a caproto IOC)")
    ioc.add_argument("--prefix", type=_prefix, default="SLX:", help="PV prefix (default SLX:)")
    ioc.add_argument(
        "--sample", type=_sample, default="C10/L6", help="mounted sample (default C10/L6)"
    )
    ioc.add_argument(
        "--mode",
        choices=("instant", "realistic"),
        default="realistic",
        help="moves at once, or at the rates of real hardware (default)",
    )
    ioc.add_argument("--seed", type=_seed, default=0, help="noise seed (default 0)")
    ioc.set_defaults(run=_ioc)

    serve = command(
        "serve",
        "a Tiled server over the catalog; API key from TILED_API_KEY (or one is made), "
        "a read-only key from SLOXIDE_READ_API_KEY",
    )
    serve.add_argument(
        "--catalog",
        default=None,
        help="catalog directory (default: user data dir), or postgresql://USER@HOST/DB",
    )
    serve.add_argument(
        "--data", default=None, help="data folder of a PostgreSQL catalog (its array files)"
    )
    serve.add_argument(
        "--host", type=_host, default="127.0.0.1", help="address to bind (default 127.0.0.1)"
    )
    serve.add_argument("--port", type=_port, default=8000, help="port, 1 to 65535 (default 8000)")
    access = serve.add_mutually_exclusive_group()
    access.add_argument(
        "--public", action="store_true", help="anyone may read without a key; nobody may write"
    )
    access.add_argument(
        "--allow-writes", action="store_true", help="key holders may also write (e.g. results)"
    )
    serve.set_defaults(run=_serve)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``sloxide`` command.

    Parameters
    ----------
    argv : sequence of str, optional
        The arguments after ``sloxide``; default ``sys.argv[1:]``.

    Returns
    -------
    int
        The exit status: 0 on success, 1 when a reduction failed or a reproduced
        value is off, 2 for an error (one line on stderr).

    Examples
    --------
    >>> from sloxide.cli import main
    >>> main(["--version"])  # doctest: +SKIP
    sloxide ...
    """
    args = _parser().parse_args(argv)
    args.verbosity = -1 if args.quiet else args.verbose
    with _talk(args.verbosity):
        try:
            return int(args.run(args))
        except SloxideError as err:
            message = " ".join(str(err).split())  # one line, whatever the error held
            print(f"sloxide: error: {message}", file=sys.stderr)
            return 2
        except KeyboardInterrupt:  # Ctrl-C: one line, not a traceback; the shell's 130
            print("sloxide: interrupted", file=sys.stderr)
            return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
