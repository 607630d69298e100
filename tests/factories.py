"""factory_boy factories writing through the test's rolled-back session."""
from datetime import date
from decimal import Decimal

import factory
from stdnum.cn import uscc as uscc_lib

from matchmaker.accounts.models import User
from matchmaker.accounts.passwords import hash_password
from matchmaker.enterprises.models import Enterprise, EnterpriseClaim, Need
from matchmaker.extensions import db
from matchmaker.institutions.models import Institution, Product
from matchmaker.policy.models import ProgramConfirmation

PASSWORD = "correct-horse-battery"
_HASH = hash_password(PASSWORD)  # argon2 is slow on purpose: hash once per run


def valid_uscc(n: int) -> str:
    body = f"91500000MA{n:07d}"[:17]
    body = body.replace("I", "1").replace("O", "0")
    return body + uscc_lib.calc_check_digit(body)


class BaseFactory(factory.alchemy.SQLAlchemyModelFactory):
    class Meta:
        abstract = True
        sqlalchemy_session_factory = lambda: db.session
        sqlalchemy_session_persistence = "flush"


class InstitutionFactory(BaseFactory):
    class Meta:
        model = Institution

    ref = factory.Sequence(lambda n: f"I-{n:04d}")
    name = factory.Sequence(lambda n: f"测试银行{n}号")
    kind = "bank"


class EnterpriseFactory(BaseFactory):
    class Meta:
        model = Enterprise

    ref = factory.Sequence(lambda n: f"E-{n:04d}")
    name = factory.Sequence(lambda n: f"重庆测试{n}号精密机械有限公司")
    uscc = factory.Sequence(valid_uscc)
    district = "永川区"
    industry = "C3484"
    cluster = "intelligent_equipment"
    employees = 120
    revenue_wan = Decimal(8600)
    founded = date(2016, 5, 18)
    has_bank_loan = True


class ProductFactory(BaseFactory):
    class Meta:
        model = Product

    ref = factory.Sequence(lambda n: f"P-{n:04d}")
    institution = factory.SubFactory(InstitutionFactory)
    name = factory.Sequence(lambda n: f"流动资金贷{n}号")
    status = "published"
    version = 1
    amount_min_wan = Decimal(10)
    amount_max_wan = Decimal(1000)
    term_min_months = 6
    term_max_months = 36
    rate_min = Decimal("3.2")
    rate_max = Decimal("4.5")
    purposes = ("working_capital",)
    guarantee_modes = ("credit", "guarantee")

    @factory.post_generation
    def confirmed(obj, create, extracted, **kwargs):
        """The declared programmes count as an organizer confirmed them, unless
        confirmed=False (a bank's declaration still waiting: issue 15)."""
        if extracted is False:
            return
        for code in obj.subsidy_programs:
            obj.confirmations.append(ProgramConfirmation(program_code=code))


class NeedFactory(BaseFactory):
    class Meta:
        model = Need

    ref = factory.Sequence(lambda n: f"N-{n:04d}")
    enterprise = factory.SubFactory(EnterpriseFactory)
    purpose = "working_capital"
    loan_kind = "new"
    amount_wan = Decimal(300)
    term_months = 12
    created = date(2026, 9, 1)
    consent_to_share = True
    status = "published"
    guarantee_modes = ("credit",)


class UserFactory(BaseFactory):
    class Meta:
        model = User

    email = factory.Sequence(lambda n: f"user{n}@example.test")
    name = factory.Sequence(lambda n: f"用户{n}")
    password_hash = _HASH
    role = "enterprise"


def user_for_role(role: str, **fields) -> User:
    """A user of the role, with the tenant a role needs (an institution, an enterprise)."""
    if role in ("bank_manager", "bank_admin") and "institution" not in fields:
        fields["institution"] = InstitutionFactory()
    if role == "enterprise" and "enterprise" not in fields:
        fields["enterprise"] = EnterpriseFactory()
        fields.setdefault("is_enterprise_admin", True)
    return UserFactory(role=role, **fields)


class EnterpriseClaimFactory(BaseFactory):
    """A pending claim on a known enterprise by a confirmed applicant (issue 17 #4)."""

    class Meta:
        model = EnterpriseClaim

    enterprise = factory.SubFactory(EnterpriseFactory)
    requester = factory.SubFactory(UserFactory, role="applicant", phone="13800001234")
    company_name = factory.LazyAttribute(lambda claim: claim.enterprise.name)
    status = "pending"


# --- matches and leads (leads issue) ---------------------------------------------------------

from matchmaker.leads import scope as _lead_scope
from matchmaker.leads.models import Consent, Lead
from matchmaker.matching.models import Match


class MatchFactory(BaseFactory):
    """A stored eligible pairing, as matching.service would write it."""

    class Meta:
        model = Match

    need = factory.SubFactory(NeedFactory)
    product = factory.SubFactory(ProductFactory)
    product_version = factory.LazyAttribute(lambda m: m.product.version)
    score = Decimal("80.0")
    reasons = factory.LazyFunction(lambda: ["用途相符：流动资金", "金额300万元在产品额度内"])
    components = factory.LazyFunction(dict)
    estimated_rate = Decimal("3.650")


class ConsentFactory(BaseFactory):
    class Meta:
        model = Consent

    need = factory.SubFactory(NeedFactory)
    institution = factory.SubFactory(InstitutionFactory)
    scope = factory.LazyFunction(lambda: list(_lead_scope.FULL))
    via = "push"


class LeadFactory(BaseFactory):
    """A lead with its live consent and a stored match (what push_need leaves behind)."""

    class Meta:
        model = Lead

    need = factory.SubFactory(NeedFactory)
    institution = factory.SubFactory(InstitutionFactory)
    source = "consent"
    status = "open"
    matched = factory.LazyFunction(list)

    @factory.post_generation
    def consent(lead, create, extracted, **kwargs):
        if extracted is False:
            return
        ConsentFactory(need=lead.need, institution=lead.institution, **kwargs)
        if not lead.matched:
            match = MatchFactory(need=lead.need, product=ProductFactory(
                institution=lead.institution))
            lead.matched = [{"product_id": match.product_id, "product_version": 1,
                             "score": 80.0, "reasons": list(match.reasons),
                             "estimated_rate": 3.65}]
            db.session.flush()
