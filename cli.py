"""Thin entry: ``python cli.py ...`` is the same as the ``align`` command."""

from align.cli import entry

if __name__ == "__main__":
    entry()
