from decimal import Decimal

from flask import url_for
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import (
    BooleanField,
    DateField,
    DecimalField,
    EmailField,
    Form,
    HiddenField,
    IntegerField,
    PasswordField,
    RadioField,
    SearchField,
    SelectField,
    StringField,
    TelField,
    TextAreaField,
    ValidationError,
)
from wtforms.validators import Email, EqualTo, InputRequired, Length, NumberRange, Optional, Regexp

from .. import clock, industries, mobile, sizes, uscc, vocab
from ..accounts.forms import PASSWORD_RULES
from ..fields import MultiCheckboxField, options
from ..formtokens import SubmittedOnce
from ..policy.terms import OWNERSHIPS
from .models import NEED_STATUSES

ASSETS_LABEL = "资产总额（万元）"
INDUSTRY_INVALID = ("请从列表中选择所属行业：可输入行业代码（如 3670）、名称中的词（如 汽车零部件）"
                    "或拼音首字母（如 qclbj）查找")


class IndustryField(StringField):
    """A GB/T 4754—2017 division, group or class (any section), typed or chosen with the
    industry picker (static/js/industry-picker.js); the data becomes the table's code."""

    def __init__(self, label, **kwargs):
        kwargs.setdefault("validators", [InputRequired("请选择所属行业")])
        kwargs.setdefault("render_kw", {
            "autocomplete": "off", "maxlength": 32, "spellcheck": "false",
            "placeholder": "输入代码、名称或拼音首字母，如 3670、汽车零部件、qclbj"})
        super().__init__(label, **kwargs)

    def __call__(self, **kwargs):
        kwargs.setdefault("data-industry-search", url_for("enterprises.industry_search"))
        if industries.valid(self.data, detailed=True):
            kwargs.setdefault("data-industry-path", industries.path_text(self.data))
        return super().__call__(**kwargs)

    def post_validate(self, form, validation_stopped):
        if validation_stopped or self.errors:
            return
        code = industries.normalize(self.data)
        if code is None:
            self.errors.append(INDUSTRY_INVALID)
        else:
            self.data = code


def _assets_given_where_needed(form) -> bool:
    """资产总额 is optional, except where the sector's 300号 rule reads it and no size is
    declared (the field's Optional() stops its own validators on a blank)."""
    declared = getattr(form, "declared_size", None)
    if form.assets_wan.data is not None or (declared is not None and declared.data) \
            or form.industry.errors or not sizes.needs_assets(form.industry.data):
        return True
    sector = sizes.sector_of(form.industry.data)
    form.assets_wan.errors = list(form.assets_wan.errors) + [
        f"{sector.label}按资产总额划分企业规模，请填写资产总额（万元）"]
    return False


class RegisterEnterpriseForm(SubmittedOnce, FlaskForm):
    company_name = StringField("企业名称（与营业执照一致）", validators=[
        InputRequired("请填写企业名称"), Length(min=4, max=128, message="企业名称长度需为4–128个字")])
    uscc = StringField("统一社会信用代码", validators=[InputRequired("请填写统一社会信用代码")],
                       render_kw={"maxlength": 18, "autocomplete": "off"})
    district = SelectField("所在区县", choices=[], validate_choice=False)
    industry = IndustryField("所属行业（国民经济行业分类）")
    employees = IntegerField("从业人员（人）", validators=[
        InputRequired("请填写从业人员数"), NumberRange(min=0, max=1_000_000, message="人数需在0–1000000之间")])
    revenue_wan = DecimalField("上年营业收入（万元）", places=2, validators=[
        InputRequired("请填写上年营业收入"), NumberRange(min=0, message="营业收入不能为负数")])
    assets_wan = DecimalField(ASSETS_LABEL, places=2, validators=[
        Optional(), NumberRange(min=0, message="资产总额不能为负数")],
        render_kw={"min": 0, "step": "0.01", "inputmode": "decimal"})
    founded = DateField("成立日期", validators=[InputRequired("请填写成立日期")])
    name = StringField("您的姓名", validators=[InputRequired("请填写姓名"), Length(max=64)])
    mobile = TelField("手机号码", validators=[Length(max=32)],
                      render_kw={"inputmode": "tel", "autocomplete": "tel", "required": True})
    email = EmailField("登录邮箱", validators=[InputRequired("请填写邮箱"), Email("邮箱格式不正确")])
    password = PasswordField("设置密码", validators=PASSWORD_RULES)
    confirm = PasswordField("确认密码", validators=[
        InputRequired("请再次输入密码"), EqualTo("password", "两次输入的密码不一致")])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.district.choices = vocab.choices("districts", blank="请选择区县")

    def validate_mobile(self, field):
        message = mobile.problem(field.data)
        if message:
            raise ValidationError(message)
        field.data = mobile.normalize(field.data)

    def validate_uscc(self, field):
        message = uscc.problem(field.data)
        if message:
            raise ValidationError(message)
        field.data = uscc.normalize(field.data)

    def validate_district(self, field):
        if vocab.district_name(field.data) is None:
            raise ValidationError("请选择所在区县")

    def validate_founded(self, field):
        if field.data and field.data > clock.china_today():
            raise ValidationError("成立日期不能晚于今天")

    def validate_revenue_wan(self, field):
        if field.data is not None and field.data > Decimal(100000000):
            raise ValidationError("营业收入数值过大，请以万元为单位填写")

    def validate_assets_wan(self, field):
        if field.data is not None and field.data > Decimal(100000000):
            raise ValidationError("资产总额数值过大，请以万元为单位填写")

    def validate(self, extra_validators=None):
        ok = super().validate(extra_validators)
        return _assets_given_where_needed(self) and ok


# --- the company profile ----------------------------------------------------------------------

TAG_YEAR_MIN = 1990


class EnterpriseProfileForm(FlaskForm):
    """Every field of the exchange format's enterprise section, plus contact details; one
    checkbox and certificate year per qualification tag (added below the class)."""

    name = StringField("企业名称（与营业执照一致）", validators=[
        InputRequired("请填写企业名称"), Length(min=4, max=128, message="企业名称长度需为4–128个字")])
    uscc = StringField("统一社会信用代码", validators=[InputRequired("请填写统一社会信用代码")],
                       render_kw={"maxlength": 18, "minlength": 18, "autocomplete": "off",
                                  "data-uscc": "1", "required": True})
    district = SelectField("所在区县", choices=[], validate_choice=False)
    industry = IndustryField("所属行业（国民经济行业分类）")
    cluster = SelectField("所属产业集群（33618）", choices=[], validate_choice=False)
    employees = IntegerField("从业人员（人）", validators=[
        InputRequired("请填写从业人员数"), NumberRange(min=0, max=1_000_000, message="人数需在0–1000000之间")],
        render_kw={"min": 0, "max": 1_000_000, "inputmode": "numeric"})
    revenue_wan = DecimalField("上年营业收入（万元）", places=2, validators=[
        InputRequired("请填写上年营业收入"), NumberRange(min=0, message="营业收入不能为负数")],
        render_kw={"min": 0, "step": "0.01", "inputmode": "decimal"})
    assets_wan = DecimalField(ASSETS_LABEL, places=2, validators=[
        Optional(), NumberRange(min=0, message="资产总额不能为负数")],
        render_kw={"min": 0, "step": "0.01", "inputmode": "decimal"})
    founded = DateField("成立日期", validators=[InputRequired("请填写成立日期")])
    tax_credit_grade = SelectField("纳税信用等级", choices=[], validate_choice=False)
    has_bank_loan = BooleanField("企业有银行贷款（正在使用或曾经获得）")
    core_enterprise = StringField("主要供货的核心企业（大客户）", validators=[Optional(), Length(max=128)],
                                  render_kw={"autocomplete": "off", "data-suggest": "core"})
    declared_size = SelectField("企业规模", choices=[], validate_choice=False)
    ownership = SelectField("控股类型（所有制）", choices=[], validate_choice=False)
    contact_name = StringField("联系人", validators=[Optional(), Length(max=64)])
    contact_phone = TelField("联系电话", validators=[Optional(), Length(max=32), Regexp(
        r"^[0-9+\-() ]{7,32}$", message="请填写有效的电话号码")])
    address = StringField("地址", validators=[Optional(), Length(max=255)])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.district.choices = vocab.choices("districts", blank="请选择区县")
        self.cluster.choices = vocab.choices("clusters_33618", blank="不属于/不清楚")
        self.tax_credit_grade.choices = vocab.choices("tax_credit_grades", blank="未评级/不清楚")
        self.declared_size.choices = vocab.choices("sizes", blank="按标准自动测算（推荐）")
        self.ownership.choices = options([("", "不清楚/未填写"), *OWNERSHIPS.items()])

    validate_uscc = RegisterEnterpriseForm.validate_uscc
    validate_district = RegisterEnterpriseForm.validate_district
    validate_founded = RegisterEnterpriseForm.validate_founded
    validate_revenue_wan = RegisterEnterpriseForm.validate_revenue_wan
    validate_assets_wan = RegisterEnterpriseForm.validate_assets_wan

    def validate_cluster(self, field):
        if field.data and field.data not in vocab.codes("clusters_33618"):
            raise ValidationError("请选择有效的产业集群")

    def validate_tax_credit_grade(self, field):
        if field.data and field.data not in vocab.codes("tax_credit_grades"):
            raise ValidationError("请选择有效的纳税信用等级")

    def validate_declared_size(self, field):
        if field.data and field.data not in vocab.codes("sizes"):
            raise ValidationError("请选择有效的企业规模")

    def validate_ownership(self, field):
        if field.data and field.data not in OWNERSHIPS:
            raise ValidationError("请选择有效的控股类型")

    def tag_fields(self):
        """(code, label, checkbox, year) for each qualification tag, in vocabulary order."""
        return [(code, label, self[f"tag_{code}"], self[f"tag_{code}_year"])
                for code, label in vocab.labels("enterprise_tags").items()]

    def tags(self) -> dict[str, int | None]:
        return {code: year.data for code, _, box, year in self.tag_fields() if box.data}

    def values(self) -> dict:
        values = {name: self[name].data for name in (
            "name", "uscc", "district", "industry", "employees", "revenue_wan", "assets_wan",
            "founded", "has_bank_loan")}
        for name in ("cluster", "tax_credit_grade", "core_enterprise", "declared_size",
                     "ownership", "contact_name", "contact_phone", "address"):
            values[name] = (self[name].data or "").strip() or None
        values["name"] = values["name"].strip()
        return values

    def fill_tags(self, enterprise):
        for row in enterprise.tag_rows:
            self[f"tag_{row.value}"].data = True
            self[f"tag_{row.value}_year"].data = row.certificate_year

    def validate(self, extra_validators=None):
        ok = FlaskForm.validate(self, extra_validators)
        ok = _assets_given_where_needed(self) and ok
        this_year = clock.china_today().year
        for _code, _label, box, year in self.tag_fields():
            if box.data and year.data is not None and not TAG_YEAR_MIN <= year.data <= this_year:
                year.errors = list(year.errors) + [f"认定年份应在{TAG_YEAR_MIN}–{this_year}之间"]
                ok = False
        return ok


for _code, _label in vocab.labels("enterprise_tags").items():
    # FormMeta resets its field cache on setattr, so fields added here behave as declared ones
    setattr(EnterpriseProfileForm, f"tag_{_code}", BooleanField(_label))
    setattr(EnterpriseProfileForm, f"tag_{_code}_year", IntegerField(
        "认定年份", validators=[Optional()],
        render_kw={"min": TAG_YEAR_MIN, "max": 2100, "inputmode": "numeric",
                   "placeholder": "认定年份"}))


# --- the needs form ---------------------------------------------------------------------------

# shown under each choice: what the money is for, in the words of a finance manager
PURPOSE_HELP = {
    "working_capital": "日常经营周转：采购原材料、支付工资和货款等，期限一般在1年以内。",
    "tech_upgrade": "购置、更新生产设备，智能化、数字化改造或工艺升级；可申请技改贷款贴息。",
    "supply_chain": "凭与大客户（核心企业）的订单、应收账款或存货融资，额度看交易规模。",
    "project": "新建、扩建厂房或生产线等固定资产投资，期限较长（一般3年以上）。",
    "rnd": "研发投入、专利等科技成果转化和产业化，可用知识产权质押。",
    "green": "节能降碳、清洁生产、污染治理、分布式光伏等绿色转型项目。",
    "trade": "进出口订单融资、跨境结算、汇率避险等外贸业务资金。",
    "equipment_lease": "通过融资租赁公司租用或售后回租设备，减轻一次性购置压力。",
}
LOAN_KIND_HELP = {
    "first_loan": "企业从未在银行获得过贷款",
    "renewal": "现有贷款即将到期，需要接续（含无还本续贷）",
    "new": "已有或曾有银行贷款，再申请一笔新的贷款",
}
LOAN_KIND_SHORT = {"first_loan": "首贷", "renewal": "续贷", "new": "新增贷款"}


class NeedForm(SubmittedOnce, FlaskForm):
    # validate_choice off: need_problems() words an unknown code like a missing one
    loan_kind = RadioField("贷款类型", choices=options(LOAN_KIND_SHORT.items()),
                           validators=[InputRequired("请选择贷款类型")], validate_choice=False)
    purpose = RadioField("融资用途", choices=options(vocab.choices("purposes")),
                         validators=[InputRequired("请选择融资用途")], validate_choice=False)
    amount_wan = DecimalField("融资金额", places=2, validators=[InputRequired("请填写融资金额")],
                              render_kw={"min": "0.01", "max": "1000000", "step": "0.01",
                                         "inputmode": "decimal", "required": True,
                                         "data-msg-min": "融资金额必须大于0",
                                         "data-msg-max": "金额过大（上限100亿元），请确认以“万元”为单位填写",
                                         "data-msg-required": "请填写融资金额"})
    term_months = IntegerField("期限", validators=[InputRequired("请填写融资期限")],
                               render_kw={"min": 1, "max": 360, "step": 1, "inputmode": "numeric",
                                          "required": True,
                                          "data-msg-min": "期限至少1个月",
                                          "data-msg-max": "期限不能超过360个月（30年）",
                                          "data-msg-required": "请填写融资期限"})
    guarantee_modes = MultiCheckboxField("可提供的担保方式（可多选）",
                                         choices=options(vocab.choices("guarantee_modes")),
                                         validate_choice=False)
    max_rate = DecimalField("可接受的最高年利率（选填）", places=3, validators=[Optional()],
                            render_kw={"min": "0.01", "max": "24", "step": "0.01",
                                       "inputmode": "decimal",
                                       "data-msg-min": "可接受的最高年利率应大于0且不超过24%",
                                       "data-msg-max": "可接受的最高年利率应大于0且不超过24%"})
    current_lender = SelectField("现贷款机构", choices=[], validate_choice=False)
    renewal_due = DateField("现贷款到期日", validators=[Optional()],
                            render_kw={"data-msg-required": "续贷请填写现贷款到期日"})
    core_enterprise = StringField("核心企业（您主要供货的大客户）", validators=[Optional(), Length(max=128)],
                                  render_kw={"autocomplete": "off", "data-suggest": "core",
                                             "data-msg-required": "供应链融资请填写核心企业"})
    description = TextAreaField("补充说明（选填）", validators=[Optional(), Length(max=2000)],
                                render_kw={"rows": 3, "maxlength": 2000})
    consent_to_share = BooleanField("同意平台将本需求及企业基本信息提供给匹配的金融机构，以便其联系我们")
    # who the bank calls about this need: prefilled from the profile (no typing), saved to it
    contact_name = StringField("联系人", validators=[InputRequired("请填写联系人"), Length(max=64)],
                               render_kw={"autocomplete": "name", "required": True})
    contact_phone = TelField("联系人手机", validators=[Length(max=32)],
                             render_kw={"inputmode": "tel", "autocomplete": "tel",
                                        "required": True})

    def validate_contact_phone(self, field):
        message = mobile.problem(field.data)
        if message:
            raise ValidationError(message)
        field.data = mobile.normalize(field.data)

    def contact(self) -> tuple[str, str]:
        return (self.contact_name.data or "").strip(), self.contact_phone.data

    def __init__(self, enterprise, lenders, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.enterprise = enterprise
        self.lenders = {str(i.id): i for i in lenders}
        self.current_lender.choices = [("", "请选择现贷款机构")] + [
            (str(i.id), i.name) for i in lenders]

    def values(self) -> dict:
        """The need's fields as the service takes them (an Institution for the lender)."""
        return {
            "purpose": self.purpose.data, "loan_kind": self.loan_kind.data,
            "amount_wan": self.amount_wan.data, "term_months": self.term_months.data,
            "guarantee_modes": list(self.guarantee_modes.data or []),
            "max_rate": self.max_rate.data,
            "current_lender": self.lenders.get(self.current_lender.data or ""),
            "renewal_due": self.renewal_due.data,
            "core_enterprise": self.core_enterprise.data, "description": self.description.data,
            "consent_to_share": bool(self.consent_to_share.data),
        }

    def validate(self, extra_validators=None):
        """Shape first (WTForms), then the need rules the service applies, beside each field."""
        from .service import need_problems

        ok = super().validate(extra_validators)
        for name, message in need_problems(self.enterprise, self.values()).items():
            if not self[name].errors:
                self[name].errors = list(self[name].errors) + [message]
                ok = False
        return ok

    def fill(self, need):
        for name in ("purpose", "loan_kind", "amount_wan", "term_months", "max_rate",
                     "renewal_due", "description", "consent_to_share"):
            self[name].data = getattr(need, name)
        self.guarantee_modes.data = list(need.guarantee_modes)
        self.current_lender.data = str(need.current_lender_id or "")
        self.core_enterprise.data = need.enterprise.core_enterprise
        self.fill_contact(need.enterprise)

    def fill_contact(self, enterprise, user=None):
        """The profile's contact (else the user filling the form): nothing to type."""
        self.contact_name.data = enterprise.contact_name or (user.name if user else None)
        self.contact_phone.data = enterprise.contact_phone or (user.phone if user else None)


class NeedStatusForm(FlaskForm):
    to = HiddenField(validators=[InputRequired("缺少目标状态")])
    reason = TextAreaField("原因", validators=[Optional(), Length(max=500, message="原因不超过500字")],
                           render_kw={"rows": 2, "maxlength": 500})


class TagVerifyForm(FlaskForm):
    verified = HiddenField()


# --- the enterprise's users: a collected firm's first user, claim requests ----------------------

class FirstUserInviteForm(FlaskForm):
    email = EmailField("被邀请人邮箱", validators=[InputRequired("请填写邮箱"), Email("邮箱格式不正确"),
                                             Length(max=254, message="邮箱过长")])
    name = StringField("被邀请人姓名", validators=[InputRequired("请填写姓名"),
                                             Length(max=64, message="姓名不超过64个字")])


class ClaimDecisionForm(FlaskForm):
    reason = TextAreaField("不予通过的原因（申请人可见）", validators=[
        Optional(), Length(max=500, message="原因不超过500个字")], render_kw={"rows": 2})
    # where to go back to: the claims page, or the enterprise's page it was decided on
    back = HiddenField()


class RegistrationCheckForm(FlaskForm):
    """An organizer confirms or refuses a self-registered firm (enterprises.verification)."""
    reason = TextAreaField("不予通过的原因（组织方可见；注册人收到固定通知）", validators=[
        Optional(), Length(max=500, message="原因不超过500个字")], render_kw={"rows": 2})
    back = HiddenField()  # "list": back to the registrations awaiting a check


class ClaimAmendForm(FlaskForm):
    position = StringField("您在该企业的职务", validators=[
        Optional(), Length(max=64, message="职务不超过64个字")])
    note = TextAreaField("补充说明（可供核实的材料）", validators=[
        Optional(), Length(max=1000, message="说明不超过1000个字")], render_kw={
            "rows": 3, "placeholder": "如：营业执照复印件已交区经信委；可为您证明的同事及电话"})


class OwnershipForm(FlaskForm):
    """An organizer states a firm's 控股类型 (a 双百 firm that never logs in, say)."""
    ownership = SelectField("控股类型", choices=options([("", "不清楚/未填写"),
                                                      *OWNERSHIPS.items()]),
                            validate_choice=False)

    def validate_ownership(self, field):
        if field.data and field.data not in OWNERSHIPS:
            raise ValidationError("请选择有效的控股类型")


# --- organizer search (GET: a plain wtforms Form, no CSRF) -----------------------------------

class SearchForm(Form):
    kind = SelectField("查找", choices=options([("enterprises", "企业"), ("needs", "融资需求")]),
                       default="enterprises")
    q = SearchField("名称或统一社会信用代码", validators=[Optional(), Length(max=128)])
    district = SelectField("区县", choices=[], validate_choice=False)
    cluster = SelectField("产业集群", choices=[], validate_choice=False)
    purpose = SelectField("融资用途", choices=[], validate_choice=False)
    status = SelectField("需求状态", choices=[], validate_choice=False)
    sort = SelectField("排序", choices=[], validate_choice=False)

    ENTERPRISE_SORTS = (("updated", "最近更新"), ("name", "企业名称"), ("district", "区县"),
                        ("revenue", "营业收入从高到低"))
    NEED_SORTS = (("updated", "最近更新"), ("created", "最近创建"), ("amount", "金额从高到低"),
                  ("ref", "需求编号"))

    def __init__(self, formdata, district_fixed: str | None = None):
        super().__init__(formdata)
        from .models import NEED_STATUS_LABELS

        self.district_fixed = district_fixed
        self.district.choices = ([(district_fixed, district_fixed)] if district_fixed
                                 else vocab.choices("districts", blank="全部区县"))
        self.cluster.choices = vocab.choices("clusters_33618", blank="全部集群")
        self.purpose.choices = vocab.choices("purposes", blank="全部用途")
        self.status.choices = [("", "全部状态")] + list(NEED_STATUS_LABELS.items())
        self.sort.choices = list(self.NEED_SORTS if self.kind.data == "needs"
                                 else self.ENTERPRISE_SORTS)

    def filters(self) -> dict:
        allowed = {"district": vocab.codes("districts"), "cluster": vocab.codes("clusters_33618"),
                   "purpose": vocab.codes("purposes"), "status": NEED_STATUSES}
        values = {"q": (self.q.data or "").strip()[:128] or None,
                  "sort": self.sort.data or "updated"}
        for name, codes in allowed.items():
            values[name] = self[name].data if self[name].data in codes else None
        if self.district_fixed:  # a district organizer's scope already fixes the district
            values["district"] = None
        return values


# --- spreadsheet collection (organizer) --------------------------------------------------------

class ImportUploadForm(FlaskForm):
    file = FileField("Excel 文件（.xlsx，按平台模板填写）",
                     validators=[FileRequired("请选择要上传的 Excel 文件")],
                     render_kw={"accept": ".xlsx,application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"})


class ImportCommitForm(FlaskForm):
    payload = HiddenField(validators=[InputRequired("预览已失效，请重新上传")])
