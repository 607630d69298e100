"""Consent recorded on an enterprise's behalf (个人信息保护法 第十四条、第二十三条; issue 17,
finding 5): an organizer's spreadsheet cell 同意向金融机构展示 = 是, or an import's
`consent_to_share`, says the firm agreed on paper. The platform then records who recorded it
and on what basis (e.g. the signed form's reference), tells the enterprise's users, and the
need page shows both beside a revoke button. The consents the flag grants (leads/push.py)
copy the basis; their scope is only what a bank cannot work without (leads/scope.REQUIRED).
Flush, never commit."""
import logging

from flask import current_app
from sqlalchemy import select, update
from sqlalchemy.orm.attributes import set_committed_value

from .. import clock
from ..accounts.models import User
from ..audit.service import record_many
from ..errors import ServiceError
from ..extensions import db
from ..guards import guarded
from ..notifications.service import notify
from .models import Need
from .permissions import can_record_consent_for

log = logging.getLogger(__name__)

BASIS_MAX = 200
BASIS_REQUIRED = "代企业登记授权须注明依据（如企业签署的书面授权书编号）"
CHUNK = 500  # ids per IN (...): SQLite caps bound parameters


def basis_problem(basis: str | None) -> str | None:
    """The Chinese reason a basis cannot be recorded, or None."""
    text = (basis or "").strip()
    if not text:
        return BASIS_REQUIRED
    if len(text) > BASIS_MAX:
        return f"授权依据不超过{BASIS_MAX}个字"
    return None


def recorder_label(user: User | None) -> str:
    """Who recorded it, as the enterprise reads it: name and organization or role."""
    if user is None:
        return "平台管理员（命令行导入）"
    where = user.organization or user.district or {"organizer": "组织方", "admin": "平台管理员"}.get(
        user.role, "")
    return f"{user.name}（{where}）" if where else user.name


@guarded(can_record_consent_for, system=True,
         message="只有组织方或平台管理员可以代企业登记授权")
def record_on_behalf(actor, need_ids, basis: str, via: str) -> int:
    """consent_to_share on these needs was recorded on their enterprises' behalf: each need
    names the basis and its recorder (audited need.consent_recorded) and every active user of
    the enterprise is told, with a link to the need where the consent can be revoked. Runs
    before the flag grants any consent, so the consents copy the basis."""
    basis = (basis or "").strip()
    if basis_problem(basis):
        raise ServiceError(basis_problem(basis), field="consent_basis")
    ids = sorted(set(need_ids))
    now = clock.now()
    values = {"consent_basis": basis, "consent_recorded_by_id": actor.id if actor else None,
              "consent_recorded_at": now}
    for start in range(0, len(ids), CHUNK):
        db.session.execute(update(Need).where(Need.id.in_(ids[start:start + CHUNK]))
                           .values(**values).execution_options(synchronize_session=False))
    wanted = set(ids)
    for loaded in list(db.session.identity_map.values()):
        # the needs already in the session see it too: the flag's consents copy it from them
        if isinstance(loaded, Need) and loaded.id in wanted:
            for name, value in values.items():
                set_committed_value(loaded, name, value)
    record_many(actor, "need.consent_recorded", "needs",
                [(i, {"basis": basis, "via": via}) for i in ids])
    told = _tell_enterprises(actor, ids, basis)
    log.info("consent recorded on behalf for %d needs via %s, %d users told", len(ids), via, told)
    return len(ids)


def _tell_enterprises(actor, need_ids: list[int], basis: str) -> int:
    who = recorder_label(actor)
    told = 0
    for start in range(0, len(need_ids), CHUNK):
        rows = db.session.execute(
            select(Need.id, Need.ref, User).join(User, User.enterprise_id == Need.enterprise_id)
            .where(Need.id.in_(need_ids[start:start + CHUNK]), User.active.is_(True))
            .order_by(Need.id, User.id)).all()
        for need_id, ref, user in rows:
            path = current_app.url_map.bind("").build("enterprises.need", {"need_id": need_id})
            note = notify(user, "need.consent_recorded",
                          f"{who}代贵企业登记了授权：融资需求 {ref} 将提供给匹配的金融机构"
                          f"（依据：{basis}）。如非贵企业本意，请在需求页撤回。", path, email=True)
            told += note is not None
    return told
