"""Institution profile, product (every exchange field), core-enterprise forms: input shape only.

Rules needing the database (the LPR in force, the core-enterprise list) live in service.py.
"""
import re
from collections.abc import Iterable
from decimal import Decimal

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DecimalField,
    HiddenField,
    IntegerField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import Email, InputRequired, Length, NumberRange, Optional, ValidationError

from .. import clock, vocab
from .. import uscc as uscc_rules
from ..fields import options
from ..policy import service as policy_service
from .models import RATE_BASES

RATE_BASIS_LABELS = {"fixed": "固定利率", "lpr_1y": "1年期LPR加点", "lpr_5y": "5年期以上LPR加点"}
MAX_TERM_MONTHS = 360


class CodeListField(SelectMultipleField):
    """A multiple choice over vocabulary codes whose refusal names the bad code in Chinese."""

    def __init__(self, label=None, validators=None, unknown_message="不在可选范围内", **kwargs):
        super().__init__(label, validators, **kwargs)
        self.unknown_message = unknown_message

    def pre_validate(self, form):
        known = {str(choice.value) for choice in self.iter_choices()}
        bad = [v for v in (self.data or []) if v not in known]
        if bad:
            raise ValidationError(f"“{'、'.join(bad)}”{self.unknown_message}")


def _codes(name: str, label: str, required: str | None = None, **kwargs) -> CodeListField:
    validators = [InputRequired(required)] if required else [Optional()]
    return CodeListField(label, choices=options(vocab.choices(name)), validators=validators,
                         unknown_message="不是有效的代码（不在词表中）", **kwargs)


class InstitutionProfileForm(FlaskForm):
    kind = SelectField("机构类型", choices=options(vocab.choices("institution_kinds")),
                       validate_choice=False, validators=[InputRequired("请选择机构类型")])
    districts = _codes("districts", "服务区县（不选即重庆全市）")
    contact_name = StringField("联系人", validators=[Optional(), Length(max=64)])
    contact_phone = StringField("联系电话", validators=[Optional(), Length(max=32)])
    contact_email = StringField("联系邮箱", validators=[
        Optional(), Email("邮箱格式不正确"), Length(max=254)])
    address = StringField("地址", validators=[Optional(), Length(max=255)])
    description = TextAreaField("机构简介", validators=[Optional(), Length(max=4000)])

    def validate_kind(self, field):
        if field.data not in vocab.codes("institution_kinds"):
            raise ValidationError("请选择有效的机构类型")

    def validate_contact_phone(self, field):
        if field.data and not re.fullmatch(r"[0-9+\-() ]{5,32}", field.data.strip()):
            raise ValidationError("联系电话只能包含数字、空格和 + - ( )")


def _money(label, required=True):
    rules = [InputRequired(f"请填写{label.split('（')[0]}")] if required else [Optional()]
    return DecimalField(label, places=2, validators=rules + [
        NumberRange(min=Decimal("0.01"), message="金额必须大于0")])


class ProductForm(FlaskForm):
    name = StringField("产品名称", validators=[InputRequired("请填写产品名称"), Length(max=128)])
    description = TextAreaField("产品说明", validators=[Optional(), Length(max=4000)])
    purposes = _codes("purposes", "融资用途", required="请至少选择一项融资用途")
    guarantee_modes = _codes("guarantee_modes", "担保方式", required="请至少选择一种担保方式")
    amount_min_wan = _money("最低额度（万元）")
    amount_max_wan = _money("最高额度（万元）")
    term_min_months = IntegerField("最短期限（月）", validators=[
        InputRequired("请填写最短期限"),
        NumberRange(min=1, max=MAX_TERM_MONTHS, message="期限应在1到360个月之间")])
    term_max_months = IntegerField("最长期限（月）", validators=[
        InputRequired("请填写最长期限"),
        NumberRange(min=1, max=MAX_TERM_MONTHS, message="期限应在1到360个月之间")])
    rate_basis = SelectField("定价方式", choices=options(RATE_BASIS_LABELS.items()), default="fixed",
                             validate_choice=False, validators=[InputRequired("请选择定价方式")])
    rate_min = DecimalField("最低年利率（%）", places=3, validators=[
        Optional(), NumberRange(min=0, max=36, message="利率不能为负数，也不应超过36%%")])
    rate_max = DecimalField("最高年利率（%）", places=3, validators=[
        Optional(), NumberRange(min=0, max=36, message="利率不能为负数，也不应超过36%%")])
    spread_min_bp = IntegerField("最低加点（基点，可为负）", validators=[
        Optional(), NumberRange(min=-1000, max=3000, message="加点应在-1000到3000基点之间")])
    spread_max_bp = IntegerField("最高加点（基点，可为负）", validators=[
        Optional(), NumberRange(min=-1000, max=3000, message="加点应在-1000到3000基点之间")])
    sizes = _codes("sizes", "适用企业规模（不选即不限）")
    tags_any = _codes("enterprise_tags", "企业须具备其一的资质（不选即不限）")
    industries = StringField("适用行业（GB/T 4754—2017代码或其前缀，逗号分隔；留空即不限）",
                             validators=[Optional(), Length(max=400)])
    districts = _codes("districts", "产品服务区县（不选即按机构服务区域）")
    min_years = DecimalField("最低成立年限（年）", places=1, validators=[
        Optional(), NumberRange(min=0, max=100, message="成立年限不能为负数")])
    min_revenue_wan = DecimalField("上年营业收入不低于（万元）", places=2, validators=[
        Optional(), NumberRange(min=0, message="营业收入要求不能为负数")])
    tax_credit_grades = _codes("tax_credit_grades", "纳税信用等级（不选即不限）")
    loan_kinds = _codes("loan_kinds", "适用贷款类型（不选即不限）")
    existing_customers_only = BooleanField("仅限本机构存量客户（如无还本续贷）")
    core_enterprises = CodeListField("核心企业（供应链产品，从核心企业名单库选择）", choices=[],
                                     validators=[Optional()],
                                     unknown_message="不在核心企业名单库中，请联系组织方先录入")
    # the programmes in force (the data: an administrator adds them): set in setup()
    subsidy_programs = CodeListField("可享受的政策支持（申报后经组织方确认才计入成本和排序）",
                                     choices=[],
                                     validators=[Optional()],
                                     unknown_message="不是现行有效的政策项目")
    # the version the form was opened on: a concurrent publication is not overwritten silently
    version_seen = HiddenField()

    def setup(self, core_enterprise_names: list[str], declared: Iterable[str] = ()):
        """`declared`: the product's programmes, offered even when no longer in force (so
        an edit keeps them, marked), besides every programme in force today."""
        self.core_enterprises.choices = [(n, n) for n in core_enterprise_names]
        in_force = [(p.code, p.label)
                    for p in policy_service.programs_in_force(clock.china_today())]
        offered = {code for code, _ in in_force}
        labels = {p.code: p.label for p in policy_service.programs()}
        ended = [(code, f"{labels[code]}（已不在有效期，不计入成本）") for code in declared
                 if code not in offered and code in labels]
        self.subsidy_programs.choices = options(in_force + ended)
        return self

    def validate_amount_max_wan(self, field):
        low = self.amount_min_wan.data
        if field.data is not None and low is not None and low > field.data:
            raise ValidationError("最高额度不能低于最低额度")

    def validate_term_max_months(self, field):
        low = self.term_min_months.data
        if field.data is not None and low is not None and low > field.data:
            raise ValidationError("最长期限不能短于最短期限")

    def validate(self, extra_validators=None) -> bool:
        # the fields a pricing basis needs: Optional() ends a field's chain when it is empty,
        # so "required when fixed / when LPR" is checked here, after the chains ran
        ok = super().validate(extra_validators)
        lpr = self.rate_basis.data in ("lpr_1y", "lpr_5y")
        needed = ((self.spread_min_bp, "LPR加点定价请填写最低加点"),
                  (self.spread_max_bp, "LPR加点定价请填写最高加点")) if lpr else (
                  (self.rate_min, "固定利率产品请填写最低年利率"),
                  (self.rate_max, "固定利率产品请填写最高年利率"))
        for field, message in needed:
            if field.data is None and not field.errors:
                field.errors.append(message)
                ok = False
        return ok

    def validate_rate_max(self, field):
        low = self.rate_min.data
        if self.rate_basis.data == "fixed" and None not in (low, field.data) and low > field.data:
            raise ValidationError("最高利率不能低于最低利率")

    def validate_spread_max_bp(self, field):
        low = self.spread_min_bp.data
        if self.rate_basis.data != "fixed" and None not in (low, field.data) and low > field.data:
            raise ValidationError("最高加点不能低于最低加点")

    def validate_rate_basis(self, field):
        if field.data not in RATE_BASES:
            raise ValidationError("请选择有效的定价方式")

    def validate_industries(self, field):
        bad = [code for code in split_codes(field.data) if not vocab.valid_industry(code)]
        if bad:
            raise ValidationError(f"“{'、'.join(bad)}”不是国民经济行业分类（GB/T 4754—2017）代码"
                                  "（如 C、C36、C3670、I65）")

    def terms(self) -> dict:
        """The exchange-format fields, as the service takes them."""
        fields = ("name", "description", "purposes", "guarantee_modes", "amount_min_wan",
                  "amount_max_wan", "term_min_months", "term_max_months", "rate_basis",
                  "rate_min", "rate_max", "spread_min_bp", "spread_max_bp", "sizes", "tags_any",
                  "districts", "min_years", "min_revenue_wan", "tax_credit_grades",
                  "loan_kinds", "existing_customers_only", "core_enterprises",
                  "subsidy_programs")
        data = {name: self[name].data for name in fields}
        data["industries"] = split_codes(self.industries.data)
        data["description"] = (data["description"] or "").strip() or None
        data["name"] = data["name"].strip()
        return data


def split_codes(text: str | None) -> list[str]:
    return [c.upper() for c in re.split(r"[\s,，、;；]+", text or "") if c]


class CoreEnterpriseForm(FlaskForm):
    name = StringField("企业全称", validators=[InputRequired("请填写企业全称"), Length(max=128)])
    uscc = StringField("统一社会信用代码", validators=[Optional(), Length(max=32)])
    cluster = SelectField("所属“33618”产业集群", choices=options(vocab.choices("clusters_33618", "—")),
                          validate_choice=False)
    aliases = TextAreaField("常用简称与别名（每行一个）", validators=[Optional(), Length(max=4000)])

    def validate_uscc(self, field):
        if field.data:
            message = uscc_rules.problem(field.data)
            if message:
                raise ValidationError(message)

    def validate_cluster(self, field):
        if field.data and field.data not in vocab.codes("clusters_33618"):
            raise ValidationError("请选择有效的产业集群")

    def alias_list(self) -> list[str]:
        return [line.strip() for line in (self.aliases.data or "").splitlines() if line.strip()]


class ConfirmAliasForm(FlaskForm):
    alias = StringField("企业填写的名称", validators=[InputRequired("缺少名称"), Length(max=128)])
    core_enterprise_id = SelectField("对应的核心企业", coerce=int, choices=[],
                                     validate_choice=False,
                                     validators=[InputRequired("请选择对应的核心企业")])


class CoreGroupForm(FlaskForm):
    """A group (集团) of listed core enterprises; members are chosen from the list."""
    name = StringField("集团名称", validators=[InputRequired("请填写集团名称"), Length(max=128)])
    aliases = TextAreaField("集团简称与别名（每行一个）", validators=[Optional(), Length(max=4000)])
    members = CodeListField("成员企业（从核心企业名单库选择）", choices=[], validators=[Optional()],
                            unknown_message="不在核心企业名单库中")
    note = StringField("依据（如 上市公司年报中的子公司名单）", validators=[Optional(), Length(max=255)])

    alias_list = CoreEnterpriseForm.alias_list

    def member_ids(self) -> list[int]:
        return [int(v) for v in self.members.data or []]


class DeleteForm(FlaskForm):
    """A bare POST with its CSRF token (a confirmed delete)."""
