"""Thin commands: parse arguments, call the Aggregator, turn errors into a message + exit code."""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sys
import threading
from collections.abc import Callable, Sequence
from dataclasses import asdict
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any

from aggregator.cli.progress import TerminalProgress
from aggregator.cli.tables import status_table
from aggregator.core import (
    Aggregator,
    add_source,
    ask_running_service,
    check_config,
    check_url,
    explanation_text,
    import_sources,
    remove_source,
    serve,
    set_source_enabled,
)
from aggregator.dates import iso
from aggregator.errors import AggregatorError, ConfigError
from aggregator.logs import formatter
from aggregator.models import CycleReport, StoredEntry
from aggregator.version import __version__

if TYPE_CHECKING:
    from aggregator.config import Settings

log = logging.getLogger("aggregator")

EXIT_OK, EXIT_ERROR, EXIT_INTERRUPTED = 0, 1, 130


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
    entries = add("entries", cmd_entries, "list or count stored entries")
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
    act("remove", "take a source out of the config",
        "its stored entries age out with retention").add_argument("source_id", metavar="ID")
    importer = act("import", "add the feeds of an OPML file to the config",
                   "comments and order are kept")
    importer.add_argument("opml", metavar="FILE.opml", type=Path)
    importer.add_argument("--kind", choices=["member", "partner"],
                          help="kind of the new sources (default: from the OPML outline)")
    return parser


def config_path(args: argparse.Namespace) -> Path:
    return Path(getattr(args, "config", None) or os.environ.get("AGGREGATOR_CONFIG")
                or "config.yaml")


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


# -- commands --------------------------------------------------------------------------------

def cmd_check_config(args: argparse.Namespace) -> int:
    settings, warnings = check_config(config_path(args))
    print(f"{settings.config_path}: ok ({len(settings.sources)} sources, "
          f"{len(settings.categories)} categories)")
    for warning in warnings:
        print(f"warning: {warning}")
    return EXIT_OK


def cmd_check(args: argparse.Namespace) -> int:
    report = check_url(config_path(args), args.url)
    if args.json:
        print(json.dumps(report.as_json(), ensure_ascii=False, indent=2))
    else:
        print(f"{report.url}: {report.format or 'unreadable'}, {report.entries} entries")
        for f in report.findings:
            print(f"{f.severity:<8} {f.code:<20} {f.message}")
    return EXIT_OK if report.ok else EXIT_ERROR


def _by_the_service(args: argparse.Namespace, kind: str, **request: Any) -> bool:
    """Hand the request to a running service; True when it did (its answer is printed)."""
    lines = ask_running_service(config_path(args), kind, **request)
    if lines is None:
        return False
    print("the running service answered:" if kind != "reload" else
          "the running service reloaded its config:")
    for line in lines:
        print(f"  {line}")
    return True


def cmd_poll(args: argparse.Namespace) -> int:
    if _by_the_service(args, "poll", sources=args.source):
        return EXIT_OK
    with Aggregator.from_config(config_path(args)) as agg:
        progress = TerminalProgress(enabled=None if not getattr(args, "quiet", False) else False)
        try:
            report = agg.update(args.source, progress=progress)
        finally:
            progress.finish()
        agg.publish()
        print_report(report, {s.id: s.name for s in agg.settings.sources})
    return EXIT_OK


def print_report(report: CycleReport, names: dict[str, str]) -> None:
    width = max((len(r.source_id) for r in report.results), default=0)
    for r in report.results:
        if r.outcome == "error":
            detail = r.error or "failed"
        elif r.outcome == "not_modified":
            detail = "not modified"
        elif r.outcome == "deferred":
            detail = r.error or "deferred"
        else:
            detail = f"{r.new} new, {r.changed} updated"
        print(f"{r.source_id:<{width}}  {r.outcome:<12}  {detail}")
    print(f"total: {len(report.results)} sources, {report.new} new, {report.updated} updated, "
          f"{report.failed} failed")


def cmd_build(args: argparse.Namespace) -> int:
    if _by_the_service(args, "build"):  # one process writes the outputs
        return EXIT_OK
    with Aggregator.from_config(config_path(args), readonly=True) as agg:
        changed = agg.publish(full=True)
        print(f"{len(changed)} file(s) written to {agg.settings.output.dir}")
    return EXIT_OK


def _scale_out_settings(args: argparse.Namespace) -> Settings:
    from aggregator.config import load_settings
    settings = load_settings(config_path(args))
    if settings.store.url is None:
        raise ConfigError(f"{config_path(args)}: store.url: set a postgresql:// URL to run "
                          f"the {args.command} (scale-out needs the PostgreSQL store)")
    return settings


def cmd_db(args: argparse.Namespace) -> int:
    from aggregator.store.migrate import latest_version, upgrade
    settings = _scale_out_settings(args)
    applied = upgrade(settings.store.url or "")
    for name in applied:
        print(f"applied {name}")
    print(f"schema at version {latest_version()}")
    return EXIT_OK


def cmd_scheduler(args: argparse.Namespace) -> int:
    from aggregator.run.celery.app import make_app
    from aggregator.run.celery.claimer import run
    from aggregator.store.postgres import PostgresStore
    settings = _scale_out_settings(args)
    store = PostgresStore(settings.store.url or "")
    try:
        run(settings, store, make_app(settings.queue.broker,
                                      settings.queue.lease.total_seconds()),
            _stop_on_signals())
    finally:
        store.close()
    return EXIT_OK


def cmd_worker(args: argparse.Namespace) -> int:
    from aggregator.run.celery.app import make_app
    settings = _scale_out_settings(args)
    os.environ["AGGREGATOR_CONFIG"] = str(settings.config_path)  # the tasks read it
    app = make_app(settings.queue.broker, settings.queue.lease.total_seconds())
    app.worker_main(["worker", f"--concurrency={max(1, args.concurrency)}",
                     "--loglevel=INFO", "--without-gossip", "--without-mingle",
                     "--without-heartbeat", f"--queues={app.conf.task_default_queue}"])
    return EXIT_OK


def cmd_serve(args: argparse.Namespace) -> int:
    serve(config_path(args), _stop_on_signals())
    return EXIT_OK


def cmd_run(args: argparse.Namespace) -> int:
    reload = threading.Event()
    signal.signal(signal.SIGHUP, lambda signum, frame: reload.set())
    with Aggregator.from_config(config_path(args)) as agg:
        agg.run(_stop_on_signals(), reload, args.watch_config)
    log.info("stopped")
    return EXIT_OK


def _stop_on_signals() -> threading.Event:
    stop = threading.Event()

    def handler(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)
    return stop


def cmd_sources(args: argparse.Namespace) -> int:
    actions: dict[str, Callable[[argparse.Namespace], int]] = {
        "import": cmd_import, "add": cmd_add, "list": cmd_list, "remove": cmd_remove,
        "enable": cmd_enable, "disable": cmd_disable}
    return actions[args.action](args)


def cmd_enable(args: argparse.Namespace) -> int:
    path = config_path(args)
    if set_source_enabled(path, args.source_id, True):
        print(f"{args.source_id}: enabled in {path}")
    if _by_the_service(args, "enable", source=args.source_id):
        return EXIT_OK
    with Aggregator.from_config(path) as agg:
        state = agg.enable_source(args.source_id)
    print(f"{state.source_id}: re-enabled; it is polled at the next tick")
    return EXIT_OK


def cmd_disable(args: argparse.Namespace) -> int:
    path = config_path(args)
    changed = set_source_enabled(path, args.source_id, False)
    print(f"{args.source_id}: {'disabled' if changed else 'already disabled'} in {path}; "
          "its stored entries stay")
    _by_the_service(args, "reload")
    return EXIT_OK


def cmd_add(args: argparse.Namespace) -> int:
    path = config_path(args)
    found, added = add_source(path, args.url, args.new_id, args.kind, args.category)
    for i, feed in enumerate(found.feeds):
        mark = "added" if i == 0 and added else "found"
        print(f"{mark}: {feed.url}  ({feed.format}, {feed.entries} entries, "
              f"{feed.title or 'untitled'})")
    if added:
        print(f"source {added} added to {path}" + (
            "; to add another of these feeds: aggregator sources add <its URL>"
            if len(found.feeds) > 1 else ""))
        _by_the_service(args, "reload")
        return EXIT_OK
    print(f"no feed found at {args.url}. If it is a news listing, read it with selectors:\n"
          + SCRAPE_SUGGESTION.format(url=args.url), file=sys.stderr)
    return EXIT_ERROR


SCRAPE_SUGGESTION = """  - id: my-source
    name: "..."
    url: "{url}"
    kind: member
    scrape:
      item: "article"          # one match per post
      title: "h2 a"            # its title (text)
      link: "h2 a"             # its link (href)
      summary: "p"             # optional
      date: "time"             # optional: datetime attribute or text
      # meta: "p.meta"         # optional, with pattern: '^(?P<category>.*?) - (?P<date>.+)$'"""


def cmd_list(args: argparse.Namespace) -> int:
    settings, _ = check_config(config_path(args))
    base = settings.config_path.parent
    width = max((len(s.id) for s in settings.sources), default=0)
    for s in settings.sources:
        flags = ", ".join(f for f, on in (("disabled", not s.enabled),
                                          ("scraped", s.scrape is not None)) if on)
        print(f"{s.id:<{width}}  {s.kind:<7}  {s.location(base)}" + (f"  [{flags}]"
                                                                     if flags else ""))
    return EXIT_OK


def cmd_remove(args: argparse.Namespace) -> int:
    path = config_path(args)
    remove_source(path, args.source_id)
    print(f"{args.source_id}: removed from {path}; its stored entries age out with retention")
    _by_the_service(args, "reload")
    return EXIT_OK


def cmd_import(args: argparse.Namespace) -> int:
    path = config_path(args)
    try:
        opml = args.opml.read_bytes()
    except OSError as e:
        raise ConfigError(f"{args.opml}: cannot read: {e.strerror or e}") from e
    report = import_sources(path, opml, args.kind)
    for source_id in report.added:
        print(f"added {source_id}")
    for why in report.skipped:
        print(f"skipped {why}")
    print(f"{len(report.added)} source(s) added to {path}")
    if report.added:
        _by_the_service(args, "reload")
    return EXIT_OK


def cmd_explain(args: argparse.Namespace) -> int:
    with Aggregator.from_config(config_path(args), readonly=True) as agg:
        info = agg.explain(args.entry)
    print(json.dumps(info, ensure_ascii=False, indent=2) if args.json else explanation_text(info))
    return EXIT_OK


def cmd_status(args: argparse.Namespace) -> int:
    with Aggregator.from_config(config_path(args), readonly=True) as agg:
        health = agg.status()
        if args.categories:
            return print_unmapped(agg, args.json)
    if args.json:
        print(json.dumps([asdict(h) for h in health], ensure_ascii=False, indent=2))
    else:
        print("\n".join(status_table(health, args.wide)))
    return EXIT_OK


def print_unmapped(agg: Aggregator, as_json: bool) -> int:
    """Raw category words per source that map to no hub category, most frequent first."""
    words = agg.unmapped()
    if as_json:
        print(json.dumps(words, ensure_ascii=False, indent=2))
        return EXIT_OK
    for source_id, counts in words.items():
        listed = ", ".join(f"{w} ({n})" for w, n in
                           sorted(counts.items(), key=lambda x: (-x[1], x[0])))
        print(f"{source_id}: {listed or '(every word maps)'}")
    return EXIT_OK


def cmd_entries(args: argparse.Namespace) -> int:
    with Aggregator.from_config(config_path(args), readonly=True) as agg:
        if args.count and not args.include_duplicates:  # the store keeps counts
            print(agg.count_entries(category=args.category, source_id=args.source))
            return EXIT_OK
        entries = agg.entries(category=args.category, source_id=args.source,
                              include_duplicates=args.include_duplicates)
    if args.count:
        print(len(entries))
    elif args.json:
        print(json.dumps([entry_json(e) for e in entries], ensure_ascii=False, indent=2))
    else:
        for e in entries:
            copy = f"  [copy of {e.duplicate_of}]" if e.duplicate_of else ""
            print(f"{e.published:%Y-%m-%d}  {e.source_id:<16}  {','.join(e.categories):<24}  "
                  f"{e.title}  <{e.link or '-'}>{copy}")
    return EXIT_OK


def entry_json(e: StoredEntry) -> dict[str, Any]:
    return {"key": e.key, "id": e.entry_id, "source": e.source_id, "title": e.title,
            "link": e.link, "published": iso(e.published), "updated": iso(e.updated),
            "categories": list(e.categories), "language": e.language, "via": list(e.via),
            "duplicate_of": e.duplicate_of, "merge_reason": e.merge_reason}
