"""Administration CLI: python -m app … (JSON on stdout; one line on stderr and exit ≠ 0 on error)."""

import argparse
import json
import sys

from app import admin
from app.application import build_services, prepare_database
from app.config import ConfigError, load_config
from app.db import migrate
from app.demo import as_text, create_demo
from app.housekeeping import prune
from app.keygen import KeyConfigurationError
from app.store.signing_keys import list_keys, rotate_keys


class CliError(Exception):
    pass


class TextOutput(str):
    """A result printed as it is, not as JSON."""


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        raise CliError(f"{self.prog}: {message}")


def _parser():
    parser = _Parser(prog="python -m app", description="Platform OAuth service administration")
    groups = parser.add_subparsers(dest="group", required=True, parser_class=_Parser)

    db = groups.add_parser("db", help="database").add_subparsers(dest="action", required=True)
    db.add_parser("migrate", help="apply pending migrations")
    prune = db.add_parser("prune", help="delete expired codes, sessions, tokens and throttle rows")
    prune.add_argument("--audit-days", type=int, default=365, help="keep audit events this many days")

    tenant = groups.add_parser("tenant").add_subparsers(dest="action", required=True)
    tenant_create = tenant.add_parser("create")
    tenant_create.add_argument("--slug", required=True)
    tenant_create.add_argument("--name", required=True)

    user = groups.add_parser("user").add_subparsers(dest="action", required=True)
    user_create = user.add_parser("create")
    user_create.add_argument("--tenant", required=True, help="tenant slug")
    user_create.add_argument("--email", required=True)
    user_create.add_argument("--name", required=True)
    user_create.add_argument("--given-name", default="")
    user_create.add_argument("--family-name", default="")
    user_create.add_argument("--email-verified", action="store_true")
    user_create.add_argument("--password-stdin", action="store_true", required=True,
                             help="read the password as one line from standard input")

    client = groups.add_parser("client").add_subparsers(dest="action", required=True)
    client_create = client.add_parser("create")
    client_create.add_argument("--name", required=True)
    client_create.add_argument("--audience", required=True, type=str.lower, choices=["global", "tenant"])
    client_create.add_argument("--tenant", help="tenant slug (tenant clients only)")
    client_create.add_argument("--grant", action="append", default=[], required=True,
                               help="grant type as on the wire; repeat for several")
    client_create.add_argument("--redirect-uri", action="append", default=[])
    client_create.add_argument("--post-logout-redirect-uri", action="append", default=[])
    client_create.add_argument("--scope", action="append", default=[],
                               help="allowed scope; repeat (a space-separated list also works)")
    client_create.add_argument("--public", action="store_true", help="no secret (native or browser app)")
    client_create.add_argument("--access-token-ttl", type=int)
    client_create.add_argument("--refresh-token-ttl", type=int)
    client_create.add_argument("--auth-method", choices=admin.AUTH_METHODS,
                               help="client authentication (default client_secret_basic; none with --public)")
    client_create.add_argument("--jwks-file", help="private_key_jwt: a JSON file with the client's public keys (JWKS)")
    client_create.add_argument("--require-consent", action="store_true", help="ask the user's consent (third party)")
    client_create.add_argument("--require-par", action="store_true", help="authorization requests must be pushed")
    client_create.add_argument("--require-dpop", action="store_true", help="issue DPoP-bound tokens only")
    client_create.add_argument("--refresh-grace-seconds", type=int, default=0,
                               help="how long a just-rotated refresh token may be presented again (0-300)")
    client.add_parser("list")

    keys = groups.add_parser("keys").add_subparsers(dest="action", required=True)
    rotate = keys.add_parser("rotate", help="publish a new signing key; it signs after OAUTH_KEY_ACTIVATION_DELAY")
    rotate.add_argument("--now", action="store_true", help="sign with the new key at once (a suspected leak)")
    keys.add_parser("list")

    demo = groups.add_parser("demo", help="create a demo tenant, user and clients and print a walkthrough")
    demo.add_argument("--text", action="store_true", help="print the walkthrough as text instead of JSON")
    return parser


def _read_jwks(path):
    try:
        with open(path, encoding="utf-8") as handle:
            return json.load(handle)
    except OSError as exc:
        raise CliError(f"cannot read --jwks-file {path}: {exc.strerror}") from None
    except ValueError:
        raise CliError(f"--jwks-file {path} is not JSON") from None


def run(args, services, stdin):
    database, clock, config = services.database, services.clock, services.config
    command = (args.group, getattr(args, "action", None))
    if command == ("db", "migrate"):
        return {"applied": migrate(database, clock.now())}
    prepare_database(database, config, clock)
    if command == ("db", "prune"):
        return {"deleted": prune(database, clock.now(), audit_days=args.audit_days)}
    if command == ("demo", None):
        result = create_demo(database, clock, config)
        return TextOutput(as_text(result)) if args.text else result
    if command == ("tenant", "create"):
        return admin.create_tenant(database, clock, slug=args.slug, name=args.name)
    if command == ("user", "create"):
        line = stdin.readline()
        password = line[:-1] if line.endswith("\n") else line
        password = password[:-1] if password.endswith("\r") else password
        return admin.create_user(database, clock, tenant=args.tenant, email=args.email, name=args.name,
                                 password=password, given_name=args.given_name, family_name=args.family_name,
                                 email_verified=args.email_verified)
    if command == ("client", "create"):
        scopes = [s for value in args.scope for s in value.split()]
        return admin.create_client(
            database, clock, name=args.name, audience=args.audience, tenant=args.tenant, grants=args.grant,
            redirect_uris=args.redirect_uri, post_logout_redirect_uris=args.post_logout_redirect_uri,
            scopes=scopes or None, public=args.public, access_token_ttl=args.access_token_ttl,
            refresh_token_ttl=args.refresh_token_ttl, auth_method=args.auth_method,
            jwks=_read_jwks(args.jwks_file) if args.jwks_file else None, require_consent=args.require_consent,
            require_par=args.require_par, require_dpop=args.require_dpop,
            refresh_grace_seconds=args.refresh_grace_seconds)
    if command == ("client", "list"):
        return admin.list_clients(database)
    if command == ("keys", "rotate"):
        kids, activates_at = rotate_keys(database, config, clock.now(), immediately=args.now)
        for kid in kids:
            services.audit.record("key.rotated", kid=kid, activates_at=activates_at, immediately=args.now)
        # "kid" is the new RS256 (ID-token) key; "kids" adds the ES256 one when access tokens use it.
        return {"kid": kids[0], "kids": kids, "activates_at": activates_at, "keys": list_keys(database, clock.now())}
    if command == ("keys", "list"):
        return list_keys(database, clock.now())
    raise CliError(f"unknown command {' '.join(command)}")


def main(argv=None, stdin=None, stdout=None, stderr=None):
    stdin, stdout, stderr = stdin or sys.stdin, stdout or sys.stdout, stderr or sys.stderr
    try:
        args = _parser().parse_args(argv)
        services = build_services(load_config())
        try:
            result = run(args, services, stdin)
        finally:
            services.audit.stop()
            services.database.close()
    except (CliError, ConfigError, admin.AdminError, KeyConfigurationError) as exc:
        print(f"error: {exc}", file=stderr)
        return 2
    except Exception as exc:  # noqa: BLE001 - the CLI's contract is one line, never a traceback
        print(f"error: {type(exc).__name__}: {exc}", file=stderr)
        return 1
    if isinstance(result, TextOutput):
        stdout.write(result + "\n")
    else:
        json.dump(result, stdout, indent=2)
        stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
