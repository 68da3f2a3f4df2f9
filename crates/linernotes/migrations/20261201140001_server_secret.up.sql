-- Secrets linernotes makes for itself, shared by every instance on this database: the signing key of
-- access tokens when auth.jwt_secret is not set, so instances accept each other's tokens and a restart
-- logs nobody out. The first instance to start writes it; the others read it.
CREATE TABLE server_secret (
    name       text PRIMARY KEY,
    value      bytea NOT NULL CHECK (octet_length(value) >= 32),
    created_at timestamptz NOT NULL DEFAULT now()
);
