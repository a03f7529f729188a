"""An operator's theme (issue 28): templates and a stylesheet overriding the shipped ones,
checked by check-config."""

from __future__ import annotations

from pathlib import Path

from conftest import EXAMPLES, ROOT, write_config
from test_cli import cli

SHIPPED = ROOT / "aggregator" / "render" / "site" / "templates"


def themed(tmp_path: Path) -> Path:
    theme = tmp_path / "theme"
    (theme / "templates").mkdir(parents=True)
    base = (SHIPPED / "base.html").read_text()
    (theme / "templates" / "base.html").write_text(
        base.replace("</body>", "<p class=\"run-by\">Run by the network</p>\n</body>"))
    (theme / "style.css").write_bytes((ROOT / "examples" / "theme" / "style.css").read_bytes())
    (tmp_path / "city.xml").write_bytes((EXAMPLES / "durban-member-rss1.xml").read_bytes())
    return write_config(tmp_path, [{"id": "city", "kind": "member", "path": "city.xml"}],
                        output={"dir": "feeds", "theme": "theme"})


def test_a_theme_overrides_templates_and_styles(tmp_path: Path) -> None:
    config = themed(tmp_path)
    assert cli("check-config", "--config", str(config)).returncode == 0
    assert cli("poll", "--config", str(config)).returncode == 0
    out = tmp_path / "feeds"
    for page in ("index.html", "fr/index.html", "source/city.html"):
        html = (out / page).read_text()
        assert "Run by the network" in html and 'theme.css">' in html, page
    assert (out / "theme.css").read_bytes() == (tmp_path / "theme" / "style.css").read_bytes()
    base = tmp_path / "theme" / "templates" / "base.html"  # edited: the next publish shows it
    base.write_text(base.read_text().replace("Run by the network", "Kept by the network"))
    assert cli("poll", "--config", str(config)).returncode == 0
    for page in ("index.html", "members/city.html", "source/city.html"):
        assert "Kept by the network" in (out / page).read_text(), page


def test_check_config_names_what_is_wrong_with_a_theme(tmp_path: Path) -> None:
    config = themed(tmp_path)
    (tmp_path / "theme" / "templates" / "footer.html").write_text("<p>x</p>")
    (tmp_path / "theme" / "templates" / "river.html").write_text(
        "{% extends 'base.html' %}\n{% block main %}\n{% if x %}\n{% endblock %}\n")
    checked = cli("check-config", "--config", str(config))
    assert checked.returncode == 1
    assert "output.theme: " in checked.stderr and "footer.html: overrides no template" in \
        checked.stderr
    assert "river.html:4: " in checked.stderr


def test_no_theme_no_link(tmp_path: Path) -> None:
    (tmp_path / "city.xml").write_bytes((EXAMPLES / "durban-member-rss1.xml").read_bytes())
    config = write_config(tmp_path, [{"id": "city", "kind": "member", "path": "city.xml"}])
    assert cli("poll", "--config", str(config)).returncode == 0
    assert "theme.css" not in (tmp_path / "feeds" / "index.html").read_text()
    assert not (tmp_path / "feeds" / "theme.css").exists()


def test_a_themes_navigation_is_its_own_and_knows_every_page(tmp_path: Path) -> None:
    """nav.html is rendered once for many pages (pages.site_nav); a theme's own is told
    which page it is on, a source's page too (the shipped one marks categories and the
    hub's own pages only, so source pages share one)."""
    config = themed(tmp_path)
    (tmp_path / "theme" / "templates" / "nav.html").write_text(
        '<nav class="mine" data-current="{{ current }}"><a href="{{ home }}index.html">'
        "{{ _('Sources') }}</a></nav>\n")
    assert cli("poll", "--config", str(config)).returncode == 0
    out = tmp_path / "feeds"
    assert '<nav class="mine" data-current="source/city"><a href="../index.html">' in (
        out / "source" / "city.html").read_text()
    assert '<nav class="mine" data-current="sources"><a href="index.html">' in (
        out / "sources.html").read_text()
    assert '<nav class="mine" data-current="source/city"><a href="../index.html">' in (
        out / "fr" / "source" / "city.html").read_text()  # in another tree too
    assert '<nav class="mine" data-current=""><a href="index.html">Sources</a>' in (
        out / "fr" / "index.html").read_text()  # in its language
    assert 'aria-label="Categories"' not in (out / "index.html").read_text()
