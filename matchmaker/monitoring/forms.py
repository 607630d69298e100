"""Forms of the monitoring area: a target's value and source, an off-platform activity."""
from decimal import Decimal

from flask_wtf import FlaskForm
from wtforms import DateField, DecimalField, IntegerField, SelectField, StringField, TextAreaField
from wtforms.validators import InputRequired, Length, NumberRange, Optional

from .. import vocab
from ..fields import options
from .models import ACTIVITY_KINDS, ACTIVITY_LABELS


class TargetForm(FlaskForm):
    value = DecimalField("目标值", places=None, validators=[
        InputRequired("请填写目标值"),
        NumberRange(min=Decimal(-100), max=Decimal(1000000), message="目标值超出合理范围")])
    source = TextAreaField("政策依据", validators=[InputRequired("请注明目标值的政策依据"),
                                                Length(max=500, message="不超过500字")])


class ActivityForm(FlaskForm):
    kind = SelectField("活动类型", choices=options([(k, ACTIVITY_LABELS[k]) for k in ACTIVITY_KINDS]),
                       validators=[InputRequired("请选择活动类型")])
    title = StringField("活动名称", validators=[InputRequired("请填写活动名称"),
                                            Length(max=128, message="不超过128字")])
    day = DateField("活动日期", validators=[InputRequired("请选择活动日期")])
    district = SelectField("区县", choices=options([("", "市级活动")] + vocab.choices("districts")),
                           validators=[Optional()])
    enterprises = IntegerField("参加企业（家）", validators=[
        InputRequired("请填写参加企业数"), NumberRange(min=0, max=10000, message="0到10000家")])
    institutions = IntegerField("参加金融机构（家）", default=0, validators=[
        Optional(), NumberRange(min=0, max=1000, message="0到1000家")])
    attendees = TextAreaField("参加单位名单（每行一家）", validators=[
        Optional(), Length(max=20000, message="名单过长")])


def _wan(label, minimum=Decimal(0)):
    return DecimalField(label, places=2, validators=[
        InputRequired(f"请填写{label.split('（')[0]}"),
        NumberRange(min=minimum, max=Decimal(999999999999), message="金额超出范围")])


class ReturnForm(FlaskForm):
    """A bank's monthly 制造业贷款 return; the cross-field rules are in returns._check."""

    month = SelectField("报送月份", choices=[], validators=[InputRequired("请选择月份")])
    loans_total_wan = _wan("各项贷款余额（万元）")
    mfg_balance_wan = _wan("制造业贷款余额（万元）")
    mfg_increase_wan = _wan("制造业贷款当月增量（万元）", Decimal(-999999999999))
    long_term_wan = _wan("制造业中长期贷款余额（万元）")
    credit_wan = _wan("制造业信用贷款余额（万元）")
    first_loan_borrowers = IntegerField("当月制造业首贷户（户）", validators=[
        InputRequired("请填写首贷户数"), NumberRange(min=0, max=1000000, message="户数超出范围")])


class CriterionForm(FlaskForm):
    weight = DecimalField("权重（分）", places=None, validators=[
        InputRequired("请填写权重"), NumberRange(min=0, max=100, message="权重在0到100之间")])
    source = TextAreaField("依据", validators=[InputRequired("请注明依据"),
                                             Length(max=500, message="不超过500字")])
