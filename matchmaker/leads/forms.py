"""Forms of the leads pages: input shape only (rules needing the database are in service)."""
from decimal import Decimal

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    DecimalField,
    IntegerField,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import InputRequired, Length, NumberRange, Optional, ValidationError

from .. import clock, vocab
from ..fields import MultiCheckboxField, options
from ..formtokens import SubmittedOnce
from . import scope as scopes
from .models import FOLLOWUP_LABELS
from .queries import AGES, INBOX_STATUSES


def _int_or_none(value):
    return int(value) if str(value).isdigit() else None


RATING_CHOICES = [(str(n), f"{n}星") for n in range(5, 0, -1)]


class InboxFilterForm(FlaskForm):
    """GET filters of the inbox (no CSRF: it changes nothing)."""

    class Meta:
        csrf = False

    purpose = SelectField("融资用途", choices=options(vocab.choices("purposes", "全部用途")),
                          validators=[Optional()])
    district = SelectField("区县", choices=options(vocab.choices("districts", "全部区县")),
                           validators=[Optional()])
    amount_min = DecimalField("金额下限（万元）", places=2, validators=[
        Optional(), NumberRange(min=0, message="金额不能为负数")])
    amount_max = DecimalField("金额上限（万元）", places=2, validators=[
        Optional(), NumberRange(min=0, message="金额不能为负数")])
    age = SelectField("推送时间", choices=options([("", "不限")] + [(k, v[0]) for k, v in AGES.items()]),
                      validators=[Optional()])
    status = SelectField("状态", choices=options(INBOX_STATUSES.items()), default="active",
                         validators=[Optional()])

    def filters(self) -> dict:
        ok = self.validate()
        data = {name: self[name].data for name in ("purpose", "district", "age", "status")}
        data = {k: (v or None) for k, v in data.items()}
        data["status"] = data["status"] or "active"
        for name in ("amount_min", "amount_max"):
            data[name] = self[name].data if ok and not self[name].errors else None
        return data


class ClaimForm(SubmittedOnce, FlaskForm):
    """接单: the button; CSRF only."""


class ReleaseForm(FlaskForm):
    reason = StringField("放弃原因", validators=[Optional(), Length(max=200)])


class AssignForm(FlaskForm):
    """派单 / 改派: the choices are the institution's active managers (set by the view); any id
    parses, the service checks it is one of them."""
    manager_id = SelectField("派给客户经理", coerce=_int_or_none, validate_choice=False,
                             validators=[InputRequired("请选择客户经理")])


class MemberForm(FlaskForm):
    """停用 (a manager left) or 恢复 a team member."""
    reason = StringField("说明（可选）", validators=[Optional(), Length(max=200)])


class FollowUpForm(SubmittedOnce, FlaskForm):
    kind = SelectField("跟进方式", choices=options(FOLLOWUP_LABELS.items()),
                       validators=[InputRequired("请选择跟进方式")])
    # no Optional(): it would stop the chain before validate_note sees an empty note
    note = TextAreaField("情况记录（仅本机构可见）", validators=[
        Length(max=2000, message="最多2000字")])

    def validate_note(self, field):
        if self.kind.data == "note" and not (field.data or "").strip():
            raise ValidationError("请填写备注内容")


class ApproveForm(SubmittedOnce, FlaskForm):
    # any id parses; the service checks it is a product of this institution
    product_id = SelectField("贷款产品", coerce=_int_or_none, validate_choice=False,
                             validators=[InputRequired("请选择贷款产品")])
    amount_wan = DecimalField("批准金额（万元）", places=2, validators=[
        InputRequired("请填写批准金额"), NumberRange(min=Decimal("0.01"), message="金额必须大于0")])
    rate = DecimalField("年利率（%）", places=3, validators=[
        InputRequired("请填写年利率"), NumberRange(min=0, max=36, message="年利率应在0%%–36%%之间")])
    term_months = IntegerField("期限（月）", validators=[
        InputRequired("请填写期限"), NumberRange(min=1, max=360, message="期限应在1–360个月之间")])
    guarantee_mode = SelectField("担保方式", choices=options(vocab.choices("guarantee_modes")),
                                 validators=[InputRequired("请选择担保方式")])
    approved_on = DateField("批准日期", default=clock.china_today,
                            validators=[InputRequired("请填写批准日期")])
    note = TextAreaField("给企业的说明（可选）", validators=[Optional(), Length(max=1000)])


class DeclineForm(SubmittedOnce, FlaskForm):
    reason = SelectField("未获批原因", choices=options(vocab.choices("decline_reasons", "请选择")),
                         validators=[InputRequired("请选择未获批原因")])
    text = TextAreaField("具体说明（企业可见）", validators=[Length(max=1000, message="最多1000字")])
    no_contact_reason = TextAreaField("未能联系企业的原因（仅本机构和主管部门可见）", validators=[
        Length(max=1000, message="最多1000字")])

    def validate_reason(self, field):
        if not field.data:
            raise ValidationError("请选择未获批原因")

    def validate_text(self, field):
        if self.reason.data == "other" and not (field.data or "").strip():
            raise ValidationError("原因为“其他”时须填写具体说明")


class WithdrawForm(SubmittedOnce, FlaskForm):
    note = TextAreaField("终止原因（企业可见）", validators=[
        InputRequired("请填写终止对接的原因"), Length(max=1000)])


class PushForm(FlaskForm):
    institutions = MultiCheckboxField("推送给", coerce=int, validate_choice=False)
    scope = MultiCheckboxField("同时提供的企业信息", choices=options([
        (f.code, f.label) for f in scopes.SCOPE_FIELDS if not f.required]))
    agree = BooleanField("我已了解上述机构将收到的信息，同意向其提供", validators=[
        InputRequired("请确认同意向所选机构提供上述信息")])

    def validate_institutions(self, field):
        if not field.data:
            raise ValidationError("请至少选择一家金融机构")


class PushNextForm(FlaskForm):
    """One tap: push the need to one more institution with the scope shown beside the button
    (sent along as hidden fields, so what was shown is what is granted)."""

    institution = IntegerField("机构", validators=[InputRequired("请选择金融机构")])
    scope = SelectMultipleField("提供的企业信息", choices=options([
        (f.code, f.label) for f in scopes.SCOPE_FIELDS]), validate_choice=True)


class RevokeForm(FlaskForm):
    """Revoke one consent: CSRF only."""


class ConfirmFundingForm(SubmittedOnce, FlaskForm):
    rating = RadioField("服务评价", choices=options(RATING_CHOICES),
                        validators=[InputRequired("请为服务打分（1–5星）")])
    comment = TextAreaField("评价内容（可选）", validators=[Optional(), Length(max=500)])


class RateForm(ConfirmFundingForm):
    pass


class SuperviseForm(FlaskForm):
    note = TextAreaField("督办情况", validators=[InputRequired("请填写督办情况"),
                                             Length(max=1000)])


class DeleteForm(FlaskForm):
    """CSRF only."""
