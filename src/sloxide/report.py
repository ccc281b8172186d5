"""The reproduction table (the paper's numbers beside the reproduced ones) and the report."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

__all__ = ["Comparison", "format_table", "write_report"]


@dataclass(frozen=True)
class Comparison:
    """One row of the reproduction table.

    Examples
    --------
    >>> from sloxide.report import Comparison
    >>> Comparison("T_c", "K", 75.0, 75.6, 2.0, "[P]").within
    True
    """

    quantity: str
    units: str
    paper: float
    reproduced: float
    tolerance: float
    source: str

    @property
    def within(self) -> bool:
        return bool(abs(self.reproduced - self.paper) <= self.tolerance)


def format_table(rows: list[Comparison]) -> str:
    """A plain-text table: quantity | paper | reproduced | within tolerance.

    Examples
    --------
    >>> from sloxide.report import Comparison, format_table
    >>> print(format_table([Comparison("T_c", "K", 75.0, 75.6, 2.0, "[P]")]))
    quantity  units  paper  reproduced  ± tol  within  source
    T_c       K      75     75.6        2      yes     [P]
    """
    header = ("quantity", "units", "paper", "reproduced", "± tol", "within", "source")
    body = [
        (
            r.quantity,
            r.units,
            f"{r.paper:.4g}",
            f"{r.reproduced:.4g}",
            f"{r.tolerance:.2g}",
            "yes" if r.within else "NO",
            r.source,
        )
        for r in rows
    ]
    widths = [max(len(row[i]) for row in (header, *body)) for i in range(len(header))]
    return "\n".join(
        "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
        for row in (header, *body)
    )


def write_report(
    rows: list[Comparison], figures: list[Path], out: Path, summary: str = ""
) -> Path:
    """A short Markdown report: the table, the figures and how the data were made.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> from sloxide.report import Comparison, write_report
    >>> with tempfile.TemporaryDirectory() as d:
    ...     path = write_report([Comparison("T_c", "K", 75.0, 75.6, 2.0, "[P]")], [], Path(d))
    ...     "| T_c |" in path.read_text()
    True
    """
    out.mkdir(parents=True, exist_ok=True)
    lines = [
        "# sloxide demo: the CaRuO3/LaNiO3 campaign, simulated and reduced",
        "",
        summary,
        "",
        "| quantity | units | paper | reproduced | ± tol | within | source |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r.quantity} | {r.units} | {r.paper:.4g} | {r.reproduced:.4g} | "
            f"{r.tolerance:.2g} | {'yes' if r.within else 'NO'} | {r.source} |"
        )
    lines += ["", "Sources: [P] stated in the paper, [D] derived from its numbers.", ""]
    lines += [f"![{p.stem}]({p.name})" for p in figures]
    path = out / "report.md"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path
