"""The WSGI entry point gunicorn serves: app.wsgi:application."""

import logging
import sys

from app import create_app
from app.config import ConfigError, load_config
from app.keygen import KeyConfigurationError
from app.logs import configure_json_logging

configure_json_logging(logging.INFO)

try:
    application = create_app(load_config())
except (ConfigError, KeyConfigurationError) as exc:
    # One line that says what is wrong, then stop: gunicorn reports the worker failed to boot.
    print(f"configuration error: {exc}", file=sys.stderr)
    sys.exit(3)
