"""Request parameters: parsed once, repeated names refused (RFC 6749 §3.1), blanks treated as absent."""

from urllib.parse import parse_qsl

from app.errors import InvalidRequest, PayloadTooLarge, ValidationFailed

FORM_TYPE = "application/x-www-form-urlencoded"


def _collect(pairs):
    values = {}
    for name, value in pairs:
        if name in values:
            raise InvalidRequest(f"Parameter '{name}' is repeated")
        if "\x00" in name or "\x00" in value:
            raise InvalidRequest(f"Parameter '{name.replace(chr(0), '')}' contains a NUL character")
        values[name] = value
    # "Parameters sent without a value MUST be treated as if they were omitted."
    return {name: value for name, value in values.items() if value != ""}


def query_params(req):
    try:
        return _collect(parse_qsl(req.query_string, keep_blank_values=True, errors="strict"))
    except UnicodeDecodeError:
        raise InvalidRequest("The query string is not valid UTF-8") from None


def read_body(req, max_bytes):
    """The raw body, refusing oversized ones before reading them (chunked bodies are read up to the limit)."""
    length = req.content_length
    if length is None:
        chunked = "chunked" in (req.get_header("Transfer-Encoding") or "").lower()
        return req.stream.read(max_bytes + 1) if chunked else b""
    if length > max_bytes:
        raise PayloadTooLarge(f"The request body is larger than {max_bytes} bytes")
    return req.bounded_stream.read(max_bytes + 1) if length else b""


def form_params(req, max_bytes):
    """Parameters of an application/x-www-form-urlencoded body."""
    body = read_body(req, max_bytes)
    if len(body) > max_bytes:
        raise PayloadTooLarge(f"The request body is larger than {max_bytes} bytes")
    if not body:
        return {}
    media_type = (req.content_type or "").split(";", 1)[0].strip().lower()
    if media_type != FORM_TYPE:
        raise InvalidRequest(f"The request body must be {FORM_TYPE}")
    try:
        return _collect(parse_qsl(body.decode("utf-8"), keep_blank_values=True, errors="strict"))
    except UnicodeDecodeError:
        raise InvalidRequest("The request body is not valid UTF-8") from None


def require(params, location, *names):
    """422 naming every required parameter that is absent (spec's HTTPValidationError)."""
    missing = [name for name in names if name not in params]
    if missing:
        raise ValidationFailed.missing(location, *missing)
