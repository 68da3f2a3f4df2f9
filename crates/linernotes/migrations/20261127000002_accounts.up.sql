-- Accounts and security (issue 3): users with profile, preferences and settings, sessions with rotating
-- refresh tokens (stored as hashes only), single-use tokens for e-mail verification and password reset,
-- login throttling, a mail outbox for deployments without SMTP, and an append-only audit log.

-- The seed's columns (id, email, password_hash, role, is_verified, created_at) keep their names and types
-- so that tables of the API the project grew from import as they are.
CREATE TABLE users (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    email           text NOT NULL CHECK (length(email) BETWEEN 3 AND 254),
    password_hash   text NOT NULL,
    role            text NOT NULL DEFAULT 'user' CHECK (role IN ('user', 'admin')),
    is_verified     boolean NOT NULL DEFAULT false,
    created_at      timestamptz NOT NULL DEFAULT now(),
    display_name    text NOT NULL DEFAULT '',
    avatar_url      text,
    bio             text,
    -- set when the account is deleted by its owner (or for inactivity); purged after the retention period
    deleted_at      timestamptz,
    -- set while an admin has disabled the account
    disabled_at     timestamptz,
    -- last successful login or refresh, for the optional inactivity retention
    last_active_at  timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now()
);
-- Case-insensitive uniqueness: a duplicate is reported by SQLSTATE 23505 on this index.
CREATE UNIQUE INDEX users_email_lower_key ON users (lower(email));
CREATE INDEX users_deleted_at_idx ON users (deleted_at) WHERE deleted_at IS NOT NULL;
CREATE INDEX users_created_at_idx ON users (created_at);

CREATE TABLE user_preferences (
    user_id     uuid PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    language    text,
    region      text
);

CREATE TABLE user_settings (
    user_id                 uuid PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    keep_listening_history  boolean NOT NULL DEFAULT true,
    keep_search_history     boolean NOT NULL DEFAULT true,
    public_profile          boolean NOT NULL DEFAULT false,
    email_opt_in            boolean NOT NULL DEFAULT false
);

-- One login on one device. Its refresh tokens rotate; the session lives until logout, revocation or expiry.
CREATE TABLE sessions (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id         uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at      timestamptz NOT NULL,
    last_used_at    timestamptz NOT NULL,
    expires_at      timestamptz NOT NULL,
    revoked_at      timestamptz,
    revoked_reason  text,
    user_agent      text,
    ip              text
);
CREATE INDEX sessions_user_idx ON sessions (user_id);

-- Every refresh token ever issued, by SHA-256 hash. A token with used_at set was rotated; presenting it
-- again means it was copied, and the whole session is revoked.
CREATE TABLE refresh_tokens (
    token_hash  bytea PRIMARY KEY,
    session_id  uuid NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    issued_at   timestamptz NOT NULL,
    used_at     timestamptz
);
CREATE INDEX refresh_tokens_session_idx ON refresh_tokens (session_id);

-- Single-use tokens sent by mail, by SHA-256 hash.
CREATE TABLE one_time_tokens (
    token_hash  bytea PRIMARY KEY,
    user_id     uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    purpose     text NOT NULL CHECK (purpose IN ('verify_email', 'password_reset')),
    created_at  timestamptz NOT NULL,
    expires_at  timestamptz NOT NULL,
    used_at     timestamptz
);
CREATE INDEX one_time_tokens_user_idx ON one_time_tokens (user_id);

-- Failed-login counters per key ('account:<lower email>' or 'ip:<address>').
CREATE TABLE login_throttle (
    key             text PRIMARY KEY,
    window_start    timestamptz NOT NULL,
    failures        integer NOT NULL DEFAULT 0,
    locked_until    timestamptz,
    lockouts        integer NOT NULL DEFAULT 0
);

-- Mail that was (or, without SMTP, would have been) sent; an operator can read it here.
CREATE TABLE mail_outbox (
    id          bigserial PRIMARY KEY,
    user_id     uuid REFERENCES users (id) ON DELETE CASCADE,
    recipient   text NOT NULL,
    subject     text NOT NULL,
    body        text NOT NULL,
    created_at  timestamptz NOT NULL,
    sent_at     timestamptz
);

-- Append-only: no foreign keys (entries outlive what they are about), no updates, and deletes only from
-- the purge job, which removes a purged account's own security events inside a transaction that sets
-- linernotes.purge = 'on'.
CREATE TABLE audit_log (
    id          bigserial PRIMARY KEY,
    at          timestamptz NOT NULL,
    action      text NOT NULL,
    actor_id    uuid,
    subject_id  uuid,
    ip          text,
    user_agent  text,
    details     jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX audit_log_subject_idx ON audit_log (subject_id, id);
CREATE INDEX audit_log_actor_idx ON audit_log (actor_id, id);
CREATE INDEX audit_log_action_idx ON audit_log (action, id);

CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' AND current_setting('linernotes.purge', true) = 'on' THEN
        RETURN OLD;
    END IF;
    RAISE EXCEPTION 'audit_log is append-only' USING ERRCODE = 'insufficient_privilege';
END;
$$;
CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
-- TRUNCATE fires no row triggers: a statement trigger refuses it (also during a purge).
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();
