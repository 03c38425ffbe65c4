-- DPoP (RFC 9449): the JWK thumbprint (RFC 7638) a token or code is bound to. A public client's refresh
-- token is bound to the key of the proof it was issued with (§5); /authorize's dpop_jkt binds the request
-- and the code it leads to (§10). NULL means unbound.
ALTER TABLE refresh_token ADD COLUMN jkt TEXT;
ALTER TABLE authorization_code ADD COLUMN dpop_jkt TEXT;
ALTER TABLE authorization_request ADD COLUMN dpop_jkt TEXT;
