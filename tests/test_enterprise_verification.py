"""Issue 17 #4, what was left: a USCC the platform does not know yet. A firm that registered
itself is 待核验 until an organizer of its district confirms it (on its page, the list, or an
import row with the same name); until then its needs reach no bank. Refused: its accounts stop."""
import pytest
from sqlalchemy import func, select

from matchmaker.accounts.models import User
from matchmaker.enterprises.models import Enterprise
from matchmaker.leads import consent as consents
from matchmaker.leads import push, service
from matchmaker.leads.models import Consent, Lead
from matchmaker.notifications.models import Notification
from tests.factories import EnterpriseFactory, InstitutionFactory, NeedFactory, user_for_role
from tests.helpers import assert_audited
from tests.test_invitations import mails
from tests.test_leads_helpers import matched
from tests.test_registration import USCC
from tests.test_registration import form as registration_form
from tests.test_spreadsheet_import import commit, row, upload, workbook


def _count(model, *where) -> int:
    from matchmaker.extensions import db
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


@pytest.fixture
def squatted(db):
    """A 永川区 firm that registered itself, its admin, and a flagged need a bank matches."""
    firm = EnterpriseFactory(district="永川区", verification="pending",
                             name="重庆永川精工机械有限公司")
    admin = user_for_role("enterprise", enterprise=firm, is_enterprise_admin=True)
    need, institution, _ = matched(NeedFactory(enterprise=firm, consent_to_share=True))
    db.session.commit()
    return firm, admin, need, institution


def test_self_registration_makes_a_firm_awaiting_its_check(client, db):
    assert client.post("/register", data=registration_form()).status_code == 302
    firm = db.session.scalar(select(Enterprise).where(Enterprise.uscc == USCC))
    assert firm.verification == "pending"
    assert_audited("enterprise.created", firm, via="registration", verification="pending")
    home = client.get("/home").get_data(as_text=True)
    assert 'data-testid="registration-pending"' in home
    assert "需求不会展示或推送给金融机构" in home and "永川区经信部门" in home


def test_nothing_reaches_a_bank_before_the_check(app, db, squatted):
    _firm, admin, need, institution = squatted
    client = app.test_client(user=admin)
    page = client.get(f"/leads/needs/{need.id}/push").get_data(as_text=True)
    assert 'data-testid="registration-pending"' in page
    refused = client.post(f"/leads/needs/{need.id}/push", data={
        "institutions": [institution.id], "scope": ["uscc"], "agree": "y"})
    assert refused.status_code == 400 and "尚待企业所在区县经信部门核验" in refused.text
    assert push.sync_consent_from_flag(need) == []  # the flag waits
    assert push.sync_flag_consents_for_needs([need.id]) == 0  # its bulk form too
    with pytest.raises(Exception, match="尚待企业所在区县经信部门核验"):  # whitelists, events
        service.open_lead(need, institution, source="whitelist", actor=None)
    assert _count(Lead) == 0 and _count(Consent) == 0
    # the firm still sees its own need and its matches
    assert client.get(f"/needs/{need.id}").status_code == 200


def test_the_organizer_sees_the_count_and_confirms_on_the_list(app, db, squatted):
    firm, admin, need, institution = squatted
    organizer = app.test_client(user=user_for_role("organizer", district="永川区"))
    home = organizer.get("/home").get_data(as_text=True)
    assert 'data-testid="home-registrations"' in home and "1</span><span class=\"visually-hidden\">家待核验" in home
    listing = organizer.get("/enterprises/registrations").get_data(as_text=True)
    assert f'data-testid="registration-{firm.id}"' in listing and firm.uscc in listing
    response = organizer.post(f"/enterprises/{firm.id}/registration/confirm",
                              data={"back": "list"})
    assert response.status_code == 302 and response.headers["Location"].endswith(
        "/enterprises/registrations")
    db.session.refresh(firm)
    assert firm.verification == "verified" and firm.verification_at is not None
    assert_audited("enterprise.verified", firm, via="page")
    assert _count(Notification, Notification.user_id == admin.id,
                  Notification.kind == "enterprise.verified") == 1
    assert "暂无待核验的企业注册" in organizer.get("/enterprises/registrations").text
    # from now on its needs reach banks: the flag and the firm's own push
    assert [lead.institution_id for lead in push.sync_consent_from_flag(need)] == [
        institution.id]
    assert consents.live_consent(need.id, institution.id).via == "flag"
    again = organizer.post(f"/enterprises/{firm.id}/registration/confirm")
    assert "该企业的注册已由他人处理" in organizer.get(again.headers["Location"]).text


def test_the_firms_page_offers_the_check_to_its_organizers_only(app, db, squatted):
    firm, admin, _need, _institution = squatted
    for district in ("永川区", None):
        page = app.test_client(user=user_for_role("organizer", district=district)).get(
            f"/enterprises/{firm.id}").get_data(as_text=True)
        assert f'data-testid="confirm-registration-{firm.id}"' in page
    own = app.test_client(user=admin).get("/enterprise").get_data(as_text=True)
    assert 'data-testid="registration-pending"' in own
    assert "confirm-registration" not in own


@pytest.mark.parametrize("action", ["confirm", "refuse"])
def test_who_may_not_decide(app, db, squatted, action):
    firm, admin, _need, _institution = squatted
    url = f"/enterprises/{firm.id}/registration/{action}"
    data = {"reason": "名称不符"}
    other = app.test_client(user=user_for_role("organizer", district="江津区"))
    assert other.post(url, data=data).status_code == 404  # another district's firm
    assert "重庆永川精工" not in other.get("/enterprises/registrations").text
    for role in ("enterprise", "bank_admin", "bank_manager", "admin", "applicant"):
        user = admin if role == "enterprise" else user_for_role(role)
        assert app.test_client(user=user).post(url, data=data).status_code == 403, role
    assert app.test_client().post(url, data=data).status_code == 302  # to the login page
    db.session.refresh(firm)
    assert firm.verification == "pending"


def test_refusal_needs_a_reason_then_stops_the_registrants_accounts(app, db, squatted, outbox):
    firm, admin, need, _institution = squatted
    organizer = app.test_client(user=user_for_role("organizer", district="永川区"))
    db.session.commit()  # a refusal rolls back: the organizer must survive it
    blank = organizer.post(f"/enterprises/{firm.id}/registration/refuse", data={"reason": " "})
    assert "请填写不予通过的原因" in organizer.get(blank.headers["Location"]).text
    db.session.refresh(firm)
    assert firm.verification == "pending"
    organizer.post(f"/enterprises/{firm.id}/registration/refuse",
                   data={"reason": "营业执照名称为重庆另一家公司"})
    db.session.refresh(firm)
    user = db.session.get(User, admin.id)
    db.session.refresh(user)
    assert (firm.verification, firm.verification_reason) == (
        "refused", "营业执照名称为重庆另一家公司")
    assert not user.active
    assert_audited("enterprise.registration_refused", firm)
    assert_audited("user.deactivated", user, reason="registration_refused")
    [mail] = [m for m in mails(outbox) if m["To"] == admin.email]
    assert "未通过区县经信部门核验" in mail.get_content()
    assert "营业执照名称为重庆另一家公司" not in mail.get_content()  # the reason stays here
    # its session ends, and nothing of the firm reaches a bank
    assert app.test_client(user=user).get("/enterprise").status_code != 200
    with pytest.raises(Exception, match="尚待企业所在区县经信部门核验"):
        service.open_lead(need, InstitutionFactory(), source="event", actor=None)
    page = organizer.get(f"/enterprises/{firm.id}").text
    assert "营业执照名称为重庆另一家公司" in page  # an organizer may still confirm it later


# --- the organizers' spreadsheet ----------------------------------------------------------------

@pytest.fixture
def stash_dir(app, tmp_path):
    app.config["SPREADSHEET_UPLOAD_DIR"] = str(tmp_path / "imports")
    yield tmp_path / "imports"
    app.config.pop("SPREADSHEET_UPLOAD_DIR", None)


def _pending_firm(db, n, name):
    firm = EnterpriseFactory(uscc=row(n)["uscc"], name=name, district="永川区",
                             verification="pending")
    db.session.commit()
    return firm


def test_an_import_row_with_the_same_name_confirms_the_registration(app, db, stash_dir):
    firm = _pending_firm(db, 1, "导入测试1号机械公司")  # the same company, tolerantly
    organizer = app.test_client(user=user_for_role("organizer", district="永川区"))
    preview = upload(organizer, workbook([row(1)]))
    assert 'data-testid="confirms-registration"' in preview.text
    assert commit(organizer, preview).status_code == 302
    db.session.refresh(firm)
    assert firm.verification == "verified"
    assert_audited("enterprise.verified", firm, via="spreadsheet")


def test_an_import_row_under_another_name_is_refused_until_the_organizer_decides(app, db,
                                                                                 stash_dir):
    firm = _pending_firm(db, 1, "重庆抢注贸易有限公司")
    organizer = app.test_client(user=user_for_role("organizer", district="永川区"))
    preview = upload(organizer, workbook([row(1)])).get_data(as_text=True)
    assert "已由他人自行注册为“重庆抢注贸易有限公司”（待核验）" in preview
    assert "平台登记为“重庆抢注贸易有限公司”，文件中为“重庆导入测试1号机械有限公司”" in preview
    assert 'data-testid="confirms-registration"' not in preview
    db.session.refresh(firm)
    assert (firm.verification, firm.name) == ("pending", "重庆抢注贸易有限公司")
