from decimal import Decimal

from flask_wtf import FlaskForm
from wtforms import (
    DateField,
    DecimalField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import InputRequired, Length, NumberRange, Optional, ValidationError

from .. import vocab
from ..fields import options
from .service import LPR_KINDS, PROGRAM_SETTING_FIELDS
from .terms import BASES, BENEFITS, OWNERSHIPS, PAYEES

ALTERNATIVES = 2    # groups of an "or" (eligibility any_of) the form offers


class LprQuoteForm(FlaskForm):
    kind = SelectField("期限品种", choices=options(LPR_KINDS.items()), validate_choice=False,
                       validators=[InputRequired("请选择期限品种")])

    def validate_kind(self, field):
        if field.data not in LPR_KINDS:
            raise ValidationError("请选择LPR期限品种")
    rate = DecimalField("报价（年利率 %）", places=3, validators=[
        InputRequired("请填写报价"), NumberRange(min=0, max=100, message="报价应在0到100之间")])
    effective_from = DateField("生效日期", validators=[InputRequired("请填写生效日期")])


class ProgramForm(FlaskForm):
    effective_from = DateField("生效日期", validators=[InputRequired("请填写生效日期")])
    effective_to = DateField("失效日期（留空为长期有效）", validators=[Optional()])

    def validate_effective_to(self, field):
        if field.data and self.effective_from.data and field.data < self.effective_from.data:
            raise ValidationError("失效日期不能早于生效日期")

    def setting_fields(self):
        return [self[name] for name in self._setting_names]

    def setting_values(self) -> dict:
        return {name: self[name].data for name in self._setting_names}


def program_form(program) -> ProgramForm:
    """A form with one number field per key of this program's settings JSON."""
    names = [key for key in program.settings if key in PROGRAM_SETTING_FIELDS]

    class _Form(ProgramForm):
        _setting_names = names

    for key in names:
        label, upper = PROGRAM_SETTING_FIELDS[key]
        bound = NumberRange(min=0, max=upper, message=f"取值应在0到{upper}之间") if upper \
            else NumberRange(min=0, message="不能为负数")
        setattr(_Form, key, DecimalField(label, places=None, validators=[
            InputRequired("请填写该参数"), bound]))
    data = {key: Decimal(str(program.settings[key])) for key in names}
    return _Form(data=dict(data, effective_from=program.effective_from,
                           effective_to=program.effective_to))


class SettingForm(FlaskForm):
    value = DecimalField("取值", places=None, validators=[InputRequired("请填写取值")])


class WorkdayForm(FlaskForm):
    day = DateField("日期", validators=[InputRequired("请选择日期")])
    is_working = SelectField("当天", choices=options([("1", "上班（工作日/调休上班）"),
                                                    ("0", "放假（休息日/法定节假日）")]),
                             validators=[InputRequired()])
    note = StringField("说明", validators=[Optional(), Length(max=128)],
                       render_kw={"placeholder": "如：2027年元旦放假"})


class DeleteForm(FlaskForm):
    """CSRF only."""


def _multi(label: str, name: str) -> SelectMultipleField:
    return SelectMultipleField(label, choices=options(vocab.choices(name)),
                               validators=[Optional()])


class ProgramEditForm(FlaskForm):
    """A whole programme: who qualifies, what it pays and to whom, when, stacking, source."""
    code = StringField("代码（英文，创建后不可改）", validators=[Optional(), Length(max=48)],
                       render_kw={"placeholder": "如 green_loan_interest"})
    label = StringField("政策名称", validators=[InputRequired("请填写政策名称"), Length(max=128)])
    source = StringField("依据文件及条款", validators=[InputRequired("请填写依据文件"),
                                                       Length(max=128)],
                         render_kw={"placeholder": "如 渝经信规范〔2024〕7号 四（一）"})
    quote = TextAreaField("原文（所依据的句子）", validators=[Optional()])
    rule_text = TextAreaField("规则说明（面向企业）", validators=[InputRequired("请填写规则说明")])
    how_to_apply = TextAreaField("如何申请", validators=[Optional()])
    benefit = SelectField("支持方式", choices=options(list(BENEFITS.items())))
    payee = SelectField("补助对象", choices=options(list(PAYEES.items())))
    basis = SelectField("计算基础", choices=options(list(BASES.items())))
    purposes = _multi("融资用途（不选即不限）", "purposes")
    product_purposes = _multi("产品用途（不选即不限）", "purposes")
    institution_kinds = _multi("机构类型（不选即不限）", "institution_kinds")
    loan_kinds = _multi("贷款类型（不选即不限）", "loan_kinds")
    sizes = _multi("企业规模（按300号标准测算，不选即不限）", "sizes")
    tags = _multi("须经核验的企业资质之一（不选即不限）", "enterprise_tags")
    industries = StringField("行业代码前缀（逗号分隔，如 C 为制造业）", validators=[Optional()])
    ownership = SelectMultipleField("控股类型（不选即不限；未填写控股类型的企业不符合）",
                                    choices=options(OWNERSHIPS.items()), validators=[Optional()])
    waiver_tags = _multi("免收使用费的企业资质（经核验）", "enterprise_tags")
    stacks_with = SelectMultipleField("可与以下政策叠加（不选即不叠加）", choices=[],
                                      validators=[Optional()])
    effective_from = DateField("生效日期", validators=[InputRequired("请填写生效日期")])
    effective_to = DateField("失效日期（留空为长期有效）", validators=[Optional()])

    def validate_effective_to(self, field):
        if field.data and self.effective_from.data and field.data < self.effective_from.data:
            raise ValidationError("失效日期不能早于生效日期")

    def setting_fields(self):
        return [self[name] for name in PROGRAM_SETTING_FIELDS]

    def alternative_fields(self) -> list[list]:
        """Per group of the "or": its industries, sizes, tags and ownership fields."""
        return [[self[f"alt{n}_{name}"] for name in ("industries", "sizes", "tags", "ownership")]
                for n in range(1, ALTERNATIVES + 1)]

    def values(self) -> dict:
        data = {name: self[name].data for name in (
            "label", "source", "quote", "rule_text", "how_to_apply", "benefit", "payee",
            "basis", "purposes", "product_purposes", "institution_kinds", "loan_kinds", "sizes",
            "tags", "waiver_tags", "stacks_with", "effective_from", "effective_to")}
        data["industries"] = _codes(self.industries.data)
        data["ownership"] = self.ownership.data
        data["any_of"] = [{"industries": _codes(self[f"alt{n}_industries"].data),
                           "sizes": self[f"alt{n}_sizes"].data,
                           "tags": self[f"alt{n}_tags"].data,
                           "ownership": self[f"alt{n}_ownership"].data}
                          for n in range(1, ALTERNATIVES + 1)]
        for name in PROGRAM_SETTING_FIELDS:
            data[name] = self[name].data
        return data


def _codes(text: str | None) -> list[str]:
    return [c.strip() for c in (text or "").replace("，", ",").split(",") if c.strip()]


for _n in range(1, ALTERNATIVES + 1):
    setattr(ProgramEditForm, f"alt{_n}_industries", StringField(
        "行业代码前缀（逗号分隔）", validators=[Optional()]))
    setattr(ProgramEditForm, f"alt{_n}_sizes", _multi("企业规模（按300号标准测算）", "sizes"))
    setattr(ProgramEditForm, f"alt{_n}_tags", _multi("须经核验的企业资质之一", "enterprise_tags"))
    setattr(ProgramEditForm, f"alt{_n}_ownership", SelectMultipleField(
        "控股类型", choices=options(OWNERSHIPS.items()), validators=[Optional()]))

for _key, (_label, _upper) in PROGRAM_SETTING_FIELDS.items():
    setattr(ProgramEditForm, _key, DecimalField(_label + "（可留空）", places=None, validators=[
        Optional(), NumberRange(min=0, max=_upper, message=f"取值应在0到{_upper}之间")
        if _upper else NumberRange(min=0, message="不能为负数")]))


def program_edit_form(program, codes: list[tuple[str, str]], formdata=None):
    """The form for `program` (None: a new one); `codes` the other programmes, for stacking."""
    if program is None:
        form = ProgramEditForm(formdata=formdata) if formdata is not None else ProgramEditForm()
    else:
        rules = program.eligibility or {}
        data = {name: getattr(program, name) for name in (
            "code", "label", "source", "quote", "rule_text", "how_to_apply", "benefit", "payee",
            "basis", "effective_from", "effective_to")}
        data.update({name: rules.get(name, []) for name in (
            "purposes", "product_purposes", "institution_kinds", "loan_kinds", "sizes", "tags")})
        data["industries"] = ", ".join(rules.get("industries", []))
        data["ownership"] = list(rules.get("ownership", []))
        for n, alternative in enumerate(rules.get("any_of", [])[:ALTERNATIVES], start=1):
            data[f"alt{n}_industries"] = ", ".join(alternative.get("industries", []))
            for name in ("sizes", "tags", "ownership"):
                data[f"alt{n}_{name}"] = list(alternative.get(name, []))
        data["waiver_tags"] = list(program.settings.get("waiver_tags") or [])
        data["stacks_with"] = list(program.stacks_with or [])
        for key in PROGRAM_SETTING_FIELDS:
            value = program.settings.get(key)
            data[key] = Decimal(str(value)) if value is not None else None
        form = ProgramEditForm(data=data)
    form.stacks_with.choices = options(codes)
    return form
