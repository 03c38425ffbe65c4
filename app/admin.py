"""Administration: creating tenants, users and clients (the CLI's work, also used by tests)."""

import re
from urllib.parse import urlsplit

import jwt

from app import opaque
from app.grants import CONFIDENTIAL_ONLY, GRANT_TYPES
from app.passwords import SALT_KEY_NAME, email_salt, hash_password
from app.scopes import is_valid_scope_token
from app.store import clients, server_secrets, tenants, users
from app.store.users import normalize_email

_SLUG = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")
# Deliberately plain: one @, no spaces, a dot in the domain; the mailbox itself is not checked.
_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s.]{2,}$")
USER_FACING_GRANTS = ("authorization_code", "urn:ietf:params:oauth:grant-type:device_code")
AUTH_METHODS = ("client_secret_basic", "client_secret_post", "private_key_jwt", "none")
SECRET_AUTH_METHODS = ("client_secret_basic", "client_secret_post")
# RFC 7517 §9.2 / RFC 7518 §6: members that only a private or symmetric key has.
_PRIVATE_JWK_MEMBERS = ("d", "p", "q", "dp", "dq", "qi", "oth", "k")
MAX_REFRESH_GRACE_SECONDS = 300


class AdminError(Exception):
    """Bad administrative input; the message is one line for stderr."""


def _now(clock):
    return int(clock.now())


def tenant_json(tenant):
    return {"id": tenant.id, "slug": tenant.slug, "name": tenant.name, "status": tenant.status,
            "created_at": tenant.created_at}


def user_json(user):
    return {"id": user.id, "tenant": user.tenant_slug, "tenant_id": user.tenant_id, "email": user.email,
            "name": user.name, "given_name": user.given_name, "family_name": user.family_name,
            "email_verified": bool(user.email_verified), "status": user.status}


def client_json(client, tenant_slug=None, client_secret=None):
    data = {"client_id": client.client_id, "name": client.name, "audience_type": client.audience_type,
            "tenant": tenant_slug, "redirect_uris": list(client.redirect_uris),
            "post_logout_redirect_uris": list(client.post_logout_redirect_uris),
            "grant_types": list(client.grant_types), "scopes": list(client.allowed_scopes),
            "token_endpoint_auth_method": client.token_endpoint_auth_method, "status": client.status,
            "require_consent": client.require_consent, "require_par": client.require_par,
            "require_dpop": client.require_dpop, "refresh_grace_seconds": client.refresh_grace_seconds}
    if client.jwks is not None:
        data["jwks"] = client.jwks
    if client_secret is not None:
        data["client_secret"] = client_secret
    return data


def _find_tenant(database, slug):
    tenant = tenants.find_by_slug(database, slug)
    if tenant is None:
        raise AdminError(f"unknown tenant '{slug}'")
    return tenant


def create_tenant(database, clock, *, slug, name):
    if not _SLUG.match(slug or ""):
        raise AdminError(f"invalid slug '{slug}': use lowercase letters, digits and inner dashes (1-63)")
    if not (name or "").strip():
        raise AdminError("the tenant name must not be empty")
    tenant = tenants.insert(database, slug=slug, name=name.strip(), now=_now(clock))
    if tenant is None:
        raise AdminError(f"a tenant with slug '{slug}' already exists")
    return tenant_json(tenant)


def create_user(database, clock, *, tenant, email, name, password, given_name="", family_name="",
                email_verified=False):
    email = normalize_email(email or "")
    if not _EMAIL.match(email) or len(email) > 254:
        raise AdminError(f"invalid email address '{email}'")
    if not password:
        raise AdminError("the password must not be empty")
    tenant_row = _find_tenant(database, tenant)
    # The per-email salt, so sign-in checks this account with the same computation as the email's others.
    salt = email_salt(server_secrets.get_or_create(database, SALT_KEY_NAME, _now(clock)), email)
    user_id = users.insert(database, tenant_id=tenant_row.id, email=email, password_hash=hash_password(password, salt),
                           name=(name or "").strip(), given_name=given_name or "", family_name=family_name or "",
                           email_verified=bool(email_verified), now=_now(clock))
    if user_id is None:
        raise AdminError(f"user '{email}' already exists in tenant '{tenant}'")
    return user_json(users.find_user(database, user_id))


def check_redirect_uri(uri, what="redirect URI"):
    """Absolute, no fragment (RFC 6749 §3.1.2); http(s) needs a host; custom schemes allowed (RFC 8252)."""
    parts = urlsplit(uri)
    if not parts.scheme or parts.fragment or "#" in uri or any(c.isspace() for c in uri):
        raise AdminError(f"invalid {what} '{uri}': it must be absolute, without a fragment or spaces")
    if parts.scheme in ("http", "https") and not parts.hostname:
        raise AdminError(f"invalid {what} '{uri}': an http(s) URI needs a host")
    return uri


def check_client_jwks(jwks):
    """A JWKS of public RSA or P-256 keys (RFC 7517 §5), the keys a private_key_jwt client signs with."""
    keys = jwks.get("keys") if isinstance(jwks, dict) else None
    if not isinstance(keys, list) or not keys:
        raise AdminError('the JWKS must be a JSON object {"keys": [...]} with at least one key')
    for key in keys:
        if not isinstance(key, dict) or key.get("kty") not in ("RSA", "EC"):
            raise AdminError("every key of the JWKS must be an RSA or EC public key (kty RSA or EC)")
        if key["kty"] == "EC" and key.get("crv") != "P-256":
            raise AdminError("EC keys of the JWKS must be on the P-256 curve (ES256)")
        if any(member in key for member in _PRIVATE_JWK_MEMBERS):
            raise AdminError("the JWKS holds a private key; register only the public keys")
        if key.get("alg", "RS256" if key["kty"] == "RSA" else "ES256") not in ("RS256", "ES256"):
            raise AdminError(f"unsupported key algorithm '{key.get('alg')}'; use RS256 or ES256")
        try:
            parsed = jwt.PyJWK(key)
        except (jwt.PyJWKError, jwt.InvalidKeyError, ValueError, TypeError):
            raise AdminError("a key of the JWKS is not a valid public key") from None
        if key["kty"] == "RSA" and parsed.key.key_size < 2048:
            raise AdminError("RSA keys of the JWKS must have at least 2048 bits (RFC 7518 §3.3)")
    return {"keys": keys}


def _auth_method(public, auth_method, jwks):
    method = auth_method or ("none" if public else "client_secret_basic")
    if method not in AUTH_METHODS:
        raise AdminError(f"--auth-method must be one of {', '.join(AUTH_METHODS)}, got '{method}'")
    if public and method != "none":
        raise AdminError("a public client authenticates with --auth-method none")
    if (method == "private_key_jwt") != (jwks is not None):
        raise AdminError("--auth-method private_key_jwt and --jwks-file go together")
    return method


def create_client(database, clock, *, name, audience, grants, redirect_uris=(), post_logout_redirect_uris=(),
                  scopes=None, tenant=None, public=False, access_token_ttl=None, refresh_token_ttl=None,
                  auth_method=None, jwks=None, require_consent=False, require_par=False, require_dpop=False,
                  refresh_grace_seconds=0):
    if not (name or "").strip():
        raise AdminError("the client name must not be empty")
    audience_type = (audience or "").upper()
    if audience_type not in ("GLOBAL", "TENANT"):
        raise AdminError(f"--audience must be global or tenant, got '{audience}'")
    if audience_type == "TENANT" and not tenant:
        raise AdminError("a tenant client needs --tenant")
    if audience_type == "GLOBAL" and tenant:
        raise AdminError("a global client belongs to no tenant; drop --tenant")
    method = _auth_method(public, auth_method, jwks)
    public = method == "none"
    jwks = check_client_jwks(jwks) if jwks is not None else None
    if not isinstance(refresh_grace_seconds, int) or not 0 <= refresh_grace_seconds <= MAX_REFRESH_GRACE_SECONDS:
        raise AdminError(f"--refresh-grace-seconds must be 0-{MAX_REFRESH_GRACE_SECONDS}")
    grants = list(dict.fromkeys(grants or ()))
    if not grants:
        raise AdminError("give at least one --grant")
    for grant in grants:
        if grant not in GRANT_TYPES:
            raise AdminError(f"unknown grant '{grant}'; known: {', '.join(GRANT_TYPES)}")
        if public and grant in CONFIDENTIAL_ONLY:
            raise AdminError(f"a public client cannot hold the {grant} grant")
    redirect_uris = [check_redirect_uri(u) for u in dict.fromkeys(redirect_uris or ())]
    post_logout = [check_redirect_uri(u, "post-logout redirect URI")
                   for u in dict.fromkeys(post_logout_redirect_uris or ())]
    if "authorization_code" in grants and not redirect_uris:
        raise AdminError("the authorization_code grant needs at least one --redirect-uri")
    if scopes is None or not list(scopes):
        scopes = ["openid", "profile", "email"] if any(g in USER_FACING_GRANTS for g in grants) else []
    scopes = list(dict.fromkeys(scopes))
    for scope in scopes:
        if not is_valid_scope_token(scope):
            raise AdminError(f"invalid scope '{scope}'")
    for ttl in (access_token_ttl, refresh_token_ttl):
        if ttl is not None and ttl <= 0:
            raise AdminError("token lifetimes must be positive")
    client_secret = opaque.new_secret() if method in SECRET_AUTH_METHODS else None
    tenant_row = _find_tenant(database, tenant) if tenant else None
    client = clients.insert(
        database, name=name.strip(), audience_type=audience_type, tenant_id=tenant_row.id if tenant_row else None,
        redirect_uris=redirect_uris, post_logout_redirect_uris=post_logout, grant_types=grants,
        allowed_scopes=scopes, token_endpoint_auth_method=method,
        client_secret_hash=opaque.digest(client_secret) if client_secret else None,
        access_token_ttl=access_token_ttl, refresh_token_ttl=refresh_token_ttl, now=_now(clock), jwks=jwks,
        require_consent=bool(require_consent), require_par=bool(require_par), require_dpop=bool(require_dpop),
        refresh_grace_seconds=refresh_grace_seconds)
    return client_json(client, tenant_row.slug if tenant_row else None, client_secret)


def list_clients(database):
    return [client_json(client, slug) for client, slug in clients.all_clients(database)]
