"""The Celery application: broker from ``queue.broker``, acks late, prefetch 1, no result
backend. Task settings live here; the tasks are in tasks.py."""

from __future__ import annotations

from typing import Any

QUEUE = "aggregator"


def make_app(broker: str, lease_seconds: float) -> Any:
    from celery import Celery

    app = Celery("aggregator", broker=broker, include=["aggregator.run.celery.tasks"])
    app.conf.update(
        task_acks_late=True,  # a task a dead worker held is delivered again...
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,  # ...and a worker holds one at a time
        task_ignore_result=True, result_backend=None,
        task_default_queue=QUEUE,
        # a message not acknowledged within the lease comes back; its claim token is stale
        # by then, so the fenced write stores nothing twice
        broker_transport_options={"visibility_timeout": max(30, int(lease_seconds))},
        worker_hijack_root_logger=False, broker_connection_retry_on_startup=True,
        task_serializer="json", accept_content=["json"])
    return app
