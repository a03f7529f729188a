"""Scale-out: the PostgreSQL store's sources table owns the schedule; ``aggregator scheduler``
claims due sources (SKIP LOCKED, a lease, a claim token) and sends one Celery task per
source; ``aggregator worker`` runs them: ingest one source, store the outcome only while
its claim holds. Per-host politeness and Retry-After are shared in Redis (run/hosts.py).
docs/scale-out.md tells how to run it."""
