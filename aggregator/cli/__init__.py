"""The command line: main.py parses arguments and runs a command; tables.py and progress.py
are what it prints."""

from aggregator.cli.main import main

__all__ = ["main"]
