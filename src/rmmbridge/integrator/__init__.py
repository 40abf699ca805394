"""The integrator: scheduled syncs and alert polling, embedded or on Celery workers."""
