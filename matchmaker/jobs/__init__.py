"""Background jobs (Job rows; RQ on Redis, or a thread in-process): see service.py."""
from . import models, service  # noqa: F401
from .registry import job  # noqa: F401  (the decorator domains register their jobs with)
from .service import enqueue, run_now  # noqa: F401
