"""The REST API (Django Ninja under /api/v1/) and the personal API tokens that authenticate it."""
