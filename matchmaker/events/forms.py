"""Forms of the events pages: input shape only (rules needing the database are in the
services, which answer with a ServiceError naming the field)."""
from datetime import datetime

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    DateTimeLocalField,
    DecimalField,
    HiddenField,
    IntegerField,
    RadioField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import InputRequired, Length, NumberRange, Optional, ValidationError

from .. import clock, vocab
from ..fields import MultiCheckboxField, options
from ..leads import scope as lead_scope
from .models import INVITATION_SOURCE_LABELS, RESULT_OUTCOME_LABELS

LOCAL = "%Y-%m-%dT%H:%M"


def _aware(value: datetime | None) -> datetime | None:
    """A datetime-local input is China time."""
    return value.replace(tzinfo=clock.CHINA) if value else None


class EventForm(FlaskForm):
    title = StringField("活动名称", validators=[InputRequired("请填写活动名称"),
                                            Length(max=128, message="最多128个字")])
    day = DateField("活动日期", validators=[InputRequired("请选择活动日期")])
    venue = StringField("地点", validators=[InputRequired("请填写活动地点"),
                                          Length(max=255, message="最多255个字")])
    district = SelectField("所属区县", choices=options(vocab.choices("districts", "市级活动（不限区县）")),
                           validators=[Optional()])
    theme_cluster = SelectField("主题产业集群", choices=options(vocab.choices("clusters_33618", "不限")),
                                validators=[Optional()])
    theme_purpose = SelectField("主题融资用途", choices=options(vocab.choices("purposes", "不限")),
                                validators=[Optional()])
    description = TextAreaField("活动介绍", validators=[Optional(), Length(max=4000)])
    registration_deadline = DateTimeLocalField(
        "报名截止时间", format=LOCAL, validators=[InputRequired("请填写报名截止时间")])
    requests_deadline = DateTimeLocalField(
        "洽谈请求截止时间", format=LOCAL, validators=[Optional()])
    enterprise_cap = IntegerField("企业名额上限", validators=[
        Optional(), NumberRange(min=1, message="名额上限至少为1（不限请留空）")])
    institution_cap = IntegerField("金融机构名额上限", validators=[
        Optional(), NumberRange(min=1, message="名额上限至少为1（不限请留空）")])

    def values(self) -> dict:
        return {"title": self.title.data.strip(), "day": self.day.data,
                "venue": self.venue.data.strip(), "district": self.district.data or None,
                "theme_cluster": self.theme_cluster.data or None,
                "theme_purpose": self.theme_purpose.data or None,
                "description": (self.description.data or "").strip() or None,
                "registration_deadline": _aware(self.registration_deadline.data),
                "requests_deadline": _aware(self.requests_deadline.data),
                "enterprise_cap": self.enterprise_cap.data,
                "institution_cap": self.institution_cap.data}

    def fill(self, event) -> None:
        for name in ("title", "day", "venue", "description", "enterprise_cap",
                     "institution_cap"):
            self[name].data = getattr(event, name)
        self.district.data = event.district or ""
        self.theme_cluster.data = event.theme_cluster or ""
        self.theme_purpose.data = event.theme_purpose or ""
        for name in ("registration_deadline", "requests_deadline"):
            value = getattr(event, name)
            self[name].data = value.astimezone(clock.CHINA).replace(tzinfo=None) if value else None


class SlotsForm(FlaskForm):
    first_start = DateTimeLocalField("第一轮开始时间", format=LOCAL,
                                     validators=[InputRequired("请填写第一轮开始时间")])
    length_minutes = IntegerField("每轮时长（分钟）", default=20, validators=[
        InputRequired("请填写每轮时长"), NumberRange(min=5, max=240, message="每轮5至240分钟")])
    count = IntegerField("轮数", default=6, validators=[
        InputRequired("请填写轮数"), NumberRange(min=1, max=48, message="轮数应在1至48之间")])
    gap_minutes = IntegerField("轮间休息（分钟）", default=5, validators=[
        Optional(), NumberRange(min=0, max=120, message="休息时间应在0至120分钟之间")])

    def values(self) -> dict:
        return {"first_start": _aware(self.first_start.data),
                "length_minutes": self.length_minutes.data, "count": self.count.data,
                "gap_minutes": self.gap_minutes.data or 0}


class TablesForm(FlaskForm):
    count = IntegerField("洽谈桌数", validators=[
        InputRequired("请填写桌数"), NumberRange(min=1, max=500, message="桌数应在1至500之间")])


class ConfirmForm(FlaskForm):
    """A button: CSRF only."""


class AssignMeetingForm(FlaskForm):
    """The bank admin's 指派: choices are the registered managers free in the slot (set by the
    view); any id parses, the service checks it."""
    manager_id = SelectField("负责的客户经理", coerce=int, validate_choice=False,
                             validators=[InputRequired("请选择客户经理")])


class InviteForm(FlaskForm):
    source = RadioField("邀请范围", choices=options(INVITATION_SOURCE_LABELS.items()),
                        validators=[InputRequired("请选择邀请范围")])
    whitelist_id = SelectField("白名单", choices=[], coerce=int, validate_choice=False,
                               validators=[Optional()])

    def validate_whitelist_id(self, field):
        if self.source.data == "whitelist" and not field.data:
            raise ValidationError("请选择一份白名单")


class EnterpriseRegistrationForm(FlaskForm):
    need_id = SelectField("参会融资需求", coerce=int, choices=[],
                          validators=[InputRequired("请选择一条融资需求")])
    unavailable = MultiCheckboxField("不能参加的时段（可不选）", coerce=int, choices=[])
    consent = BooleanField("我同意：参会金融机构可查看本企业概况（名称、区县、行业、规模）和所选需求；"
                           "洽谈后选择跟进或签订意向的机构可接收本需求及"
                           + "、".join(lead_scope.labels(lead_scope.REQUIRED))
                           + "（其他企业信息须在需求页另行推送授权）")

    def validate_consent(self, field):
        if not field.data:
            raise ValidationError("请确认同意向参会金融机构展示企业概况和本需求")


class InstitutionRegistrationForm(FlaskForm):
    manager_ids = MultiCheckboxField("参会客户经理（每人每轮可洽谈一家企业）", coerce=int,
                                     choices=[])
    product_ids = MultiCheckboxField("参会产品", coerce=int, choices=[])
    unavailable = MultiCheckboxField("不能参加的时段（可不选）", coerce=int, choices=[])

    def validate_manager_ids(self, field):
        if not field.data:
            raise ValidationError("请至少选择一名参会的客户经理")

    def validate_product_ids(self, field):
        if not field.data:
            raise ValidationError("请至少选择一个参会产品")


class RequestForm(FlaskForm):
    to = HiddenField(validators=[InputRequired("请选择洽谈对象")])
    message = StringField("留言（可选）", validators=[Optional(), Length(max=255)])

    def target_id(self) -> int | None:
        return int(self.to.data) if str(self.to.data or "").isdigit() else None


class MustMeetForm(FlaskForm):
    enterprise_registration_id = SelectField("企业", coerce=int, choices=[],
                                             validators=[InputRequired("请选择企业")])
    institution_registration_id = SelectField("金融机构", coerce=int, choices=[],
                                              validators=[InputRequired("请选择金融机构")])


class MoveForm(FlaskForm):
    slot_id = SelectField("时段", coerce=int, choices=[], validators=[InputRequired("请选择时段")])
    table_id = SelectField("桌位", coerce=int, choices=[], validators=[InputRequired("请选择桌位")])
    confirm = BooleanField("已了解上述提示，仍然调整")


class CheckInForm(FlaskForm):
    code = StringField("签到码", validators=[InputRequired("请输入或扫描签到码"),
                                          Length(max=16, message="签到码为8位字母数字")])


class ResultForm(FlaskForm):
    outcome = RadioField("洽谈结果", choices=options(RESULT_OUTCOME_LABELS.items()),
                         validators=[InputRequired("请选择洽谈结果")])
    amount_wan = DecimalField("意向金额（万元）", places=2, validators=[
        Optional(), NumberRange(min=0.01, message="金额必须大于0")])
    note = TextAreaField("备注（可选）", validators=[Optional(), Length(max=2000)])

    def validate(self, extra_validators=None) -> bool:
        ok = super().validate(extra_validators)
        # Optional() stops the field's own chain when empty, so the rule lives here
        if self.outcome.data == "intention" and not self.amount_wan.data:
            self.amount_wan.errors = list(self.amount_wan.errors) + ["签订意向请填写意向金额（万元）"]
            return False
        return ok
