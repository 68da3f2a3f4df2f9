//! Operations: migrations, the command line, restarts and database outages.
