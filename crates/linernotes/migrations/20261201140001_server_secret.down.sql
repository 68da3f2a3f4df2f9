DROP TABLE IF EXISTS server_secret;
