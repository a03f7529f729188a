"""python -m aggregator"""

from .cli import main

raise SystemExit(main())
