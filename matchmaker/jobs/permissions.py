"""Who may see and retry background jobs."""


def can_view_job(user, job) -> bool:
    """The user who started it, and admins (who see every job)."""
    if not getattr(user, "is_authenticated", False) or job is None:
        return False
    return user.role == "admin" or (job.started_by_id is not None
                                    and job.started_by_id == user.id)


def can_manage_jobs(user) -> bool:
    return getattr(user, "is_authenticated", False) and user.role == "admin"


def can_retry_job(user, job) -> bool:
    """Admins retry a failed job (a finished or running one has nothing to retry)."""
    return can_manage_jobs(user) and job is not None and job.status == "failed"


PREDICATES = {"can_view_job": can_view_job, "can_manage_jobs": can_manage_jobs,
              "can_retry_job": can_retry_job}
