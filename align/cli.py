"""The ``align`` command: parses arguments, makes one API call, prints the result.

    align FILE                 one bilingual document
    align ZH_FILE EN_FILE      two files, in either order
    align DIR                  every document in a folder
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.table import Table
from typer.core import TyperGroup

from . import __version__
from .errors import AlignError

LOW_SCORE = 0.5  # pairs scored below this are counted as low-confidence in the summary


class _DefaultGroup(TyperGroup):
    """Runs the ``run`` command when the first argument is not a subcommand (``align FILE``)."""

    def parse_args(self, ctx, args):
        if args and args[0] not in self.commands and args[0] not in ("--help", "-h", "--version"):
            args = ["run", *args]
        elif not args:
            args = ["run", "--help"]
        return super().parse_args(ctx, args)


app = typer.Typer(cls=_DefaultGroup, add_completion=False, no_args_is_help=False,
                  context_settings={"help_option_names": ["-h", "--help"]},
                  help="Align Chinese–English documents sentence by sentence into TMX, CSV and JSONL.")
err = Console(stderr=True)


def _fail(message: str, code: int = 2):
    err.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)


def _version(value: bool):
    if value:
        print(f"align (zhen-align) {__version__}")
        raise typer.Exit()


@app.callback()
def main(version: bool = typer.Option(False, "--version", callback=_version, is_eager=True,
                                      help="Show the version and exit.")):
    """Align Chinese–English documents sentence by sentence into TMX, CSV and JSONL."""


@app.command("run", help="Align FILE, ZH_FILE EN_FILE, or every document in DIR (the default command).")
def run(
    path: Path = typer.Argument(..., help="A bilingual file, the Chinese (or English) file, or a folder."),
    en_file: Optional[Path] = typer.Argument(None, help="The other language's file, when PATH holds only one."),
    out_dir: Optional[Path] = typer.Option(None, "-o", "--out-dir", help="Where to write (default: beside the input)."),
    fmt: str = typer.Option("tmx,csv", "--format", help="Comma list of output formats: tmx, csv, jsonl."),
    presplit: bool = typer.Option(False, "--presplit", help="One sentence per line already: no splitting; ids are line numbers."),
    model: Optional[str] = typer.Option(None, "--model", help="Sentence encoder: the embedded default, or a sentence-transformers name or path."),
    device: Optional[str] = typer.Option(None, "--device", help="cpu, cuda, cuda:0, mps (sentence-transformers models)."),
    quiet: bool = typer.Option(False, "-q", "--quiet", help="Print nothing but errors."),
):
    from .api import align_path
    from .write import FORMATS

    formats = [f.strip().lower() for f in fmt.split(",") if f.strip()]
    bad = [f for f in formats if f not in FORMATS]
    if bad or not formats:
        _fail(f"unknown format {bad[0] if bad else fmt!r}; choose from {', '.join(FORMATS)}")
    console = Console(quiet=quiet)
    try:
        with _progress(console) as progress:
            report = align_path(path, en_file, out_dir=out_dir, formats=formats, presplit=presplit,
                                model=model, device=device, progress=progress)
    except AlignError as e:
        _fail(str(e), e.exit_code)
    except KeyboardInterrupt:
        _fail("interrupted", 130)
    _summary(console, report)
    if report.failed:
        for d in report.failed:
            err.print(f"[bold red]failed:[/] {d.name}: {d.error}", highlight=False, soft_wrap=True)
        raise typer.Exit(1)


class _progress:
    """A progress bar over sentences embedded, shown only when embedding takes a while."""

    def __init__(self, console: Console):
        self.console = console
        self.bar = None
        self.task = None

    def __enter__(self):
        from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

        if not self.console.quiet and self.console.is_terminal:
            self.bar = Progress(TextColumn("embedding"), BarColumn(), TextColumn("{task.completed} sentences"),
                                TimeRemainingColumn(), console=self.console, transient=True)
            self.bar.start()
            self.task = self.bar.add_task("embed", total=None)
        return self._advance

    def _advance(self, n: int):
        if self.bar is not None:
            self.bar.advance(self.task, n)

    def __exit__(self, *exc):
        if self.bar is not None:
            self.bar.stop()
        return False


def _summary(console: Console, report) -> None:
    for d in report.documents:
        if d.alignment is None:
            continue
        a = d.alignment
        kinds: dict[str, int] = {}
        for b in a.beads:
            kinds[b.kind] = kinds.get(b.kind, 0) + 1
        low = sum(1 for b in a.beads if b.two_sided and (b.score or 0) < LOW_SCORE)
        table = Table(title=f"{d.name}", show_header=False, box=None, pad_edge=False)
        table.add_row("Chinese", f"{len(a.doc.zh)} sentences")
        table.add_row("English", f"{len(a.doc.en)} sentences")
        table.add_row("pairs", f"{sum(1 for b in a.beads if b.two_sided)}")
        table.add_row("beads", ", ".join(f"{k}: {v}" for k, v in sorted(kinds.items(), key=lambda kv: -kv[1])))
        table.add_row("low confidence", f"{low} (score < {LOW_SCORE})")
        for p in d.outputs:
            table.add_row("wrote", str(p))
        console.print(table)


@app.command("evaluate", help="Score TEST against GOLD: strict/lax precision, recall, F1 (vecalign's conventions).")
def evaluate_cmd(
    gold: Path = typer.Argument(..., help="Gold .align file or folder."),
    test: Path = typer.Argument(..., help="Test .align/.jsonl file or folder."),
):
    from .evaluate import evaluate_paths

    try:
        scores = evaluate_paths(gold, test)
    except AlignError as e:
        _fail(str(e), e.exit_code)
    table = Table(title="alignment scores")
    table.add_column("")
    table.add_column("strict", justify="right")
    table.add_column("lax", justify="right")
    for key in ("precision", "recall", "f1"):
        table.add_row(key, f"{scores['strict'][key]:.3f}", f"{scores['lax'][key]:.3f}")
    Console().print(table)


def entry():
    """Console-script entry point: no Python traceback reaches the user."""
    try:
        app()
    except AlignError as e:  # pragma: no cover - commands catch these themselves
        err.print(f"[bold red]error:[/] {e}", highlight=False)
        sys.exit(e.exit_code)
