"""Documents -> ParsedFeed: the guarded fast path over lxml (fast_path.py), feedparser
(feedparser_path.py), JSON Feed (jsonfeed.py), pages by CSS selectors (scrape.py); what makes
a body safe to parse (xmlguard.py, charset.py), and the bounded worker processes (pool.py)."""
