"""The static site: language trees of paginated rivers (layout), rendered with Jinja2 and
Babel (pages, i18n), and its search index (search)."""
