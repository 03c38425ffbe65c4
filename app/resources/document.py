"""A fixed JSON document built once at start and served with a public cache lifetime."""

import json

import falcon


class JsonDocumentResource:
    def __init__(self, document, max_age=300):
        self._body = json.dumps(document, indent=2).encode("utf-8")
        self._cache_control = f"public, max-age={max_age}"

    def on_get(self, req, resp):
        resp.content_type = falcon.MEDIA_JSON
        resp.data = self._body
        resp.set_header("Cache-Control", self._cache_control)
