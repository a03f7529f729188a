"""The drivers, the only owners of threads, processes, clocks and locks: the poll cycle
(cycle.py), its store writes (outcomes.py), the service (service.py, control.py, heap.py),
the host gate shared in Redis (hosts.py), and the scale-out Celery app (celery/)."""
