"""Django's SQLite backend, with the parameter-style conversion of each SQL text remembered (see `base`)."""
