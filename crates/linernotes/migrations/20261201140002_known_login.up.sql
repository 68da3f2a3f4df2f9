-- Client addresses an account last logged in from with its right password. The lockout of an address
-- after many failed logins spares these pairs, so one noisy client behind a shared address (a NAT, a
-- proxy) cannot lock out everyone behind it who knows their password.
CREATE TABLE known_login (
    ip              text NOT NULL,
    account         text NOT NULL,
    last_success_at timestamptz NOT NULL,
    PRIMARY KEY (ip, account)
);
CREATE INDEX known_login_last_success ON known_login (last_success_at);
