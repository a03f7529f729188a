"""The commands: each reads its arguments, calls the facade (or the store-less operations)
and prints; errors go up to main as AggregatorError."""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sys
import threading
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any

from aggregator.cli.progress import TerminalProgress
from aggregator.cli.tables import status_table
from aggregator.config import load_settings
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
from aggregator.errors import ConfigError
from aggregator.models import CycleReport, StoredEntry
from aggregator.outcome import report_lines

if TYPE_CHECKING:
    from aggregator.config import Settings

log = logging.getLogger("aggregator")

EXIT_OK, EXIT_ERROR, EXIT_INTERRUPTED = 0, 1, 130


def config_path(args: argparse.Namespace) -> Path:
    return Path(getattr(args, "config", None) or os.environ.get("AGGREGATOR_CONFIG")
                or "config.yaml")


def cmd_check_config(args: argparse.Namespace) -> int:
    settings, warnings = check_config(config_path(args))
    print(f"{settings.config_path}: ok ({len(settings.sources)} sources, "
          f"{len(settings.categories)} categories)")
    for warning in warnings:
        print(f"warning: {warning}")
    return EXIT_OK


def cmd_check(args: argparse.Namespace) -> int:
    from aggregator.ingest.report import entries, format_name

    report = check_url(config_path(args), args.url)
    if args.json:
        print(json.dumps(report.as_json(), ensure_ascii=False, indent=2))
    else:
        print(f"{report.url}: {format_name(report.format)}, {entries(report.entries)}")
        for f in report.findings:
            print(f"{f.severity:<8} {f.code:<20} {f.message}")
    return EXIT_OK if report.ok else EXIT_ERROR


def _by_the_service(args: argparse.Namespace, kind: str, settings: Settings | None = None,
                    **request: Any) -> bool:
    """Hand the request to a running service; True when it did (its answer is printed)."""
    lines = ask_running_service(config_path(args), kind, settings=settings, **request)
    if lines is None:
        return False
    print("the running service answered:" if kind not in ("reload", "disable") else
          "the running service reloaded its config:")
    for line in lines:
        print(f"  {line}")
    return True


def cmd_poll(args: argparse.Namespace) -> int:
    if args.json:
        return _poll_json(args)
    settings = load_settings(config_path(args))  # read once: 0.24 s at 800 sources
    if _by_the_service(args, "poll", settings, sources=args.source):
        return EXIT_OK
    with Aggregator(settings) as agg:
        progress = TerminalProgress(enabled=None if not getattr(args, "quiet", False) else False)
        try:
            report = agg.update(args.source, progress=progress)
        finally:
            progress.finish()
        agg.publish()
        print_report(report, {s.id: s.name for s in agg.settings.sources})
    return EXIT_OK


def _poll_json(args: argparse.Namespace) -> int:
    """The cycle as one JSON object (DESIGN.md, CLI), whoever runs it."""
    from aggregator.outcome import cycle_json

    settings = load_settings(config_path(args))
    handed = ask_running_service(config_path(args), "poll", settings=settings,
                                 sources=args.source, json=True)
    if handed is not None:
        print(handed[0] if handed else "{}")
        return EXIT_OK
    with Aggregator(settings) as agg:
        report = agg.update(args.source)
        agg.publish()
        print(json.dumps(cycle_json(report, agg.timings), ensure_ascii=False, indent=2))
    return EXIT_OK


def print_report(report: CycleReport, names: dict[str, str]) -> None:
    print("\n".join(report_lines(report)))


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
    was_disabled = set_source_enabled(path, args.source_id, True)
    if was_disabled:
        print(f"{args.source_id}: enabled in {path}")
    if _by_the_service(args, "enable", source=args.source_id, was_disabled=was_disabled):
        return EXIT_OK
    with Aggregator.from_config(path) as agg:
        state = agg.enable_source(args.source_id, was_disabled)
        agg.publish()
    print(f"{state.source_id}: re-enabled; it is polled at the next tick")
    return EXIT_OK


def cmd_disable(args: argparse.Namespace) -> int:
    path = config_path(args)
    changed = set_source_enabled(path, args.source_id, False)
    print(f"{args.source_id}: {'disabled' if changed else 'already disabled'} in {path}; "
          "its stored entries stay")
    if not changed or _by_the_service(args, "disable", source=args.source_id):
        return EXIT_OK
    with Aggregator.from_config(path) as agg:
        agg.note_disabled(args.source_id)
        agg.publish()
    return EXIT_OK


def cmd_add(args: argparse.Namespace) -> int:
    from aggregator.ingest.report import entries, format_name

    path = config_path(args)
    found, added = add_source(path, args.url, args.new_id, args.kind, args.category)
    for i, feed in enumerate(found.feeds):
        mark = "added" if i == 0 and added else "found"
        print(f"{mark}: {feed.url}  ({format_name(feed.format)}, {entries(feed.entries)}, "
              f"{feed.title or 'untitled'})")
    if added:
        print(f"source {added} added to {path}" + (
            "; to add another of these feeds: aggregator sources add <its URL>"
            if len(found.feeds) > 1 else ""))
        if _by_the_service(args, "reload"):
            _by_the_service(args, "poll", sources=[added])  # read now, not at the next tick
        return EXIT_OK
    print(f"no feed found at {args.url}. If it is a news listing, read it with selectors:\n"
          + SCRAPE_SUGGESTION.format(url=args.url, id=args.new_id or "my-source"),
          file=sys.stderr)
    return EXIT_ERROR


SCRAPE_SUGGESTION = """  - id: {id}
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
    print(f"{args.source_id}: removed from {path}; " + (
        "its stored entries are removed too" if args.purge else
        "its stored entries age out with retention (--purge removes them now)"))
    _by_the_service(args, "reload")
    if args.purge and not _by_the_service(args, "purge", source=args.source_id):
        with Aggregator.from_config(path) as agg:
            lines = agg.purge_source(args.source_id)
            agg.publish()
        print("\n".join(lines))
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
    from aggregator.run.control import service_trouble

    with Aggregator.from_config(config_path(args), readonly=True) as agg:
        health = agg.status()
        if args.categories:
            return print_unmapped(agg, args.json)
        store_path = agg.settings.store.path
    trouble = service_trouble(store_path) if store_path else None
    if trouble:
        print(f"warning: the running service is not storing: {trouble}", file=sys.stderr)
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
    if args.action == "remove":
        return cmd_entries_remove(args)
    if args.removed:
        with Aggregator.from_config(config_path(args), readonly=True) as agg:
            print("\n".join(agg.removed_entries()) or "(no entry taken down)")
        return EXIT_OK
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


def cmd_entries_remove(args: argparse.Namespace) -> int:
    """A takedown: the entry and its copies leave every output and never come back."""
    if not args.target:
        raise ConfigError("entries remove: give the entry's key, id or link")
    if _by_the_service(args, "remove-entry", entry=args.target):
        return EXIT_OK
    with Aggregator.from_config(config_path(args)) as agg:
        lines = agg.remove_entry(args.target)
        agg.publish()
    print("\n".join(lines))
    return EXIT_OK


def entry_json(e: StoredEntry) -> dict[str, Any]:
    return {"key": e.key, "id": e.entry_id, "source": e.source_id, "title": e.title,
            "link": e.link, "published": iso(e.published), "updated": iso(e.updated),
            "categories": list(e.categories), "language": e.language, "via": list(e.via),
            "duplicate_of": e.duplicate_of, "merge_reason": e.merge_reason}
