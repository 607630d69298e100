"""The ranking's fit on the platform (issue 14): an organizer's verification of a tag re-matches
the enterprise's open needs, and the stored match says the tag was checked."""
from sqlalchemy import select

from matchmaker.enterprises.models import EnterpriseTag
from matchmaker.matching import service as matching
from matchmaker.matching.models import Match
from tests.factories import EnterpriseFactory, NeedFactory, ProductFactory


def test_verifying_a_tag_re_matches_the_needs_with_the_checked_fit(db, client_as):
    enterprise = EnterpriseFactory(district="永川区")
    enterprise.tags = ["specialized_sme"]
    product = ProductFactory(name="专精特新贷", tags_any=("specialized_sme", "little_giant"))
    need = NeedFactory(enterprise=enterprise)
    matching.refresh_need(need)
    before = db.session.scalar(select(Match).where(Match.need_id == need.id,
                                                   Match.product_id == product.id))
    assert "专精特新中小企业，产品专为此类企业设计" in before.reasons
    fit_before = before.components["fit"]
    client = client_as("organizer", district="永川区")
    response = client.post(f"/enterprises/{enterprise.id}/tags/specialized_sme/verify",
                           data={"verified": "1"})
    assert response.status_code == 302
    assert db.session.scalar(select(EnterpriseTag.verified_at)) is not None
    after = db.session.scalar(select(Match).where(Match.need_id == need.id,
                                                  Match.product_id == product.id))
    assert after.components["fit"] == fit_before + 2
    assert "专精特新中小企业（已核验），产品专为此类企业设计" in after.reasons
