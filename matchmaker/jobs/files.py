"""Files a job makes for the user who started it (an export): written under JOB_FILES_DIR
(default instance/job_files) as `<job id>.bin`, described in the job's result, downloaded from
/jobs/ID/download by whoever may see the job (its starter, admins) once it is done. Files older
than FILE_MAX_AGE are deleted whenever a new one is written."""
import time
from pathlib import Path

from flask import current_app

FILE_MAX_AGE = 7 * 24 * 3600


def _directory() -> Path:
    configured = current_app.config.get("JOB_FILES_DIR")
    return Path(configured) if configured else Path(current_app.instance_path) / "job_files"


def path_for(job_id: int) -> Path:
    return _directory() / f"{int(job_id)}.bin"


def save(ctx, data: bytes, filename: str, mimetype: str) -> dict:
    """Keep a job's file; returns what its result holds under "file" (return it from the job)."""
    directory = _directory()
    directory.mkdir(parents=True, exist_ok=True)
    for old in directory.glob("*.bin"):
        if time.time() - old.stat().st_mtime > FILE_MAX_AGE:
            old.unlink(missing_ok=True)
    target = path_for(ctx.job_id)
    partial = target.with_suffix(".part")
    partial.write_bytes(data)
    partial.replace(target)  # a download never reads half a file
    return {"name": filename, "mimetype": mimetype, "size": len(data)}


def ready(job) -> dict | None:
    """The file of a finished job, when it made one and it is still kept."""
    if job is None or job.status != "done" or not isinstance(job.result, dict):
        return None
    meta = job.result.get("file")
    if not isinstance(meta, dict) or not path_for(job.id).is_file():
        return None
    return meta
