"""Services that guard themselves: called directly (a CLI command, a job, another domain),
a state-changing service refuses an actor its predicate does not allow."""
import pytest

from matchmaker.accounts import service as accounts
from matchmaker.accounts.models import Invitation
from matchmaker.guards import GUARDED, Forbidden, guarded
from matchmaker.leads import claims, consent, push, supervision
from tests.factories import InstitutionFactory, user_for_role
from tests.test_leads_helpers import china, claimed_lead, freeze, manager, owner, pushed_lead


def test_release_claim_refuses_another_banks_manager_and_an_enterprise(db):
    lead, holder = claimed_lead()
    for stranger in (manager(InstitutionFactory()), owner(lead.need),
                     manager(lead.institution)):  # a colleague who does not hold it
        with pytest.raises(Forbidden):
            claims.release_claim(stranger, lead)
    assert lead.live_claim is not None
    claims.release_claim(holder, lead)
    assert lead.live_claim is None and lead.status == "open"


def test_release_claim_allows_the_institutions_admin(db):
    lead, _holder = claimed_lead()
    claims.release_claim(user_for_role("bank_admin", institution=lead.institution), lead)
    assert lead.status == "open"


def test_release_claim_refuses_the_system(db):
    lead, _holder = claimed_lead()
    with pytest.raises(Forbidden):
        claims.release_claim(None, lead)


def test_supervise_claim_refuses_a_bank_and_another_districts_organizer(db, monkeypatch):
    freeze(monkeypatch, china(2026, 11, 2))
    lead, _holder = claimed_lead()
    claim = lead.live_claim
    claim.escalated_at = claim.claimed_at
    district = lead.need.enterprise.district
    elsewhere = "永川区" if district != "永川区" else "江津区"
    for stranger in (user_for_role("bank_admin", institution=lead.institution),
                     user_for_role("organizer", district=elsewhere), None):
        with pytest.raises(Forbidden):
            supervision.supervise_claim(stranger, claim, "已电话督办")
    assert claim.supervised_at is None
    supervision.supervise_claim(user_for_role("organizer", district=district), claim, "已督办")
    assert claim.supervised_at is not None


def test_revoke_consent_refuses_anyone_but_the_owner_and_the_system(db):
    lead = pushed_lead()
    given = consent.live_consent(lead.need_id, lead.institution_id)
    for stranger in (manager(lead.institution), user_for_role("enterprise"),
                     user_for_role("organizer")):
        with pytest.raises(Forbidden):
            push.revoke_consent(stranger, given)
    assert given.revoked_at is None
    push.revoke_consent(None, given, "flag_off")  # the platform, when the flag goes off
    assert given.revoked_at is not None


def test_revoke_invitation_refuses_another_institutions_admin(db):
    bank = InstitutionFactory()
    admin = user_for_role("bank_admin", institution=bank)
    invitation, _token = accounts.invite(admin, email="new@bank.example",
                                         role="bank_manager")
    for stranger in (user_for_role("bank_admin", institution=InstitutionFactory()),
                     user_for_role("bank_manager", institution=bank),
                     user_for_role("organizer"), None):
        with pytest.raises(Forbidden):
            accounts.revoke_invitation(stranger, invitation)
    assert db.session.get(Invitation, invitation.id).revoked_at is None
    accounts.revoke_invitation(admin, invitation)
    assert invitation.revoked_at is not None


def test_every_guarded_service_refuses_a_user_of_no_role_before_it_runs():
    """The registry itself: whatever the subject, a user whose role no predicate admits is
    refused by the guard, and the service body never runs."""
    nobody = type("Nobody", (), {"is_authenticated": True, "role": "nobody", "id": -1,
                                 "institution_id": None, "enterprise_id": None,
                                 "district": None, "is_enterprise_admin": False})()
    assert GUARDED
    for name, service in GUARDED.items():
        guard = service.guard
        subject = _Anything()
        args = {guard.subject: subject} if guard.subject else {}
        with pytest.raises(Forbidden):
            service(nobody, **args) if not args else _call(service, nobody, guard.subject,
                                                              subject)
        assert not subject.touched_by_body, name


def _call(service, actor, subject_name, subject):
    import inspect

    params = inspect.signature(service.__wrapped__).parameters
    values = {"actor": actor, subject_name: subject}
    for name, param in params.items():
        if name not in values and param.default is inspect.Parameter.empty and \
                param.kind in (param.POSITIONAL_OR_KEYWORD, param.KEYWORD_ONLY):
            values[name] = _Anything()
    return service(**values)


class _Anything:
    """A subject whose attributes are all None: predicates read it, service bodies would not
    get this far."""
    touched_by_body = False

    def __getattr__(self, name):
        return None


def test_a_guard_must_name_a_real_parameter():
    with pytest.raises(TypeError):
        @guarded(lambda user, x: True, "missing")
        def change(actor, thing):
            return thing
    with pytest.raises(TypeError):
        @guarded(lambda user: True)
        def no_actor(thing):
            return thing
