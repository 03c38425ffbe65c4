"""Peewee models over the tables of sql/<dialect>/; the SQL files are the truth, these mirror them.

Times are Unix seconds. Lists (redirect URIs, grants, scopes) are JSON arrays in TEXT columns.
"""

import json

import peewee as pw


class JSONListField(pw.TextField):
    def db_value(self, value):
        return json.dumps(list(value or []))

    def python_value(self, value):
        return json.loads(value) if value else []


class BaseModel(pw.Model):
    class Meta:
        legacy_table_names = False


class Tenant(BaseModel):
    slug = pw.TextField(unique=True)
    name = pw.TextField()
    status = pw.TextField(default="active")
    created_at = pw.BigIntegerField()


class User(BaseModel):
    tenant = pw.ForeignKeyField(Tenant, backref="users")
    email = pw.TextField(index=True)
    password_hash = pw.TextField()
    name = pw.TextField(default="")
    given_name = pw.TextField(default="")
    family_name = pw.TextField(default="")
    email_verified = pw.BooleanField(default=False)
    status = pw.TextField(default="active")
    created_at = pw.BigIntegerField()
    updated_at = pw.BigIntegerField()

    class Meta:
        table_name = "user"
        indexes = ((("tenant", "email"), True),)


class Application(BaseModel):
    client_id = pw.TextField(unique=True)
    client_secret_hash = pw.TextField(null=True)
    name = pw.TextField()
    audience_type = pw.TextField()
    tenant = pw.ForeignKeyField(Tenant, null=True, backref="applications")
    redirect_uris = JSONListField(default=list)
    post_logout_redirect_uris = JSONListField(default=list)
    grant_types = JSONListField(default=list)
    allowed_scopes = JSONListField(default=list)
    token_endpoint_auth_method = pw.TextField()
    access_token_ttl = pw.BigIntegerField(null=True)
    refresh_token_ttl = pw.BigIntegerField(null=True)
    status = pw.TextField(default="active")
    created_at = pw.BigIntegerField()
    jwks = pw.TextField(null=True)
    require_consent = pw.BooleanField(default=False)
    require_par = pw.BooleanField(default=False)
    require_dpop = pw.BooleanField(default=False)
    refresh_grace_seconds = pw.BigIntegerField(default=0)


class SsoSession(BaseModel):
    session_hash = pw.TextField(unique=True)
    sid = pw.TextField(unique=True)
    user = pw.ForeignKeyField(User)
    tenant = pw.ForeignKeyField(Tenant)
    auth_time = pw.BigIntegerField()
    created_at = pw.BigIntegerField()
    last_seen_at = pw.BigIntegerField()
    expires_at = pw.BigIntegerField(index=True)
    ended_at = pw.BigIntegerField(null=True)


class AuthorizationRequest(BaseModel):
    request_hash = pw.TextField(unique=True)
    application = pw.ForeignKeyField(Application)
    redirect_uri = pw.TextField()
    scope = pw.TextField()
    state = pw.TextField(null=True)
    nonce = pw.TextField(null=True)
    code_challenge = pw.TextField(null=True)
    code_challenge_method = pw.TextField(null=True)
    prompt = pw.TextField(null=True)
    login_hint = pw.TextField(null=True)
    max_age = pw.BigIntegerField(null=True)
    created_at = pw.BigIntegerField()
    expires_at = pw.BigIntegerField(index=True)
    completed_at = pw.BigIntegerField(null=True)
    signed_in_session_id = pw.BigIntegerField(null=True)
    dpop_jkt = pw.TextField(null=True)


class LoginChallenge(BaseModel):
    challenge_hash = pw.TextField(unique=True)
    user_ids = JSONListField()
    next_path = pw.TextField(null=True)
    created_at = pw.BigIntegerField()
    expires_at = pw.BigIntegerField(index=True)
    used_at = pw.BigIntegerField(null=True)


class AuthorizationCode(BaseModel):
    code_hash = pw.TextField(unique=True)
    application = pw.ForeignKeyField(Application)
    user = pw.ForeignKeyField(User)
    tenant = pw.ForeignKeyField(Tenant)
    session = pw.ForeignKeyField(SsoSession, null=True, index=True)
    redirect_uri = pw.TextField()
    scope = pw.TextField()
    nonce = pw.TextField(null=True)
    code_challenge = pw.TextField(null=True)
    code_challenge_method = pw.TextField(null=True)
    auth_time = pw.BigIntegerField()
    created_at = pw.BigIntegerField()
    expires_at = pw.BigIntegerField(index=True)
    used_at = pw.BigIntegerField(null=True)
    dpop_jkt = pw.TextField(null=True)


class DeviceAuthorization(BaseModel):
    device_code_hash = pw.TextField(unique=True)
    user_code_hash = pw.TextField(unique=True)
    application = pw.ForeignKeyField(Application)
    scope = pw.TextField()
    status = pw.TextField(default="pending")
    user = pw.ForeignKeyField(User, null=True)
    tenant = pw.ForeignKeyField(Tenant, null=True)
    session = pw.ForeignKeyField(SsoSession, null=True, index=True)
    auth_time = pw.BigIntegerField(null=True)
    poll_interval = pw.BigIntegerField()
    last_polled_at = pw.DoubleField(null=True)
    created_at = pw.BigIntegerField()
    expires_at = pw.BigIntegerField(index=True)
    decided_at = pw.BigIntegerField(null=True)
    redeemed_at = pw.BigIntegerField(null=True)


class RefreshToken(BaseModel):
    token_hash = pw.TextField(unique=True)
    family_id = pw.TextField(index=True)
    application = pw.ForeignKeyField(Application)
    user = pw.ForeignKeyField(User)
    tenant = pw.ForeignKeyField(Tenant)
    session = pw.ForeignKeyField(SsoSession, null=True, index=True)
    authorization_code = pw.ForeignKeyField(AuthorizationCode, null=True, index=True)
    device_authorization = pw.ForeignKeyField(DeviceAuthorization, null=True, index=True)
    scope = pw.TextField()
    offline = pw.BooleanField(default=False)
    auth_time = pw.BigIntegerField(null=True)
    created_at = pw.BigIntegerField()
    expires_at = pw.BigIntegerField(index=True)
    rotated_at = pw.BigIntegerField(null=True)
    revoked_at = pw.BigIntegerField(null=True, index=True)
    jkt = pw.TextField(null=True)
    parent_id = pw.BigIntegerField(null=True)


class SigningKey(BaseModel):
    kid = pw.TextField(unique=True)
    alg = pw.TextField()
    private_key = pw.TextField()
    public_jwk = pw.TextField()
    created_at = pw.BigIntegerField()
    activates_at = pw.BigIntegerField()
    activation_recorded_at = pw.BigIntegerField(null=True)
    retires_at = pw.BigIntegerField(null=True)
    publish_until = pw.BigIntegerField(null=True)


class AuditEvent(BaseModel):
    event = pw.TextField()
    created_at = pw.BigIntegerField(index=True)
    client_id = pw.TextField(null=True)
    user_id = pw.BigIntegerField(null=True)
    tenant_id = pw.BigIntegerField(null=True)
    ip = pw.TextField(null=True)
    detail = pw.TextField(default="{}")


class RateCounter(BaseModel):
    bucket = pw.TextField()
    window_start = pw.BigIntegerField()
    hits = pw.BigIntegerField(default=0)
    expires_at = pw.BigIntegerField(index=True)

    class Meta:
        indexes = ((("bucket", "window_start"), True),)


class UsedJti(BaseModel):
    kind = pw.TextField()
    jti_hash = pw.TextField()
    expires_at = pw.BigIntegerField(index=True)

    class Meta:
        indexes = ((("kind", "jti_hash"), True),)


class PushedAuthorizationRequest(BaseModel):
    request_uri_hash = pw.TextField(unique=True)
    application = pw.ForeignKeyField(Application)
    parameters = pw.TextField()
    created_at = pw.BigIntegerField()
    expires_at = pw.BigIntegerField(index=True)
    used_at = pw.BigIntegerField(null=True)


class TokenRevocation(BaseModel):
    token_key = pw.TextField(unique=True)
    client_id = pw.TextField()
    revoked_at = pw.BigIntegerField()
    expires_at = pw.BigIntegerField(index=True)


class Consent(BaseModel):
    user = pw.ForeignKeyField(User)
    application = pw.ForeignKeyField(Application)
    scope = pw.TextField()
    granted_at = pw.BigIntegerField()

    class Meta:
        indexes = ((("user", "application", "scope"), True),)


class ServerSecret(BaseModel):
    name = pw.TextField(unique=True)
    value = pw.TextField()
    created_at = pw.BigIntegerField()


ALL_MODELS = [
    Tenant, User, Application, SsoSession, AuthorizationRequest, LoginChallenge, AuthorizationCode,
    DeviceAuthorization, RefreshToken, SigningKey, AuditEvent, RateCounter, UsedJti, Consent, TokenRevocation,
    PushedAuthorizationRequest, ServerSecret,
]
