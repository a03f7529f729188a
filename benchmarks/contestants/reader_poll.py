"""`reader` (https://pypi.org/project/reader/) polling the benchmark network, as its docs
advise: one database, every feed added, ``update_feeds(workers=4)``, with
``scheduled=False`` so every feed is fetched on every run, like a poll of ours. Run with the
Python of reader's own virtual environment (it pins an older feedparser than ours).

    python reader_poll.py DB URLS_FILE   -> prints the number of entries stored
"""

import sys
from pathlib import Path

from reader import make_reader

reader = make_reader(sys.argv[1])
for url in Path(sys.argv[2]).read_text().split():
    reader.add_feed(url, exist_ok=True)
reader.update_feeds(workers=4, scheduled=False)  # every feed, as a poll of ours
print(reader.get_entry_counts().total)
reader.close()
