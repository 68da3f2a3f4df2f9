DROP TABLE IF EXISTS known_login;
