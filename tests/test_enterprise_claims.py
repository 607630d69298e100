"""Issue 17 #4: enterprise accounts for collected firms. An organizer invites a collected
firm's first user from its page; a person registering with a known USCC gets an applicant
account and a claim request that the firm's admin or an organizer of its district decides;
nobody obtains an enterprise by typing its code."""
import pytest
from flask import url_for
from sqlalchemy import func, select

from matchmaker.accounts.models import Invitation, User
from matchmaker.audit.models import AuditEntry
from matchmaker.enterprises import members
from matchmaker.enterprises.models import EnterpriseClaim
from matchmaker.errors import ServiceError
from matchmaker.notifications.models import Notification
from tests.conftest import ROLES as BASE_ROLES
from tests.factories import (
    EnterpriseClaimFactory,
    EnterpriseFactory,
    NeedFactory,
    user_for_role,
)
from tests.helpers import assert_audited
from tests.test_invitations import accept, invitation_link, mails
from tests.test_registration import USCC
from tests.test_registration import form as registration_form


def _count(model, *where) -> int:
    from matchmaker.extensions import db
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def _client(app, user):
    return app.test_client(user=user)


@pytest.fixture
def firm(db):
    """A firm the 永川区 organizer collected by spreadsheet: no user, a contact on file."""
    firm = EnterpriseFactory(district="永川区", contact_name="吴会计",
                             contact_phone="13983000011")
    NeedFactory(enterprise=firm)
    db.session.commit()
    return firm


# --- the organizer invites the first user ---------------------------------------------------

def test_the_firms_page_offers_the_invitation_while_it_has_no_user(app, db, firm):
    organizer = user_for_role("organizer", district="永川区")
    page = _client(app, organizer).get(f"/enterprises/{firm.id}").get_data(as_text=True)
    assert 'data-testid="invite-first-user"' in page
    assert 'value="吴会计"' in page  # the contact on file, prefilled
    user_for_role("enterprise", enterprise=firm)
    page = _client(app, organizer).get(f"/enterprises/{firm.id}").get_data(as_text=True)
    assert 'data-testid="invite-first-user"' not in page
    assert "已开通 1 个账号" in page


@pytest.mark.parametrize("district", [None, "永川区"])  # city level, the firm's district
def test_an_organizer_invites_the_first_user_who_becomes_its_admin(app, db, firm, outbox,
                                                                   district):
    organizer = user_for_role("organizer", district=district, organization="永川区经信委")
    response = _client(app, organizer).post(f"/enterprises/{firm.id}/invite",
                                            data={"email": "Boss@Firm.cn", "name": "王总"})
    assert response.status_code == 302
    invitation = db.session.scalar(select(Invitation).where(Invitation.email == "boss@firm.cn"))
    assert (invitation.role, invitation.enterprise_id, invitation.enterprise_admin) == (
        "enterprise", firm.id, True)
    assert_audited("invitation.created", invitation, enterprise_id=firm.id,
                   enterprise_admin=True)
    [message] = [m for m in mails(outbox) if m["To"] == "boss@firm.cn"]
    assert firm.name in message.get_content() and "企业管理员" in message.get_content()

    newcomer = app.test_client()
    assert accept(newcomer, invitation_link(outbox, "boss@firm.cn"), "王总").status_code == 302
    user = db.session.scalar(select(User).where(User.email == "boss@firm.cn"))
    assert (user.role, user.enterprise_id, user.is_enterprise_admin) == (
        "enterprise", firm.id, True)
    assert firm.name in newcomer.get("/enterprise").get_data(as_text=True)
    assert newcomer.get("/invitations/new").status_code == 200  # its admin invites colleagues


def test_another_districts_organizer_gets_404_and_nothing_is_sent(app, db, firm, outbox):
    stranger = user_for_role("organizer", district="江津区")
    response = _client(app, stranger).post(f"/enterprises/{firm.id}/invite",
                                           data={"email": "x@firm.cn", "name": "王总"})
    assert response.status_code == 404
    assert _count(Invitation) == 0 and not mails(outbox)


def test_a_firm_with_users_is_refused_its_admin_invites(app, db, firm, outbox):
    user_for_role("enterprise", enterprise=firm)
    organizer = user_for_role("organizer")
    response = _client(app, organizer).post(f"/enterprises/{firm.id}/invite",
                                            data={"email": "x@firm.cn", "name": "王总"})
    assert response.status_code == 400
    assert "该企业已有用户" in response.get_data(as_text=True)
    assert _count(Invitation) == 0 and not mails(outbox)


def test_inviting_again_replaces_the_open_invitation(app, db, firm, outbox):
    client = _client(app, user_for_role("organizer"))
    client.post(f"/enterprises/{firm.id}/invite", data={"email": "typo@firm.cn", "name": "王总"})
    first = invitation_link(outbox, "typo@firm.cn")
    client.post(f"/enterprises/{firm.id}/invite", data={"email": "boss@firm.cn", "name": "王总"})
    assert app.test_client().get(first).status_code == 404  # revoked
    assert app.test_client().get(invitation_link(outbox, "boss@firm.cn")).status_code == 200
    [typo] = db.session.scalars(select(Invitation).where(Invitation.email == "typo@firm.cn"))
    assert_audited("invitation.revoked", typo, superseded=True)


def test_a_bad_address_is_explained_beside_the_field(app, db, firm):
    response = _client(app, user_for_role("organizer")).post(
        f"/enterprises/{firm.id}/invite", data={"email": "not-an-address", "name": ""})
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert 'data-field="email">邮箱格式不正确' in html and 'data-field="name">请填写姓名' in html


# --- registration with a known USCC: a claim request, never the enterprise ------------------

def test_registering_a_known_uscc_asks_and_the_approvers_are_told(app, client, db, outbox):
    firm = EnterpriseFactory(uscc=USCC, district="永川区")
    need = NeedFactory(enterprise=firm)
    admin = user_for_role("enterprise", enterprise=firm, email="boss@firm.cn",
                          is_enterprise_admin=True)
    district = user_for_role("organizer", district="永川区")
    city = user_for_role("organizer")
    elsewhere = user_for_role("organizer", district="江津区")
    db.session.commit()
    client.post("/register", data=registration_form(company_name="重庆冒名机械有限公司"))
    applicant = db.session.scalar(select(User).where(User.email == "finance@liangjiang.cn"))
    assert (applicant.role, applicant.enterprise_id) == ("applicant", None)
    assert applicant.phone == "13800001234"
    claim = db.session.scalar(select(EnterpriseClaim).where(
        EnterpriseClaim.requester_id == applicant.id))
    assert (claim.enterprise_id, claim.status, claim.company_name) == (
        firm.id, "pending", "重庆冒名机械有限公司")
    assert_audited("enterprise_claim.requested", claim, enterprise_id=firm.id)
    told = set(db.session.scalars(select(Notification.user_id).where(
        Notification.kind == "enterprise_claim.requested")))
    assert told == {admin.id, district.id, city.id} and elsewhere.id not in told

    # nothing of the enterprise until approved: every enterprise page is closed to it
    for path in ("/enterprise", "/needs", f"/needs/{need.id}", "/needs/new",
                 f"/enterprises/{firm.id}", "/invitations"):
        assert client.get(path).status_code == 403, path
    home = client.get("/home").get_data(as_text=True)
    assert "待审核" in home and firm.name in home and need.ref not in home


def test_the_approvers_see_what_was_typed_against_what_is_on_file(app, db):
    claim = EnterpriseClaimFactory(enterprise=EnterpriseFactory(district="永川区"),
                                   company_name="重庆冒名机械有限公司", position="财务")
    html = _client(app, user_for_role("organizer", district="永川区")).get(
        "/enterprises/claims").get_data(as_text=True)
    assert f'data-testid="claim-{claim.id}"' in html
    assert "重庆冒名机械有限公司" in html and 'data-testid="name-differs"' in html
    assert 'href="tel:13800001234"' in html


def test_the_queue_holds_only_the_approvers_own_firms(app, db):
    here = EnterpriseClaimFactory(enterprise=EnterpriseFactory(district="永川区"))
    there = EnterpriseClaimFactory(enterprise=EnterpriseFactory(district="江津区"))
    unconfirmed = EnterpriseClaimFactory(enterprise=EnterpriseFactory(district="永川区"))
    unconfirmed.requester.active = False  # its mailbox not confirmed yet: nobody
    organizer = _client(app, user_for_role("organizer", district="永川区")).get(
        "/enterprises/claims").get_data(as_text=True)
    assert f"claim-{here.id}" in organizer and f"claim-{there.id}" not in organizer
    assert f"claim-{unconfirmed.id}" not in organizer
    admin = _client(app, user_for_role("enterprise", enterprise=there.enterprise,
                                       is_enterprise_admin=True)).get(
        "/enterprises/claims").get_data(as_text=True)
    assert f"claim-{there.id}" in admin and f"claim-{here.id}" not in admin
    colleague = user_for_role("enterprise", enterprise=there.enterprise,
                              is_enterprise_admin=False)
    assert _client(app, colleague).get("/enterprises/claims").status_code == 403


def test_an_organizer_approves_and_the_requester_becomes_the_firms_admin(app, db, firm):
    claim = EnterpriseClaimFactory(enterprise=firm)
    requester = claim.requester
    organizer = user_for_role("organizer", district="永川区")
    response = _client(app, organizer).post(f"/enterprises/claims/{claim.id}/approve",
                                            data={"back": "enterprise"})
    assert response.headers["Location"].endswith(f"/enterprises/{firm.id}")
    db.session.refresh(claim)
    assert (claim.status, claim.decided_by_id) == ("approved", organizer.id)
    assert (requester.role, requester.enterprise_id, requester.is_enterprise_admin) == (
        "enterprise", firm.id, True)
    assert_audited("enterprise_claim.approved", claim, enterprise_admin=True,
                   requester_id=requester.id)
    assert _count(Notification, Notification.user_id == requester.id,
                  Notification.kind == "enterprise_claim.approved") == 1
    own = _client(app, requester)
    assert firm.name in own.get("/enterprise").get_data(as_text=True)
    assert own.get("/needs").status_code == 200


def test_the_firms_admin_approves_a_colleague_who_is_not_made_admin(app, db, firm):
    admin = user_for_role("enterprise", enterprise=firm, is_enterprise_admin=True)
    claim = EnterpriseClaimFactory(enterprise=firm)
    _client(app, admin).post(f"/enterprises/claims/{claim.id}/approve", data={})
    requester = claim.requester
    assert (requester.role, requester.enterprise_id, requester.is_enterprise_admin) == (
        "enterprise", firm.id, False)


@pytest.mark.parametrize("who", ["other_district", "other_firms_admin", "colleague"])
def test_a_claim_outside_ones_scope_is_404(app, db, firm, who):
    claim = EnterpriseClaimFactory(enterprise=firm)
    user = {"other_district": lambda: user_for_role("organizer", district="江津区"),
            "other_firms_admin": lambda: user_for_role("enterprise"),
            "colleague": lambda: user_for_role("enterprise", enterprise=firm,
                                               is_enterprise_admin=False)}[who]()
    client = _client(app, user)
    for action in ("approve", "refuse"):
        assert client.post(f"/enterprises/claims/{claim.id}/{action}",
                           data={"reason": "x"}).status_code == 404
    db.session.refresh(claim)
    assert claim.status == "pending" and claim.requester.role == "applicant"


def test_a_refusal_needs_a_reason_the_requester_then_reads(app, db, firm):
    claim = EnterpriseClaimFactory(enterprise=firm)
    organizer = _client(app, user_for_role("organizer"))
    db.session.commit()  # the refused attempt's rollback must not undo the arrangement
    response = organizer.post(f"/enterprises/claims/{claim.id}/refuse", data={"reason": " "},
                              follow_redirects=True)
    assert "请填写不予通过的原因" in response.get_data(as_text=True)
    db.session.refresh(claim)
    assert claim.status == "pending"
    organizer.post(f"/enterprises/claims/{claim.id}/refuse",
                   data={"reason": "联系人吴会计不认识申请人"})
    db.session.refresh(claim)
    assert (claim.status, claim.reason) == ("refused", "联系人吴会计不认识申请人")
    assert claim.requester.role == "applicant" and claim.requester.enterprise_id is None
    assert_audited("enterprise_claim.refused", claim)
    home = _client(app, claim.requester).get("/home").get_data(as_text=True)
    assert "未通过" in home and "联系人吴会计不认识申请人" in home


def test_a_second_decision_changes_nothing(app, db, firm):
    claim = EnterpriseClaimFactory(enterprise=firm)
    first, second = user_for_role("organizer"), user_for_role("organizer", district="永川区")
    members.approve_claim(first, claim)
    with pytest.raises(ServiceError, match="已由他人处理"):
        members.refuse_claim(second, claim, "晚到的决定")
    db.session.refresh(claim)
    assert (claim.status, claim.decided_by_id) == ("approved", first.id)
    assert _count(AuditEntry, AuditEntry.action.like("enterprise_claim.%"),
                  AuditEntry.subject_id == claim.id) == 1


def test_the_requester_adds_position_and_proof_while_it_waits(app, db, firm):
    claim = EnterpriseClaimFactory(enterprise=firm)
    own = _client(app, claim.requester)
    own.post(f"/claims/{claim.id}/amend", data={"position": "财务总监",
                                                "note": "营业执照复印件已交永川区经信委"})
    db.session.refresh(claim)
    assert (claim.position, claim.note) == ("财务总监", "营业执照复印件已交永川区经信委")
    assert_audited("enterprise_claim.amended", claim)
    other = EnterpriseClaimFactory()
    assert own.post(f"/claims/{other.id}/amend", data={"note": "x"}).status_code == 404


def test_after_a_refusal_the_requester_may_ask_again_a_few_times(app, db, firm):
    claim = EnterpriseClaimFactory(enterprise=firm, status="refused", reason="无法核实")
    own = _client(app, claim.requester)
    db.session.commit()  # the refused attempt's rollback must not undo the arrangement
    response = own.post(f"/claims/{claim.id}/reapply", data={"note": ""},
                        follow_redirects=True)
    assert "请补充说明" in response.get_data(as_text=True)
    own.post(f"/claims/{claim.id}/reapply", data={"note": "可请吴会计证明"})
    again = db.session.scalar(select(EnterpriseClaim).where(
        EnterpriseClaim.requester_id == claim.requester_id, EnterpriseClaim.status == "pending"))
    assert again is not None and again.note == "可请吴会计证明"
    members.refuse_claim(user_for_role("organizer"), again, "仍无法核实")
    members.reapply(claim.requester, again, position=None, note="第三次")
    third = db.session.scalar(select(EnterpriseClaim).where(
        EnterpriseClaim.requester_id == claim.requester_id, EnterpriseClaim.status == "pending"))
    members.refuse_claim(user_for_role("organizer"), third, "不予通过")
    with pytest.raises(ServiceError, match="最多可申请3次"):
        members.reapply(claim.requester, third, position=None, note="第四次")


def test_an_applicant_who_is_approved_can_no_longer_amend(app, db, firm):
    claim = EnterpriseClaimFactory(enterprise=firm)
    members.approve_claim(user_for_role("organizer"), claim)
    response = _client(app, claim.requester).post(f"/claims/{claim.id}/amend",
                                                  data={"note": "x"})
    assert response.status_code == 403  # an enterprise user now: the applicant's page is gone


# --- access: every new route × every role (applicant included) ------------------------------

ROLES = BASE_ROLES + ("applicant",)
MEMBER_ROUTES = {  # endpoint -> (method, roles that may use it)
    "enterprises.claims": ("GET", {"organizer", "enterprise"}),
    "enterprises.invite_first_user": ("POST", {"organizer"}),
    "enterprises.approve_claim": ("POST", {"organizer", "enterprise"}),
    "enterprises.refuse_claim": ("POST", {"organizer", "enterprise"}),
    "enterprises.amend_claim": ("POST", {"applicant"}),
    "enterprises.reapply_claim": ("POST", {"applicant"}),
}


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("endpoint", sorted(MEMBER_ROUTES))
def test_each_role_on_each_new_route(app, db, role, endpoint):
    """The role's own object (its firm's claim, its district's firm, its own request):
    allowed roles are served, the others refused (403), anonymous sent to log in."""
    method, allowed = MEMBER_ROUTES[endpoint]
    firm = EnterpriseFactory(district="永川区")
    claim = EnterpriseClaimFactory(
        enterprise=firm, **({"status": "refused", "reason": "无法核实"}
                            if endpoint == "enterprises.reapply_claim" else {}))
    user = {"anonymous": lambda: None, "applicant": lambda: claim.requester,
            "enterprise": lambda: user_for_role("enterprise", enterprise=firm,
                                                is_enterprise_admin=True),
            "organizer": lambda: user_for_role("organizer", district="永川区")}.get(
        role, lambda: user_for_role(role))()
    client = app.test_client(user=user) if user else app.test_client()
    with app.test_request_context():
        url = url_for(endpoint, claim_id=claim.id, enterprise_id=firm.id)
    response = client.open(url, method=method,
                           data={"email": "first@firm.cn", "name": "王总", "reason": "无法核实",
                                 "note": "可请吴会计证明"})
    status, location = response.status_code, response.headers.get("Location", "")
    if role == "anonymous":
        assert status in (302, 303) and "/login" in location
    elif role in allowed:
        assert status in (200, 302, 400) and "/login" not in location, status
    else:
        assert status == 403


def test_another_applicants_request_cannot_be_asked_again(app, db):
    theirs = EnterpriseClaimFactory(status="refused", reason="无法核实")
    mine = EnterpriseClaimFactory()
    response = _client(app, mine.requester).post(f"/claims/{theirs.id}/reapply",
                                                 data={"note": "冒充"})
    assert response.status_code == 404
    assert _count(EnterpriseClaim, EnterpriseClaim.requester_id == theirs.requester_id) == 1


def test_inviting_a_person_who_already_asked_points_to_the_claim(app, db, firm):
    claim = EnterpriseClaimFactory(enterprise=firm)
    claim.requester.email = "asked@firm.cn"
    organizer = user_for_role("organizer")
    db.session.commit()  # the refused attempt's rollback must not undo the arrangement
    response = _client(app, organizer).post(
        f"/enterprises/{firm.id}/invite", data={"email": "Asked@Firm.cn", "name": "王总"})
    assert response.status_code == 400
    assert "已提交认领申请" in response.get_data(as_text=True)
    assert _count(Invitation) == 0


def test_an_erased_requester_cannot_be_approved(app, db, firm):
    claim = EnterpriseClaimFactory(enterprise=firm)
    claim.requester.active = False
    with pytest.raises(ServiceError, match="已注销或停用"):
        members.approve_claim(user_for_role("organizer"), claim)
