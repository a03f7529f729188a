"""The ingest stage: ONE source, top to bottom (fetch, parse, normalize, classify), as values;
it never writes the store.

source.py is the pipeline (ingest, read_document, Tools); fetch.py, transport.py and
netguard.py are polite and guarded HTTP; parse/ reads documents; normalize.py, limits.py,
undated.py and language.py make clean entries of them; report.py is a member's feed
report (`aggregator check`), discover.py finds a page's feeds, push.py takes WebSub pushes.
This file imports nothing: commands that read only the store never load requests."""
