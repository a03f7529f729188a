"""The command line's entry: parse arguments, set up logging, run a command (commands.py),
turn errors into a message and an exit code."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from aggregator.cli.commands import (
    EXIT_ERROR,
    EXIT_INTERRUPTED,
    cmd_build,
    cmd_check,
    cmd_check_config,
    cmd_db,
    cmd_entries,
    cmd_explain,
    cmd_poll,
    cmd_run,
    cmd_scheduler,
    cmd_serve,
    cmd_sources,
    cmd_status,
    cmd_worker,
)
from aggregator.errors import AggregatorError, ConfigError
from aggregator.logs import formatter
from aggregator.version import __version__

if TYPE_CHECKING:
    pass

log = logging.getLogger("aggregator")



def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    setup_logging(args)
    try:
        result: int = args.handler(args)
        return result
    except ConfigError as e:
        print("config error:\n  " + "\n  ".join(e.errors), file=sys.stderr)
        return EXIT_ERROR
    except AggregatorError as e:
        print(f"error: {e}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # the reader went away (`status --json | head`): stop quietly, like other tools
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_ERROR


# -- arguments -------------------------------------------------------------------------------

def _common() -> argparse.ArgumentParser:
    # SUPPRESS defaults let the options stand before or after the command name.
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--config", metavar="PATH", default=argparse.SUPPRESS,
                        help="config file (default: $AGGREGATOR_CONFIG or ./config.yaml)")
    common.add_argument("-v", "--verbose", action="store_true", default=argparse.SUPPRESS,
                        help="log debug details to stderr")
    common.add_argument("--log-format", choices=["text", "json"], default=argparse.SUPPRESS,
                        help="text lines (default) or one JSON object per line")
    common.add_argument("-q", "--quiet", action="store_true", default=argparse.SUPPRESS,
                        help="log only errors")
    return common


def build_parser() -> argparse.ArgumentParser:
    common = _common()
    parser = argparse.ArgumentParser(
        prog="aggregator", parents=[common],
        description="Gather member and partner news feeds and republish them as Atom feeds.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def add(name: str, handler: Callable[[argparse.Namespace], int], text: str
            ) -> argparse.ArgumentParser:
        p = sub.add_parser(name, parents=[common], help=text, description=text)
        p.set_defaults(handler=handler)
        return p

    run = add("run", cmd_run, "run the service: poll due sources on schedule, rebuild, serve")
    run.add_argument("--watch-config", action="store_true",
                     help="reload the config when its file changes (as on SIGHUP)")
    poll = add("poll", cmd_poll, "poll every enabled source (or the named ones) once now")
    poll.add_argument("--source", action="append", default=[], metavar="ID",
                      help="poll only this source (repeatable)")
    poll.add_argument("--json", action="store_true",
                      help="print the cycle as JSON: sources, totals, timings (update, publish)")
    add("build", cmd_build, "rebuild all outputs from the store")
    add("serve", cmd_serve, "serve the output directory over HTTP")
    db = add("db", cmd_db, "the PostgreSQL store (store.url)")
    db.add_subparsers(dest="action", required=True, metavar="ACTION").add_parser(
        "upgrade", parents=[common], help="create or migrate the schema",
        description="create or migrate the PostgreSQL schema (store.url)")
    add("scheduler", cmd_scheduler,
        "scale-out: claim due sources and send one fetch task per source")
    worker = add("worker", cmd_worker, "scale-out: a Celery worker running fetch and publish "
                 "tasks")
    worker.add_argument("--concurrency", type=int, default=2, metavar="N",
                        help="worker processes (default 2)")
    status = add("status", cmd_status, "show per-source health")
    status.add_argument("--json", action="store_true", help="print JSON")
    status.add_argument("--wide", action="store_true",
                        help="every column and the whole notes (wider than 100 columns)")
    status.add_argument("--categories", action="store_true",
                        help="show the category words of each source that map to nothing")
    entries = add("entries", cmd_entries, "list or count stored entries; `entries remove "
                  "ENTRY` takes one down")
    entries.add_argument("action", nargs="?", choices=["remove"],
                         help="remove: take the entry (and its copies) out of every output "
                              "for good")
    entries.add_argument("target", nargs="?", metavar="ENTRY",
                         help="with remove: the entry's key, published id or link")
    entries.add_argument("--removed", action="store_true",
                         help="list what takedowns keep out (keys, and links)")
    entries.add_argument("--category", metavar="ID", help="only entries in this category")
    entries.add_argument("--source", metavar="ID", help="only entries from this source")
    entries.add_argument("--count", action="store_true", help="print the number alone")
    entries.add_argument("--json", action="store_true", help="print JSON")
    entries.add_argument("--include-duplicates", action="store_true",
                         help="also list the copies merged into another source's story")
    add("check-config", cmd_check_config, "validate the config file")
    check = add("check", cmd_check, "read a feed or page as the hub would, store nothing")
    check.add_argument("url", metavar="URL")
    check.add_argument("--json", action="store_true", help="print JSON")
    explain = add("explain", cmd_explain, "why an entry was merged and how it was categorized")
    explain.add_argument("entry", metavar="ENTRY", help="entry key, published id or link")
    explain.add_argument("--json", action="store_true", help="print JSON")
    sources = add("sources", cmd_sources, "operator actions on sources")
    action = sources.add_subparsers(dest="action", required=True, metavar="ACTION")
    def act(name: str, text: str, more: str = "") -> argparse.ArgumentParser:
        return action.add_parser(name, parents=[common], help=text,
                                 description=text + (f" ({more})" if more else ""))

    act("enable", "poll a gone or failing source again").add_argument("source_id", metavar="ID")
    act("disable", "stop polling a source (enabled: false in the config)",
        "its entries stay").add_argument("source_id", metavar="ID")
    adder = act("add", "find a site's feed and add it to the config",
                "the URL itself, the page's announced feeds, then common paths; comments "
                "and order kept")
    adder.add_argument("url", metavar="URL")
    adder.add_argument("--id", dest="new_id", metavar="ID",
                       help="source id (default: from the feed's title)")
    adder.add_argument("--kind", choices=["member", "partner"], default="member")
    adder.add_argument("--category", metavar="ID", help="default category of its entries")
    act("list", "list the configured sources")
    remover = act("remove", "take a source out of the config",
                  "its stored entries age out with retention, or go now with --purge")
    remover.add_argument("source_id", metavar="ID")
    remover.add_argument("--purge", action="store_true",
                         help="also remove its entries from the store and every output")
    importer = act("import", "add the feeds of an OPML file to the config",
                   "comments and order are kept")
    importer.add_argument("opml", metavar="FILE.opml", type=Path)
    importer.add_argument("--kind", choices=["member", "partner"],
                          help="kind of the new sources (default: from the OPML outline)")
    return parser


def setup_logging(args: argparse.Namespace) -> None:
    service = args.command in ("run", "serve", "scheduler", "worker")
    level = (logging.DEBUG if getattr(args, "verbose", False)
             else logging.ERROR if getattr(args, "quiet", False)
             else logging.INFO if service else logging.WARNING)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(formatter(getattr(args, "log_format", "text")))
    log.handlers[:] = [handler]
    log.setLevel(level)
    log.propagate = False
    # the libraries' own lines (APScheduler's missed runs, urllib3's pool warnings, ...):
    # the same handler, so --log-format json holds for every line
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.WARNING if level < logging.ERROR else level)


