"""app/templating.py: every value is escaped, a misspelled name fails, only rendered templates go in raw."""

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from hypothesis import given, settings, strategies as st

from app.pages import TEMPLATE_DIR
from app.templating import RenderedHtml, TemplateError, Templates

ROOT = Path(__file__).resolve().parent.parent
HOSTILE = "\"'><script>alert(1)</script>&amp;<!-- {{ csrf_token }} {% if x %}"


class Parsed(HTMLParser):
    """What a browser's tokenizer makes of the output: tags with their attributes, and the text."""

    def __init__(self, markup):
        super().__init__(convert_charrefs=True)
        self.tags, self.text = [], []
        self.feed(markup)
        self.close()

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, attrs))

    def handle_data(self, data):
        self.text.append(data)

    def handle_comment(self, data):
        self.tags.append(("!--", data))


@pytest.fixture
def templates(tmp_path):
    def make(**sources):
        for name, source in sources.items():
            (tmp_path / name).write_text(source, encoding="utf-8")
        return Templates(tmp_path)
    return make


def render(templates, source, **context):
    return templates(**{"t.html": source}).render("t.html", context)


def test_html_special_characters_in_text_are_escaped(templates):
    out = render(templates, "<p>{{ value }}</p>", value=HOSTILE)

    assert "<script>" not in out and "<!--" not in out
    parsed = Parsed(out)
    assert parsed.tags == [("p", [])] and "".join(parsed.text) == HOSTILE


@pytest.mark.parametrize("quote", ['"', "'"])
def test_a_value_cannot_leave_its_quoted_attribute(templates, quote):
    out = render(templates, f"<input name={quote}n{quote} value={quote}{{{{ value }}}}{quote}>",
                 value=HOSTILE + ' onfocus="alert(1)"')

    assert Parsed(out).tags == [("input", [("name", "n"), ("value", HOSTILE + ' onfocus="alert(1)"')])]


@pytest.fixture(scope="module")
def link_template(tmp_path_factory):
    folder = tmp_path_factory.mktemp("templates")
    (folder / "t.html").write_text('<a title="{{ v }}">{{ v }}</a>', encoding="utf-8")
    return Templates(folder)


@settings(max_examples=200, deadline=None)
@given(value=st.text())
def test_any_text_comes_back_unchanged_from_text_and_attribute_context(link_template, value):
    parsed = Parsed(link_template.render("t.html", {"v": value}))

    assert parsed.tags == [("a", [("title", value)])] and "".join(parsed.text) == value


def test_attribute_values_and_items_of_a_loop_are_escaped_too(templates):
    out = render(templates, '{% for item in items %}<a href="/x?{{ item.slug }}">{{ item.name }}</a>{% endfor %}',
                 items=[{"slug": 'a"b', "name": "<b>A</b>"}, {"slug": "c&d", "name": "B & C"}])

    assert out == '<a href="/x?a&quot;b">&lt;b&gt;A&lt;/b&gt;</a><a href="/x?c&amp;d">B &amp; C</a>'


def test_a_value_is_never_read_as_template_syntax(templates):
    out = render(templates, "{{ value }}", value="{{ secret }}{% for x in y %}", secret="leaked")

    assert out == "{{ secret }}{% for x in y %}" and "leaked" not in out


def test_a_str_subclass_claiming_to_be_html_is_escaped_like_any_value(templates):
    class Markup(str):
        def __html__(self):
            return self

    assert render(templates, "{{ value }}", value=Markup("<b>bold</b>")) == "&lt;b&gt;bold&lt;/b&gt;"


def test_non_string_values_are_escaped_through_str(templates):
    class Shouty:
        def __str__(self):
            return "<shout>"

    assert render(templates, "{{ a }}|{{ b }}|{{ c }}", a=Shouty(), b=0, c=3.5) == "&lt;shout&gt;|0|3.5"


def test_a_rendered_template_is_inserted_once_and_not_escaped_again(templates):
    pages = templates(**{"base.html": "<title>{{ title }}</title><main>{{ body }}</main>",
                         "page.html": "<p>{{ message }}</p>"})

    out = pages.page("page.html", {"title": "A < B", "message": "x & y", "body": "<i>ignored</i>"})

    assert out == "<title>A &lt; B</title><main><p>x &amp; y</p></main>"
    assert isinstance(out, RenderedHtml)


def test_only_the_renderer_creates_rendered_html():
    users = [path.relative_to(ROOT) for path in (ROOT / "app").rglob("*.py")
             if "RenderedHtml" in path.read_text(encoding="utf-8")]

    assert users == [Path("app/templating.py")]


@pytest.mark.parametrize("source, values", [
    ("{{ usre }}", {"user": "ada"}),
    ("{{ user.nmae }}", {"user": {"name": "ada"}}),
    ("{{ tenant.nmae }}", {"tenant": type("Tenant", (), {"name": "Acme"})()}),
    ("{% if eror %}x{% endif %}", {"error": "bad"}),
    ("{% for item in itmes %}x{% endfor %}", {"items": [1]}),
    ("{% for item in items %}{{ item.nmae }}{% endfor %}", {"items": [{"name": "a"}]}),
])
def test_a_misspelled_name_fails_loudly_instead_of_rendering_empty(templates, source, values):
    with pytest.raises(TemplateError, match=r"t\.html: .*(usre|nmae|eror|itmes)"):
        render(templates, source, **values)


def test_none_and_false_render_nothing_and_pick_the_else_branch(templates):
    source = "[{{ a }}][{{ b }}][{{ c.d }}]{% if a %}yes{% else %}no{% endif %}{% for x in a %}x{% endfor %}"

    assert render(templates, source, a=None, b=False, c=None) == "[][][]no"


def test_if_else_and_nested_loops_render_in_order(templates):
    source = ("{% for row in rows %}{{ row.name }}:{% for cell in row.cells %}{{ cell }},{% endfor %}"
              "{% if row.last %};{% else %}|{% endif %}{% endfor %}")
    rows = [{"name": "a", "cells": [1, 2], "last": False}, {"name": "b", "cells": [], "last": True}]

    assert render(templates, source, rows=rows) == "a:1,2,|b:;"


@pytest.mark.parametrize("source", [
    "{{ value|safe }}",          # no filters: nothing can switch escaping off
    "{{ value + 1 }}",
    "{{ Value }}",
    "{{ }}",
    "{% raw %}x{% endraw %}",
    "{% include 'other.html' %}",
    "{% if a %}never closed",
    "{% for a in b %}never closed",
    "{% endif %}",
    "{% else %}",
    "{% for a in b %}{% endif %}",
])
def test_templates_outside_the_small_syntax_are_refused_when_loaded(templates, source):
    with pytest.raises(TemplateError):
        templates(**{"t.html": source})


def test_an_unknown_template_name_is_an_error(templates):
    with pytest.raises(TemplateError, match="no template"):
        templates(**{"t.html": "x"}).render("missing.html", {})


def test_every_shipped_template_loads_and_quotes_every_value_inside_a_tag():
    sources = {path.name: path.read_text(encoding="utf-8") for path in Path(TEMPLATE_DIR).glob("*.html")}
    assert "base.html" in sources
    Templates(TEMPLATE_DIR)
    for name, source in sources.items():
        for tag in re.findall(r"<[^>]*>", re.sub(r"{%.*?%}", "", source, flags=re.S)):
            for match in re.finditer(r"{{", tag):
                # Escaping keeps a value inside quotes; unquoted, a space would start a new attribute.
                assert tag[:match.start()].count('"') % 2 == 1, f"{name}: unquoted value in {tag}"
