"""Phone-first lists (issue 18): cards below 768 px and a table with the same columns; the
deadline as working days left, overdue red and due today amber."""
from datetime import date

from matchmaker.web.urgency import countdown
from tests.test_leads_helpers import china, claimed_lead, freeze, owner, pushed_lead


def test_countdown_counts_working_days(app, db):
    friday = date(2026, 11, 6)
    assert countdown(friday, friday).level == "today"
    assert countdown(friday, friday).label == "今天截止"
    monday = date(2026, 11, 9)
    assert countdown(monday, friday).working_days == 1  # the weekend does not count
    assert countdown(monday, friday).level == "soon"
    late = countdown(friday, monday)
    assert late.level == "overdue" and late.working_days == -1
    assert late.style == "text-bg-danger" and "已超时1个工作日" == late.label
    assert countdown(date(2026, 11, 20), friday).level == "later"
    assert countdown(None) is None


def test_inbox_shows_company_reason_score_and_countdown_as_cards_and_table(app, db,
                                                                            monkeypatch):
    freeze(monkeypatch, china(2026, 11, 2))
    lead, holder = claimed_lead()
    lead.matched = [{"product_id": 1, "product_version": 1, "score": 87.5,
                     "reasons": ["用途相符：流动资金"], "estimated_rate": None}]
    page = app.test_client(user=holder).get("/leads/").text
    assert 'data-testid="inbox-cards"' in page and 'data-testid="inbox"' in page
    name = lead.need.enterprise.name
    assert page.count(name) >= 2  # card and row
    assert page.count("用途相符：流动资金") == 2
    assert ">88<" in page  # the score column
    assert 'data-testid="countdown" data-level="soon"' in page  # contact due in 2 working days
    assert page.count('data-testid="main-action"') == 2


def test_overdue_lead_is_red(app, db, monkeypatch):
    freeze(monkeypatch, china(2026, 11, 2))
    _lead, holder = claimed_lead()
    freeze(monkeypatch, china(2026, 11, 10))
    page = app.test_client(user=holder).get("/leads/").text
    assert 'data-level="overdue"' in page and "urgency-overdue" in page


def test_open_lead_offers_claim_on_the_card(app, db):
    from tests.test_leads_helpers import manager
    lead = pushed_lead()
    page = app.test_client(user=manager(lead.institution)).get("/leads/").text
    assert f'/leads/{lead.id}/claim' in page


def test_my_needs_cards_and_table(app, db):
    lead = pushed_lead()
    page = app.test_client(user=owner(lead.need)).get("/needs").text
    assert 'data-testid="need-cards"' in page and 'data-testid="needs-table"' in page
    assert page.count(f"/leads/needs/{lead.need_id}/push") == 2  # the main action, twice


def test_need_page_leads_with_the_next_step(app, db):
    from tests.factories import NeedFactory
    from tests.test_leads_helpers import matched
    draft = NeedFactory(status="draft")
    page = app.test_client(user=owner(draft)).get(f"/needs/{draft.id}").text
    step = page[page.index('data-testid="next-step"'):]
    assert step.index("发布需求") < step.index('data-testid="need-details"')
    need, _bank, _product = matched()
    need.status = "published"
    page = app.test_client(user=owner(need)).get(f"/needs/{need.id}").text
    top = page[page.index('data-testid="next-step"'):page.index('data-testid="need-details"')]
    assert f"/leads/needs/{need.id}/push" in top and 'data-testid="main-action"' in top
    assert "<details" in page  # the details are folded
