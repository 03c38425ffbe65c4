-- Access tokens may be signed ES256 while ID tokens stay RS256: one active key per algorithm.
DROP INDEX IF EXISTS signing_key_one_active;
CREATE UNIQUE INDEX signing_key_one_active ON signing_key (alg) WHERE status = 'active';
