"""GET /static/{name}: the stylesheet and images of the service's pages."""

from pathlib import Path

import falcon

from app.pages import STATIC_DIR


class StaticResource:
    """GET /static/{name}: the stylesheet (read once)."""

    TYPES = {".css": "text/css; charset=utf-8", ".png": "image/png", ".svg": "image/svg+xml"}

    def __init__(self, folder=STATIC_DIR):
        self._files = {path.name: (path.read_bytes(), self.TYPES.get(path.suffix, "application/octet-stream"))
                       for path in Path(folder).iterdir() if path.is_file()}

    def on_get(self, req, resp, name):
        if name not in self._files:
            raise falcon.HTTPNotFound()
        resp.data, resp.content_type = self._files[name]
        resp.set_header("Cache-Control", "public, max-age=3600")
