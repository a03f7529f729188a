"""The publish stage: decide what to render from the store (feeds.py, site.py, search.py),
hand the bytes to the output dir (sink.py), and ping WebSub hubs (websub.py).
This file imports nothing: importing the sink does not load the renderers."""
