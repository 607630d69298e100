"""Monitoring reacts: a decided lead (approved, declined, withdrawn, funded) changes the stored
figures of its district and of the city; they are recomputed in a job at once, so the next
view is up to date rather than marked 正在更新 (monitoring/snapshots.py)."""
from .. import signals
from . import snapshots


@signals.lead_decided.connect
def _lead_decided(lead, **_):
    if snapshots.any_stored(lead.need.enterprise.district):
        snapshots.schedule_refresh()
