"""A tiny HTML template renderer where every interpolated value is escaped by the renderer itself.

Syntax: {{ name }} or {{ item.attr }} (always escaped), {% if name %}…{% else %}…{% endif %},
{% for item in items %}…{% endfor %}. The only unescaped text is a rendered template: a page's
body is placed into base.html as RenderedHtml, a type nothing outside this module creates.
A name the context lacks is a TemplateError (a misspelling fails loudly); a value of None or False
renders nothing.
"""

import html
import re
from pathlib import Path

_TOKEN = re.compile(r"({{.*?}}|{%.*?%})", re.S)
_NAME = re.compile(r"^[a-z_][a-z0-9_]*(\.[a-z_][a-z0-9_]*)*$")


class TemplateError(Exception):
    pass


class RenderedHtml(str):
    """Output of the renderer; the one kind of value inserted without escaping."""


def _lookup(context, dotted):
    value = context
    for part in dotted.split("."):
        if value is None:
            return None
        if isinstance(value, dict):
            if part not in value:
                raise TemplateError(f"{dotted!r}: no {part!r} in the context")
            value = value[part]
        elif hasattr(value, part):
            value = getattr(value, part)
        else:
            raise TemplateError(f"{dotted!r}: {type(value).__name__} has no attribute {part!r}")
    return value


def _parse(source, name):
    """Turn template text into a tree of ("text", s) / ("var", n) / ("if", …) / ("for", …) nodes."""
    root = []
    stack = [("root", root, None)]
    for piece in _TOKEN.split(source):
        body = stack[-1][1]
        if piece.startswith("{{"):
            expression = piece[2:-2].strip()
            if not _NAME.match(expression):
                raise TemplateError(f"{name}: bad expression {expression!r}")
            body.append(("var", expression))
        elif piece.startswith("{%"):
            words = piece[2:-2].split()
            if words[:1] == ["if"] and len(words) == 2:
                node = ["if", words[1], [], []]
                body.append(node)
                stack.append(("if", node[2], node))
            elif words == ["else"] and stack[-1][0] == "if":
                kind, _, node = stack.pop()
                stack.append(("else", node[3], node))
            elif words == ["endif"] and stack[-1][0] in ("if", "else"):
                stack.pop()
            elif words[:1] == ["for"] and len(words) == 4 and words[2] == "in":
                node = ["for", words[1], words[3], []]
                body.append(node)
                stack.append(("for", node[3], node))
            elif words == ["endfor"] and stack[-1][0] == "for":
                stack.pop()
            else:
                raise TemplateError(f"{name}: unexpected tag {piece!r}")
        elif piece:
            body.append(("text", piece))
    if len(stack) != 1:
        raise TemplateError(f"{name}: unclosed {stack[-1][0]}")
    return root


def _render(nodes, context, out):
    for node in nodes:
        kind = node[0]
        if kind == "text":
            out.append(node[1])
        elif kind == "var":
            value = _lookup(context, node[1])
            if value is None or value is False:
                continue
            out.append(value if isinstance(value, RenderedHtml) else html.escape(str(value), quote=True))
        elif kind == "if":
            _render(node[2] if _lookup(context, node[1]) else node[3], context, out)
        elif kind == "for":
            for item in _lookup(context, node[2]) or ():
                _render(node[3], {**context, node[1]: item}, out)


class Templates:
    """Templates loaded and parsed once from a folder."""

    def __init__(self, folder):
        self._trees = {path.name: _parse(path.read_text(encoding="utf-8"), path.name)
                       for path in Path(folder).glob("*.html")}

    def render(self, name, context):
        if name not in self._trees:
            raise TemplateError(f"no template {name!r}")
        out = []
        try:
            _render(self._trees[name], context, out)
        except TemplateError as error:
            raise TemplateError(f"{name}: {error}") from None
        return RenderedHtml("".join(out))

    def page(self, name, context):
        """A page: the named template rendered inside base.html."""
        body = self.render(name, context)
        return self.render("base.html", {**context, "body": body})
