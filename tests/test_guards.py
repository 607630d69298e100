"""Services that guard themselves: called directly (a CLI command, a job, another domain),
a state-changing service refuses an actor its predicate does not allow."""
from datetime import date
from decimal import Decimal

import pytest

from matchmaker.accounts import service as accounts
from matchmaker.accounts.models import Invitation
from matchmaker.enterprises import members, on_behalf, spreadsheet, verification
from matchmaker.enterprises import service as enterprises
from matchmaker.enterprises.models import EnterpriseClaim, Need
from matchmaker.events import meetings
from matchmaker.events import service as events
from matchmaker.events.models import (
    CheckIn,
    Event,
    EventInvitation,
    Meeting,
    MeetingRequest,
    MeetingResult,
    Registration,
)
from matchmaker.exchange import service as exchange
from matchmaker.guards import GUARDED, Forbidden, guarded
from matchmaker.institutions import service as institutions
from matchmaker.institutions.models import (
    CoreEnterprise,
    CoreEnterpriseAlias,
    CoreEnterpriseGroup,
    Product,
)
from matchmaker.jobs import service as jobs
from matchmaker.leads import claims, consent, outcomes, push, supervision
from matchmaker.leads.models import Lead, LeadFollowUp
from matchmaker.monitoring import report as monitoring_report
from matchmaker.monitoring import returns as monitoring_returns
from matchmaker.monitoring import service as monitoring
from matchmaker.notifications import service as notifications
from matchmaker.policy import service as policy
from matchmaker.policy import workdays
from matchmaker.policy.models import ReferenceRate, WorkdayOverride
from matchmaker.whitelists import answers, imports, pushing, rules
from matchmaker.whitelists import service as whitelists
from matchmaker.whitelists.models import EnterpriseFlag, Push, Whitelist
from tests.factories import (
    PASSWORD,
    EnterpriseClaimFactory,
    EnterpriseFactory,
    InstitutionFactory,
    NeedFactory,
    ProductFactory,
    user_for_role,
)
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


# --- every state-changing service is guarded ---------------------------------------------------
# A public function of a domain's service modules whose first parameter is `actor` changes
# state on someone's behalf: it must be @guarded, or be listed here with the reason it is not.

NOT_SERVICE_MODULES = {"views", "forms", "models", "commands", "subscribers", "permissions"}
EXEMPT = {
    # the audit helper itself: every service calls it to record what its actor did
    "matchmaker.audit.service.record",
    "matchmaker.audit.service.record_many",  # the same, for a batch (a job opening leads)
    "matchmaker.audit.service.record_rows",  # the same, written by INSERT … SELECT (bulk import)
    # steps inside guarded services (or the platform's own sync), called with the actor that
    # service already checked; the actor is recorded here (who consented, who contacted),
    # not authorised a second time
    "matchmaker.leads.consent.grant_consent",   # push_need, open_lead, the flag sync
    "matchmaker.leads.consent.close_consent",   # grant_consent (superseded), revoke_consent
    "matchmaker.leads.claims.record_first_contact",  # add_followup, the bank's outcomes
    "matchmaker.leads.service.end_live_claim",  # revoke_consent, close_lead (the platform)
    # the fee rate's recompute job: policy.update_setting (guarded, admins only) starts it
    # through policy_changed; the actor is whom the job is shown to, not authorised again
    "matchmaker.matching.service.recompute_fee_later",
    # the core list's recompute job: the list's views, after its guarded services (organizers
    # and admins), and the CLI load start it; the actor is whom the job is shown to
    "matchmaker.matching.service.recompute_supply_chain_later",
    # the invitation row itself: accounts.invite and enterprises.members.invite_first_user
    # check who invites whom before they call it
    "matchmaker.accounts.service.create_invitation",
    # they read only: which moves the need page offers, which batches the invite form lists,
    # what a whitelist import would do
    "matchmaker.enterprises.service.next_statuses",
    "matchmaker.events.service.whitelist_choices",
    "matchmaker.whitelists.imports.plan_import",
}


def _actor_first_functions() -> set[str]:
    import importlib
    import inspect
    import pkgutil

    import matchmaker

    found = set()
    for package in pkgutil.iter_modules(matchmaker.__path__):
        if not package.ispkg:
            continue
        parent = importlib.import_module(f"matchmaker.{package.name}")
        for info in pkgutil.iter_modules(parent.__path__):
            if info.name in NOT_SERVICE_MODULES:
                continue
            module = importlib.import_module(f"{parent.__name__}.{info.name}")
            for name, function in vars(module).items():
                if (name.startswith("_") or not inspect.isfunction(function)
                        or function.__module__ != module.__name__):
                    continue
                params = list(inspect.signature(function).parameters)
                if params and params[0] == "actor":
                    found.add(f"{module.__name__}.{function.__qualname__}")
    return found


def test_every_state_changing_service_is_guarded():
    found = _actor_first_functions()
    missing = sorted(found - set(GUARDED) - EXEMPT)
    assert not missing, f"state-changing services without @guarded (or an EXEMPT reason): {missing}"
    assert not EXEMPT & set(GUARDED), "an exempt function is guarded: drop it from EXEMPT"
    assert EXEMPT <= found, f"stale EXEMPT entries: {sorted(EXEMPT - found)}"
    assert len(found - EXEMPT) >= 70  # the walk found the services, not an empty list


# --- each guarded service, called directly by a realistic wrong actor --------------------------
# CASES[name]() builds a real subject and returns (strangers, call, state): each stranger is
# refused with Forbidden, and neither state() nor the audit log moves. Grouped by domain.

CASES = {}


def case(service):
    def register(build):
        CASES[f"{service.__module__}.{service.__qualname__}"] = build
        return build
    return register


def _count(model, *where) -> int:
    from sqlalchemy import func, select

    from matchmaker.extensions import db
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def _audit_rows() -> int:
    from matchmaker.audit.models import AuditEntry
    return _count(AuditEntry)


# accounts, notifications ------------------------------------------------------------------------

def _inactive():
    return user_for_role("enterprise", active=False)


@case(accounts.change_password)
def _change_password(_mp):
    gone = _inactive()  # deactivated: its session no longer speaks for it
    return ([gone, _anonymous()], lambda s: accounts.change_password(s, "x", "新密码123456"),
            lambda: gone.password_hash)


@case(accounts.erase_account)
def _erase_account(_mp):
    account = user_for_role("enterprise")
    colleague = user_for_role("enterprise", enterprise=account.enterprise)
    return ([colleague, user_for_role("organizer"), user_for_role("bank_admin"), _anonymous()],
            lambda s: accounts.erase_account(s, account),
            lambda: (account.email, account.name, account.active))


@case(accounts.close_own_account)
def _close_own_account(_mp):
    # each wrong actor would close its own account: none may (an inactive enterprise user's
    # session no longer speaks for it; the page is the enterprise users')
    wrong = [_inactive(), user_for_role("admin"), user_for_role("bank_manager"),
             user_for_role("organizer")]
    return (wrong + [_anonymous()], lambda s: accounts.close_own_account(s, PASSWORD),
            lambda: [(u.email, u.name, u.active) for u in wrong])


def _anonymous():
    from flask_login import AnonymousUserMixin
    return AnonymousUserMixin()


@case(accounts.invite)
def _invite(_mp):
    bank = InstitutionFactory()
    return ([user_for_role("bank_manager", institution=bank),
             user_for_role("organizer"),
             user_for_role("enterprise", is_enterprise_admin=False)],
            lambda s: accounts.invite(s, email="new@bank.example", role="bank_manager"),
            lambda: _count(Invitation))


@case(accounts.revoke_invitation)
def _revoke_invitation(_mp):
    admin = user_for_role("bank_admin", institution=InstitutionFactory())
    invitation, _token = accounts.invite(admin, email="n@bank.example", role="bank_manager")
    return ([user_for_role("bank_admin", institution=InstitutionFactory())],
            lambda s: accounts.revoke_invitation(s, invitation), lambda: invitation.revoked_at)


@case(accounts.deactivate_member)
def _deactivate_member(_mp):
    bank = InstitutionFactory()
    member = user_for_role("bank_manager", institution=bank)
    return ([user_for_role("bank_admin", institution=InstitutionFactory()),
             user_for_role("bank_manager", institution=bank), user_for_role("admin"),
             user_for_role("bank_admin", institution=bank, active=False)],
            lambda s: accounts.deactivate_member(s, member),
            lambda: (member.active, member.session_version))


@case(accounts.reactivate_member)
def _reactivate_member(_mp):
    bank = InstitutionFactory()
    member = user_for_role("bank_manager", institution=bank, active=False)
    return ([user_for_role("bank_admin", institution=InstitutionFactory()),
             user_for_role("bank_manager", institution=bank), user_for_role("organizer")],
            lambda s: accounts.reactivate_member(s, member), lambda: member.active)


def _note_for(user):
    from matchmaker.notifications import service as notes
    return notes.notify(user, "lead.opened", "新线索", "/leads/")


@case(notifications.mark_read)
def _mark_read(_mp):
    owner_ = user_for_role("enterprise")
    note = _note_for(owner_)
    return ([user_for_role("enterprise"), user_for_role("admin")],
            lambda s: notifications.mark_read(s, note), lambda: note.read_at)


@case(notifications.mark_all_read)
def _mark_all_read(_mp):
    gone = _inactive()
    note = _note_for(user_for_role("enterprise"))
    return [gone, _anonymous()], notifications.mark_all_read, lambda: note.read_at


@case(notifications.set_daily_digest)
def _set_daily_digest(_mp):
    gone = _inactive()
    return ([gone, _anonymous()], lambda s: notifications.set_daily_digest(s, True),
            lambda: notifications.preference(gone).daily_digest)


# enterprises ------------------------------------------------------------------------------------

@case(enterprises.set_contact)
def _set_contact(_mp):
    firm = NeedFactory().enterprise
    return ([user_for_role("enterprise"), user_for_role("bank_manager")],
            lambda s: enterprises.set_contact(s, firm, "王会计", "13800001234"),
            lambda: firm.contact_phone)


def _organizer(district="永川区"):
    return user_for_role("organizer", district=district)


@case(on_behalf.record_on_behalf)
def _record_on_behalf(_mp):
    need = NeedFactory(consent_to_share=True)
    return ([user_for_role("enterprise", enterprise=need.enterprise),
             user_for_role("bank_admin")],
            lambda s: on_behalf.record_on_behalf(s, [need.id], "授权书 1 号", "import"),
            lambda: need.consent_basis)


@case(enterprises.update_profile)
def _update_profile(_mp):
    need = NeedFactory()
    firm = need.enterprise
    return ([user_for_role("enterprise"), _organizer(firm.district)],
            lambda s: enterprises.update_profile(s, firm, tags={}, name="改名"),
            lambda: firm.name)


@case(enterprises.set_tag_verified)
def _set_tag_verified(_mp):
    firm = NeedFactory().enterprise
    return ([_organizer("江津区"), user_for_role("enterprise", enterprise=firm)],
            lambda s: enterprises.set_tag_verified(s, firm, "specialized", True),
            lambda: [(t.value, t.verified_at) for t in firm.tag_rows])


@case(enterprises.set_ownership)
def _set_ownership(_mp):
    firm = NeedFactory().enterprise
    return ([_organizer("江津区"), user_for_role("enterprise", enterprise=firm),
             user_for_role("bank_admin")],
            lambda s: enterprises.set_ownership(s, firm, "private"),
            lambda: firm.ownership)


@case(enterprises.create_need)
def _create_need(_mp):
    firm = NeedFactory().enterprise
    return ([user_for_role("enterprise"), _organizer("江津区"), user_for_role("bank_admin")],
            lambda s: enterprises.create_need(s, firm, publish=True, purpose="working_capital",
                                              amount_wan=Decimal(300), term_months=12,
                                              guarantee_modes=["credit"]),
            lambda: _count(Need))


@case(enterprises.update_need)
def _update_need(_mp):
    need = NeedFactory()
    return ([user_for_role("enterprise"), _organizer(need.enterprise.district)],
            lambda s: enterprises.update_need(s, need, amount_wan=Decimal(900)),
            lambda: need.amount_wan)


@case(enterprises.change_status)
def _change_need_status(_mp):
    need = NeedFactory()
    return ([user_for_role("enterprise"), _organizer("江津区"), user_for_role("admin")],
            lambda s: enterprises.change_status(s, need, "withdrawn", "不再需要"),
            lambda: need.status)


@case(members.invite_first_user)
def _invite_first_user(_mp):
    firm = EnterpriseFactory(district="永川区")
    return ([_organizer("江津区"),
             user_for_role("enterprise", enterprise=firm, is_enterprise_admin=True),
             user_for_role("admin"), user_for_role("applicant")],
            lambda s: members.invite_first_user(s, firm, email="first@firm.cn", name="王总"),
            lambda: _count(Invitation))


def _registration_strangers(firm):
    """Who must never confirm or refuse a firm's registration: another district's organizer,
    the firm's own admin, a bank, the administrator, an applicant."""
    return [_organizer("江津区"),
            user_for_role("enterprise", enterprise=firm, is_enterprise_admin=True),
            user_for_role("bank_admin"), user_for_role("admin"), user_for_role("applicant")]


@case(verification.confirm_registration)
def _confirm_registration(_mp):
    firm = EnterpriseFactory(district="永川区", verification="pending")
    return (_registration_strangers(firm),
            lambda s: verification.confirm_registration(s, firm),
            lambda: (firm.verification, firm.verification_at))


@case(verification.refuse_registration)
def _refuse_registration(_mp):
    firm = EnterpriseFactory(district="永川区", verification="pending")
    return (_registration_strangers(firm),
            lambda s: verification.refuse_registration(s, firm, "名称不符"),
            lambda: (firm.verification, firm.verification_reason))


def _claim_strangers(claim):
    """Who must never decide a claim: another district's organizer, another firm's admin, a
    colleague who is not the admin, a bank, the requester themself."""
    return [_organizer("江津区"), user_for_role("enterprise"),
            user_for_role("enterprise", enterprise=claim.enterprise, is_enterprise_admin=False),
            user_for_role("bank_admin"), claim.requester]


@case(members.approve_claim)
def _approve_claim(_mp):
    claim = EnterpriseClaimFactory(enterprise=EnterpriseFactory(district="永川区"))
    return (_claim_strangers(claim), lambda s: members.approve_claim(s, claim),
            lambda: (claim.status, claim.requester.role, claim.requester.enterprise_id))


@case(members.refuse_claim)
def _refuse_claim(_mp):
    claim = EnterpriseClaimFactory(enterprise=EnterpriseFactory(district="永川区"))
    return (_claim_strangers(claim), lambda s: members.refuse_claim(s, claim, "无法核实"),
            lambda: (claim.status, claim.reason))


@case(members.amend_claim)
def _amend_claim(_mp):
    claim = EnterpriseClaimFactory()
    return ([user_for_role("applicant"), _organizer(claim.enterprise.district),
             user_for_role("enterprise", enterprise=claim.enterprise)],
            lambda s: members.amend_claim(s, claim, position="财务总监", note="工号0012"),
            lambda: (claim.position, claim.note))


@case(members.reapply)
def _reapply(_mp):
    claim = EnterpriseClaimFactory(status="refused", reason="无法核实")
    return ([user_for_role("applicant"), _organizer(claim.enterprise.district)],
            lambda s: members.reapply(s, claim, position=None, note="营业执照复印件已交区经信委"),
            lambda: _count(EnterpriseClaim))


@case(spreadsheet.commit_rows)
def _commit_rows(_mp):
    return ([user_for_role("enterprise"), user_for_role("bank_admin")],
            lambda s: spreadsheet.commit_rows(s, [], {}), lambda: _count(Need))


# institutions -----------------------------------------------------------------------------------

def _product():
    product = ProductFactory()
    return product, product.institution


@case(institutions.create_product)
def _create_product(_mp):
    bank = InstitutionFactory()
    return ([user_for_role("bank_admin"), manager(bank)],
            lambda s: institutions.create_product(s, bank, name="新产品"),
            lambda: _count(Product))


@case(institutions.update_product)
def _update_product(_mp):
    product, bank = _product()
    return ([user_for_role("bank_admin"), manager(bank)],
            lambda s: institutions.update_product(s, product, name="改名"),
            lambda: (product.name, product.version))


@case(institutions.change_product_status)
def _change_product_status(_mp):
    product, bank = _product()
    return ([user_for_role("bank_admin"), manager(bank), user_for_role("admin")],
            lambda s: institutions.change_product_status(s, product, "pause"),
            lambda: product.status)


@case(institutions.reprice_lpr_products)
def _reprice(_mp):
    product, bank = _product()
    return ([user_for_role("bank_admin", institution=bank), user_for_role("organizer")],
            lambda s: institutions.reprice_lpr_products(s, date(2026, 11, 20)),
            lambda: (product.rate_min, product.rate_max))


@case(institutions.update_institution)
def _update_institution(_mp):
    bank = InstitutionFactory()
    return ([user_for_role("bank_admin"), manager(bank)],
            lambda s: institutions.update_institution(s, bank, districts=[], kind="bank",
                                                      contact_name="改"),
            lambda: bank.contact_name)


def _core_entry():
    return institutions.save_core_enterprise(None, None, name="重庆长安汽车股份有限公司",
                                             uscc=None, cluster=None, aliases=[])


@case(institutions.confirm_alias)
def _confirm_alias(_mp):
    entry = _core_entry()
    return ([user_for_role("bank_admin"), user_for_role("enterprise")],
            lambda s: institutions.confirm_alias(s, entry, "长安汽车"),
            lambda: _count(CoreEnterpriseAlias))


@case(institutions.save_core_enterprise)
def _save_core_enterprise(_mp):
    entry = _core_entry()
    return ([user_for_role("bank_admin"), user_for_role("enterprise")],
            lambda s: institutions.save_core_enterprise(s, entry, name="改名", uscc=None,
                                                        cluster=None, aliases=[]),
            lambda: entry.name)


def _core_group():
    entry = _core_entry()
    return institutions.save_core_group(None, None, name="长安汽车集团", aliases=["长安"],
                                        member_ids=[entry.id])


@case(institutions.save_core_group)
def _save_core_group(_mp):
    group = _core_group()
    return ([user_for_role("bank_admin"), user_for_role("enterprise")],
            lambda s: institutions.save_core_group(s, group, name="改名", aliases=[],
                                                   member_ids=[]),
            lambda: (group.name, len(group.members)))


@case(institutions.delete_core_group)
def _delete_core_group(_mp):
    group = _core_group()
    return ([user_for_role("bank_admin"), user_for_role("enterprise")],
            lambda s: institutions.delete_core_group(s, group),
            lambda: _count(CoreEnterpriseGroup))


@case(institutions.load_core_groups)
def _load_core_groups(_mp):
    _core_group()
    return ([user_for_role("bank_manager"), user_for_role("enterprise")],
            lambda s: institutions.load_core_groups(s, [{"name": "长安汽车集团", "members": []}]),
            lambda: _count(CoreEnterpriseGroup))


@case(institutions.load_core_enterprises)
def _load_core_enterprises(_mp):
    return ([user_for_role("bank_manager"), user_for_role("enterprise")],
            lambda s: institutions.load_core_enterprises(s, [{"name": "重庆某核心企业"}]),
            lambda: _count(CoreEnterprise))


# policy, exchange -------------------------------------------------------------------------------

@case(policy.add_lpr_quote)
def _add_lpr_quote(_mp):
    return ([user_for_role("organizer"), user_for_role("bank_admin")],
            lambda s: policy.add_lpr_quote(s, "lpr_1y", Decimal("3.05"), date(2026, 12, 20)),
            lambda: _count(ReferenceRate))


@case(policy.update_program)
def _update_program(_mp):
    program = policy.programs()[0]  # the programmes the policy texts define (migration data)
    return ([user_for_role("organizer"), user_for_role("bank_admin")],
            lambda s: policy.update_program(s, program, settings={}, effective_to=None,
                                            effective_from=date(2026, 1, 1)),
            lambda: (dict(program.settings), program.effective_from))


@case(policy.create_program)
def _create_program(_mp):
    program = policy.programs()[0]
    data = {**policy.program_snapshot(program), "purposes": ["tech_upgrade"]}
    return ([user_for_role("organizer"), user_for_role("bank_admin")],
            lambda s: policy.create_program(s, "new_programme", data),
            lambda: len(policy.programs()))


@case(policy.edit_program)
def _edit_program(_mp):
    program = policy.programs()[0]
    data = {**policy.program_snapshot(program), "label": "改名"}
    return ([user_for_role("organizer"), user_for_role("bank_admin")],
            lambda s: policy.edit_program(s, program, data),
            lambda: (program.label, program.version))


@case(policy.confirm_program)
def _confirm_program(_mp):
    product = ProductFactory(subsidy_programs=["tech_upgrade_interest"], confirmed=False)
    return ([user_for_role("bank_admin", institution=product.institution),
             user_for_role("enterprise")],
            lambda s: policy.confirm_program(s, product, "tech_upgrade_interest"),
            lambda: list(product.confirmed_programs))


@case(policy.confirm_all_pending)
def _confirm_all_pending(_mp):
    product = ProductFactory(subsidy_programs=["tech_upgrade_interest"], confirmed=False)
    return ([user_for_role("bank_admin", institution=product.institution),
             user_for_role("enterprise")],
            lambda s: policy.confirm_all_pending(s, "tech_upgrade_interest"),
            lambda: list(product.confirmed_programs))


@case(policy.revoke_program)
def _revoke_program(_mp):
    product = ProductFactory(subsidy_programs=["tech_upgrade_interest"])
    return ([user_for_role("bank_admin", institution=product.institution),
             user_for_role("enterprise")],
            lambda s: policy.revoke_program(s, product, "tech_upgrade_interest"),
            lambda: list(product.confirmed_programs))


@case(policy.confirm_imported)
def _confirm_imported(_mp):
    product = ProductFactory(subsidy_programs=["tech_upgrade_interest"], confirmed=False)
    return ([user_for_role("organizer"),
             user_for_role("bank_admin", institution=product.institution)],
            lambda s: policy.confirm_imported(s, product),
            lambda: list(product.confirmed_programs))


@case(policy.update_setting)
def _update_setting(_mp):
    return ([user_for_role("organizer"), user_for_role("bank_admin")],
            lambda s: policy.update_setting(s, "claim_limit_per_need", 9),
            lambda: policy.setting("claim_limit_per_need"))


@case(monitoring.update_target)
def _update_target(_mp):
    from matchmaker.extensions import db
    from matchmaker.monitoring.models import Target
    target = db.session.get(Target, "borrowers_growth")
    return ([user_for_role("organizer"), user_for_role("bank_admin")],
            lambda s: monitoring.update_target(s, target, Decimal(20), "某文件"),
            lambda: (target.value, target.source))


@case(monitoring.record_activity)
def _record_activity(_mp):
    from matchmaker.monitoring.models import Activity
    return ([user_for_role("bank_admin"), user_for_role("enterprise"), user_for_role("admin")],
            lambda s: monitoring.record_activity(s, kind="roadshow", title="路演",
                                                 day=date(2026, 1, 5), enterprises=3),
            lambda: _count(Activity))


@case(monitoring.update_criterion)
def _update_criterion(_mp):
    from matchmaker.extensions import db
    from matchmaker.monitoring.models import ScoreCriterion
    criterion = db.session.get(ScoreCriterion, "rating")
    return ([user_for_role("organizer"), user_for_role("bank_admin")],
            lambda s: monitoring.update_criterion(s, criterion, Decimal(50), "某文件"),
            lambda: (criterion.weight, criterion.source))


@case(monitoring_returns.file_return)
def _file_return(_mp):
    from matchmaker.monitoring.models import BankReturn
    bank = InstitutionFactory()
    values = {"loans_total_wan": Decimal(1000), "mfg_balance_wan": Decimal(100),
                  "mfg_increase_wan": Decimal(0), "long_term_wan": Decimal(10),
                  "credit_wan": Decimal(10), "first_loan_borrowers": 1}
    return ([user_for_role("bank_admin"), user_for_role("bank_manager", institution=bank),
             user_for_role("organizer")],
            lambda s: monitoring_returns.file_return(s, bank, date(2026, 1, 1), **values),
            lambda: _count(BankReturn))


@case(monitoring_report.generate)
def _generate_report(_mp):
    from matchmaker.monitoring.models import Report
    return ([user_for_role("bank_admin"), user_for_role("enterprise"), user_for_role("admin")],
            lambda s: monitoring_report.generate(s, "monthly", date(2026, 1, 1)),
            lambda: _count(Report))


@case(workdays.save_workday_override)
def _save_workday(_mp):
    return ([user_for_role("organizer"), user_for_role("bank_manager")],
            lambda s: workdays.save_workday_override(s, date(2027, 1, 1), False),
            lambda: _count(WorkdayOverride))


@case(workdays.delete_workday_override)
def _delete_workday(_mp):
    row = workdays.save_workday_override(user_for_role("admin"), date(2027, 1, 1), False)
    return ([user_for_role("organizer")], lambda s: workdays.delete_workday_override(s, row),
            lambda: _count(WorkdayOverride))


@case(jobs.retry)
def _retry_job(_mp):
    from matchmaker.extensions import db
    from matchmaker.jobs.models import Job
    starter = user_for_role("organizer")  # may watch the job it started, not retry it
    job = Job(kind="matching.recompute", params={}, description="重新计算匹配", status="failed",
              error="RuntimeError", started_by_id=starter.id)
    db.session.add(job)
    db.session.flush()
    return ([starter, user_for_role("bank_admin")], lambda s: jobs.retry(s, job),
            lambda: (job.status, job.attempts))


@case(exchange.import_for)
def _import_for(_mp):
    doc = {"format": "matchmaker-exchange/1", "enterprises": []}
    return ([user_for_role("organizer"), user_for_role("bank_admin")],
            lambda s: exchange.import_for(s, doc), lambda: _count(Need))


@case(exchange.export_for)
def _export_for(_mp):
    NeedFactory()
    return ([user_for_role("organizer"), user_for_role("bank_admin")], exchange.export_for,
            lambda: None)


# leads ------------------------------------------------------------------------------------------

def _colleague(lead):
    return manager(lead.institution)


@case(claims.claim_lead)
def _claim_lead(_mp):
    lead = pushed_lead()
    return ([manager(InstitutionFactory()), owner(lead.need),
             user_for_role("bank_admin", institution=lead.institution)],
            lambda s: claims.claim_lead(s, lead), lambda: (lead.status, len(lead.claims)))


@case(claims.release_claim)
def _release_claim(_mp):
    lead, _holder = claimed_lead()
    return ([_colleague(lead), manager(InstitutionFactory()), owner(lead.need)],
            lambda s: claims.release_claim(s, lead), lambda: (lead.status, lead.live_claim.id))


@case(claims.assign_lead)
def _assign_lead(_mp):
    lead, holder = claimed_lead()
    other = manager(lead.institution)
    return ([holder, other, user_for_role("bank_admin", institution=InstitutionFactory()),
             owner(lead.need), user_for_role("organizer")],
            lambda s: claims.assign_lead(s, lead, other),
            lambda: (lead.status, lead.live_claim.manager_id))


@case(claims.add_followup)
def _add_followup(_mp):
    lead, _holder = claimed_lead()
    return ([_colleague(lead), user_for_role("bank_admin", institution=lead.institution),
             owner(lead.need)],
            lambda s: claims.add_followup(s, lead, "call", "电话联系"),
            lambda: (lead.status, _count(LeadFollowUp)))


def _decision_case(decide):
    def build(_mp):
        lead, _holder = claimed_lead()
        return ([_colleague(lead), user_for_role("bank_admin", institution=lead.institution),
                 owner(lead.need)], lambda s: decide(s, lead), lambda: (lead.status,
                                                                      lead.outcome))
    return build


case(outcomes.approve_lead)(_decision_case(lambda s, lead: outcomes.approve_lead(
    s, lead, product=lead.product, amount_wan=Decimal(300), rate=Decimal("3.85"),
    term_months=12, guarantee_mode="credit", approved_on=date(2026, 11, 2))))
case(outcomes.decline_lead)(_decision_case(
    lambda s, lead: outcomes.decline_lead(s, lead, "insufficient_collateral",
                                         no_contact_reason="电话无人接听")))
case(outcomes.withdraw_lead)(_decision_case(
    lambda s, lead: outcomes.withdraw_lead(s, lead, "企业不再需要")))


def _approved_lead(monkeypatch):
    freeze(monkeypatch, china(2026, 11, 2))
    lead, holder = claimed_lead()
    outcomes.approve_lead(holder, lead, product=lead.product, amount_wan=Decimal(300),
                          rate=Decimal("3.85"), term_months=12, guarantee_mode="credit",
                          approved_on=date(2026, 11, 2))
    return lead, holder


@case(outcomes.confirm_funding)
def _confirm_funding(monkeypatch):
    lead, holder = _approved_lead(monkeypatch)
    return ([holder, user_for_role("enterprise"), _organizer(lead.need.enterprise.district)],
            lambda s: outcomes.confirm_funding(s, lead, 5), lambda: (lead.status, lead.rating))


@case(outcomes.rate_lead)
def _rate_lead(monkeypatch):
    lead, holder = _approved_lead(monkeypatch)
    return ([holder, user_for_role("enterprise")], lambda s: outcomes.rate_lead(s, lead, 4),
            lambda: lead.rating)


@case(push.push_need)
def _push_need(_mp):
    from tests.test_leads_helpers import matched
    need, bank, _ = matched()
    return ([user_for_role("enterprise"), _organizer(need.enterprise.district), manager(bank)],
            lambda s: push.push_need(s, need, [bank.id], ["uscc"]), lambda: _count(Lead))


@case(push.revoke_consent)
def _revoke_consent(_mp):
    lead = pushed_lead()
    given = consent.live_consent(lead.need_id, lead.institution_id)
    return ([manager(lead.institution), user_for_role("enterprise"), user_for_role("organizer")],
            lambda s: push.revoke_consent(s, given), lambda: given.revoked_at)


@case(push.withdraw_flag_consent)
def _withdraw_flag_consent(_mp):
    need = NeedFactory(consent_to_share=True, consent_basis="授权书 1 号")
    return ([_organizer(need.enterprise.district), user_for_role("enterprise"),
             user_for_role("admin")],
            lambda s: push.withdraw_flag_consent(s, need), lambda: need.consent_to_share)


@case(supervision.supervise_claim)
def _supervise_claim(monkeypatch):
    freeze(monkeypatch, china(2026, 11, 2))
    lead, _holder = claimed_lead()
    claim = lead.live_claim
    claim.escalated_at = claim.claimed_at
    return ([user_for_role("bank_admin", institution=lead.institution), _organizer("江津区")],
            lambda s: supervision.supervise_claim(s, claim, "已督办"),
            lambda: claim.supervised_at)


@case(supervision.supervise_lead)
def _supervise_lead(monkeypatch):
    freeze(monkeypatch, china(2026, 11, 2))
    lead = pushed_lead()
    lead.unclaimed_at = lead.created_at
    return ([user_for_role("bank_admin", institution=lead.institution), _organizer("江津区")],
            lambda s: supervision.supervise_lead(s, lead, "已督办"),
            lambda: lead.supervised_at)


# events -----------------------------------------------------------------------------------------

def _event(monkeypatch, **fields):
    from tests.test_events_helpers import BEFORE, make_event
    from tests.test_events_helpers import freeze as freeze_events
    freeze_events(monkeypatch, BEFORE)
    return make_event(district="永川区", **fields)


def _not_the_district():
    """Another district's organizer, and a participant: neither manages a 永川区 event."""
    return [_organizer("江津区"), user_for_role("enterprise"), user_for_role("bank_admin")]


def _event_state(event):
    return lambda: (event.title, event.status, len(event.slots), len(event.tables),
                    _count(EventInvitation))


@case(events.create_event)
def _create_event(_mp):
    return ([user_for_role("enterprise"), user_for_role("bank_admin"), user_for_role("admin")],
            lambda s: events.create_event(s, title="对接会", day=date(2026, 12, 30)),
            lambda: _count(Event))


def _manage_case(call, **event_fields):
    def build(monkeypatch):
        event = _event(monkeypatch, **event_fields)
        return _not_the_district(), lambda s: call(s, event), _event_state(event)
    return build


case(events.update_event)(_manage_case(
    lambda s, e: events.update_event(s, e, title="改名", day=e.day,
                                     registration_deadline=e.registration_deadline)))
case(events.add_slots)(_manage_case(lambda s, e: events.add_slots(
    s, e, e.slots[-1].ends_at, 20, 2)))
case(events.remove_slot)(_manage_case(lambda s, e: events.remove_slot(s, e, e.slots[0])))
case(events.set_tables)(_manage_case(lambda s, e: events.set_tables(s, e, 9)))
case(events.publish_event)(_manage_case(lambda s, e: events.publish_event(s, e),
                                        status="draft"))
case(events.invite)(_manage_case(lambda s, e: events.invite(s, e, "district")))


@case(events.register_enterprise)
def _register_enterprise(monkeypatch):
    event = _event(monkeypatch)
    need = NeedFactory()
    return ([user_for_role("enterprise"), _organizer(), manager(InstitutionFactory())],
            lambda s: events.register_enterprise(s, event, need, consent=True),
            lambda: _count(Registration))


@case(events.register_institution)
def _register_institution(monkeypatch):
    event = _event(monkeypatch)
    bank = InstitutionFactory()
    staff = manager(bank)
    product = ProductFactory(institution=bank)
    return ([user_for_role("bank_admin"), user_for_role("enterprise"), _organizer()],
            lambda s: events.register_institution(s, event, bank, [staff.id], [product.id]),
            lambda: _count(Registration))


def _pair(monkeypatch):
    from tests.test_events_helpers import matched_pair
    event = _event(monkeypatch)
    return (event, *matched_pair(event))


@case(events.cancel_registration)
def _cancel_registration(monkeypatch):
    _e, ent, _eu, _inst, inst_user, _staff = _pair(monkeypatch)
    return ([user_for_role("enterprise"), inst_user, _organizer("江津区")],
            lambda s: events.cancel_registration(s, ent), lambda: ent.status)


@case(events.request_meeting)
def _request_meeting(monkeypatch):
    _e, ent, _eu, inst, inst_user, _staff = _pair(monkeypatch)
    return ([user_for_role("enterprise"), inst_user, _organizer()],  # not ent's own user
            lambda s: events.request_meeting(s, ent, inst, "想了解"),
            lambda: _count(MeetingRequest))


def _sent_request(monkeypatch):
    _e, ent, ent_user, inst, inst_user, _staff = _pair(monkeypatch)
    return events.request_meeting(ent_user, ent, inst, "想了解"), ent_user, inst_user


@case(events.respond_request)
def _respond_request(monkeypatch):
    request, ent_user, _inst_user = _sent_request(monkeypatch)
    return ([ent_user, user_for_role("bank_admin"), _organizer()],  # the sender answers itself
            lambda s: events.respond_request(s, request, True), lambda: request.status)


@case(events.withdraw_request)
def _withdraw_request(monkeypatch):
    request, _ent_user, inst_user = _sent_request(monkeypatch)
    return ([inst_user, user_for_role("enterprise"), _organizer()],  # the receiver withdraws
            lambda s: events.withdraw_request(s, request), lambda: request.status)


@case(events.add_must_meet)
def _add_must_meet(monkeypatch):
    event, ent, _eu, inst, _iu, _staff = _pair(monkeypatch)
    return (_not_the_district(), lambda s: events.add_must_meet(s, event, ent, inst),
            lambda: _count(MeetingRequest))


def _scheduled(monkeypatch):
    from tests.test_events_helpers import accepted
    event, ent, ent_user, inst, inst_user, staff = _pair(monkeypatch)
    accepted(ent, ent_user, inst, inst_user)
    meetings.schedule_event(_organizer(), event)
    return event, ent, ent_user, inst, inst_user, staff


@case(meetings.schedule_event)
def _schedule_event(monkeypatch):
    event, ent, ent_user, inst, inst_user, _staff = _pair(monkeypatch)
    from tests.test_events_helpers import accepted
    accepted(ent, ent_user, inst, inst_user)
    return (_not_the_district(), lambda s: meetings.schedule_event(s, event),
            lambda: (event.status, _count(Meeting)))


@case(meetings.move_meeting)
def _move_meeting(monkeypatch):
    event, _ent, ent_user, _inst, _iu, _staff = _scheduled(monkeypatch)
    meeting = meetings.event_meetings(event)[0]
    slot = next(s for s in event.slots if s.id != meeting.slot_id)
    return ([_organizer("江津区"), ent_user], lambda s: meetings.move_meeting(
        s, meeting, slot, event.tables[-1], confirm=True),
        lambda: (meeting.slot_id, meeting.table_id))


@case(meetings.assign_meeting)
def _assign_meeting(monkeypatch):
    event, _ent, ent_user, _inst, _iu, staff = _scheduled(monkeypatch)
    meeting = meetings.event_meetings(event)[0]
    manager = staff[0]   # the manager registered; an organizer, the enterprise, a manager and
    # another institution's admin may not give the meeting to anyone
    return ([_organizer(), ent_user, manager,
             user_for_role("bank_admin", institution=InstitutionFactory())],
            lambda s: meetings.assign_meeting(s, meeting, manager.id),
            lambda: meeting.manager_id)


@case(meetings.check_in)
def _check_in(monkeypatch):
    from tests.test_events_helpers import ON_THE_DAY
    from tests.test_events_helpers import freeze as freeze_events
    event, ent, *_rest = _scheduled(monkeypatch)
    freeze_events(monkeypatch, ON_THE_DAY)
    return (_not_the_district(), lambda s: meetings.check_in(s, event, ent.checkin_code),
            lambda: (ent.attendance, _count(CheckIn)))


@case(meetings.record_attendance)
def _record_attendance(monkeypatch):
    from tests.test_events_helpers import ON_THE_DAY
    from tests.test_events_helpers import freeze as freeze_events
    event, *_rest = _scheduled(monkeypatch)
    freeze_events(monkeypatch, ON_THE_DAY)
    return (_not_the_district(), lambda s: meetings.record_attendance(s, event),
            lambda: event.status)


@case(meetings.record_result)
def _record_result(monkeypatch):
    from tests.test_events_helpers import ON_THE_DAY
    from tests.test_events_helpers import freeze as freeze_events
    event, _ent, _eu, _inst, _iu, _staff = _scheduled(monkeypatch)
    meeting = meetings.event_meetings(event)[0]
    freeze_events(monkeypatch, ON_THE_DAY)
    return ([manager(InstitutionFactory()), user_for_role("enterprise"), _organizer()],
            lambda s: meetings.record_result(s, meeting, "institution", "follow_up"),
            lambda: (meeting.status, _count(MeetingResult), _count(Lead)))


# whitelists -------------------------------------------------------------------------------------

def _district_draft():
    """A 永川区 draft with one entry, its owner."""
    from tests.test_whitelists_support import batch, district, entry, need_in
    town = district()
    whitelist = batch(town)
    entry(town, whitelist, need_in())
    return whitelist, town


def _elsewhere():
    """Another district's organizer, a bank, an enterprise: none may touch a 永川区 batch."""
    from tests.test_whitelists_support import OTHER_DISTRICT, district
    return [district(OTHER_DISTRICT), user_for_role("bank_admin"), user_for_role("enterprise")]


def _batch_state(whitelist):
    return lambda: (whitelist.title, whitelist.status, len(whitelist.entries),
                    _count(Push), whitelist.version)


@case(whitelists.create_whitelist)
def _create_whitelist(_mp):
    return ([user_for_role("bank_admin"), user_for_role("enterprise"), user_for_role("admin")],
            lambda s: whitelists.create_whitelist(s, title="白名单", kind="needs"),
            lambda: _count(Whitelist))


def _draft_case(call, *, also_city=False):
    def build(_mp):
        from tests.test_whitelists_support import city
        whitelist, _town = _district_draft()
        strangers = _elsewhere() + ([city()] if also_city else [])
        return strangers, lambda s: call(s, whitelist), _batch_state(whitelist)
    return build


# the city edits a district's batch only once it is submitted
case(whitelists.update_whitelist)(_draft_case(
    lambda s, w: whitelists.update_whitelist(s, w, title="改名"), also_city=True))
case(whitelists.submit_whitelist)(_draft_case(whitelists.submit_whitelist, also_city=True))
case(whitelists.add_entry)(_draft_case(lambda s, w: whitelists.add_entry(
    s, w, NeedFactory(), recommender="永川区经信委", consent=True), also_city=True))
case(whitelists.update_entry)(_draft_case(lambda s, w: whitelists.update_entry(
    s, w.entries[0], recommender="改"), also_city=True))
case(whitelists.remove_entry)(_draft_case(lambda s, w: whitelists.remove_entry(
    s, w.entries[0]), also_city=True))
case(imports.commit_import)(_draft_case(lambda s, w: imports.commit_import(
    s, w, [], {}, "永川区经信委"), also_city=True))


@case(whitelists.return_whitelist)
def _return_whitelist(_mp):
    whitelist, town = _district_draft()
    whitelists.submit_whitelist(town, whitelist)
    return ([town] + _elsewhere(), lambda s: whitelists.return_whitelist(s, whitelist, "补充材料"),
            _batch_state(whitelist))


def _pushed(monkeypatch):
    from tests.test_whitelists_support import pushed_batch
    freeze(monkeypatch, china(2026, 11, 2))
    return pushed_batch(n_banks=1, n_entries=1)


@case(whitelists.close_whitelist)
def _close_whitelist(monkeypatch):
    whitelist, *_rest = _pushed(monkeypatch)
    return (_elsewhere(), lambda s: whitelists.close_whitelist(s, whitelist),
            _batch_state(whitelist))


@case(whitelists.new_version)
def _new_version(monkeypatch):
    whitelist, _entries, _banks, owner_ = _pushed(monkeypatch)
    whitelists.close_whitelist(owner_, whitelist)
    return (_elsewhere(), lambda s: whitelists.new_version(s, whitelist),
            lambda: _count(Whitelist))


def _city_draft():
    """A city draft whose entry matches one bank: the city proposes and pushes it."""
    from tests.test_whitelists_support import bank, batch, city, entry, match, need_in
    town = city()
    whitelist = batch(town)
    need = need_in()
    institution, product, _admin, _manager = bank()
    match(need, product)
    entry(town, whitelist, need)
    return whitelist, town, institution


def _pushing_case(call):
    def build(_mp):
        from tests.test_whitelists_support import district
        whitelist, town, institution = _city_draft()
        pushing.propose(town, whitelist)
        return ([district(), user_for_role("bank_admin", institution=institution)],
                lambda s: call(s, whitelist, institution), _batch_state(whitelist))
    return build


case(pushing.propose)(_pushing_case(lambda s, w, _i: pushing.propose(s, w)))
case(pushing.push_whitelist)(_pushing_case(lambda s, w, _i: pushing.push_whitelist(s, w)))
case(pushing.add_push)(_pushing_case(
    lambda s, w, _i: pushing.add_push(s, w.entries[0], InstitutionFactory())))
case(pushing.remove_push)(_pushing_case(
    lambda s, w, _i: pushing.remove_push(s, w.entries[0].pushes[0])))


@case(rules.set_flag)
def _set_flag(_mp):
    from tests.test_whitelists_support import need_in
    firm = need_in().enterprise
    return (_elsewhere(), lambda s: rules.set_flag(s, firm, "经营困难"),
            lambda: _count(EnterpriseFlag))


@case(rules.clear_flag)
def _clear_flag(_mp):
    from tests.test_whitelists_support import district, need_in
    flag = rules.set_flag(district(), need_in().enterprise, "经营困难")
    return _elsewhere(), lambda s: rules.clear_flag(s, flag), lambda: flag.cleared_at


@case(answers.record_disbursement)
def _record_disbursement(monkeypatch):
    _w, entries, banks, _owner = _pushed(monkeypatch)
    institution, product, _admin, holder = banks[0]
    sent = entries[0].sent_pushes[0]
    claims.claim_lead(holder, sent.lead)
    outcomes.approve_lead(holder, sent.lead, product=product, amount_wan=Decimal(300),
                          rate=Decimal("3.85"), term_months=12, guarantee_mode="credit",
                          approved_on=date(2026, 11, 2))
    return ([user_for_role("bank_admin"), manager(institution), owner(sent.lead.need)],
            lambda s: answers.record_disbursement(
                s, sent, amount_wan=Decimal(300), rate=Decimal("3.85"), term_months=12,
                disbursed_on=date(2026, 11, 2)),
            lambda: (sent.disbursed_amount_wan, sent.lead.status))


@case(answers.supervise_push)
def _supervise_push(monkeypatch):
    _w, entries, banks, _owner = _pushed(monkeypatch)
    sent = entries[0].sent_pushes[0]
    from tests.test_whitelists_support import district
    return ([district(), user_for_role("bank_admin", institution=banks[0][0])],
            lambda s: answers.supervise_push(s, sent, "已电话督办"), lambda: sent.supervised_at)


# the table, run (after every case above has registered itself) ---------------------------------

def test_every_guarded_service_has_a_wrong_actor_case():
    assert {name for name in GUARDED if name.startswith("matchmaker.")} == set(CASES)


@pytest.mark.parametrize("name", sorted(CASES))
def test_a_guarded_service_refuses_a_wrong_actor_and_changes_nothing(db, monkeypatch, name):
    strangers, call, state = CASES[name](monkeypatch)
    assert strangers
    if not GUARDED[name].guard.system:
        strangers = [*strangers, None]  # the platform: only system services take no actor
    for stranger in strangers:
        before = (state(), _audit_rows())
        with pytest.raises(Forbidden):
            call(stranger)
        assert (state(), _audit_rows()) == before, (name, getattr(stranger, "role", None))
