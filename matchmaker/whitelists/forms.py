"""Forms of the whitelist pages: input shape only (rules needing the database are in service)."""
from decimal import Decimal

from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import (
    BooleanField,
    DateField,
    DecimalField,
    HiddenField,
    IntegerField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import InputRequired, Length, NumberRange, Optional, ValidationError

from .. import clock, vocab
from ..fields import options
from .models import KIND_LABELS, STATUS_LABELS


def _int_or_none(value):
    return int(value) if str(value).isdigit() else None


class WhitelistForm(FlaskForm):
    title = StringField("白名单名称", validators=[InputRequired("请填写白名单名称"),
                                               Length(max=128, message="名称不超过128个字")],
                        render_kw={"placeholder": "如：2026年第4批 制造业融资需求白名单"})
    kind = SelectField("类型", choices=options(KIND_LABELS.items()),
                       validators=[InputRequired("请选择白名单类型")])
    issuing_body = StringField("印发单位", validators=[
        InputRequired("请填写印发单位"), Length(max=128, message="不超过128个字")],
        render_kw={"placeholder": "如：重庆市经济和信息化委员会"})
    issued_on = DateField("印发日期", validators=[InputRequired("请填写印发日期")])
    answer_deadline = DateField("金融机构反馈截止日期",
                                validators=[InputRequired("请填写反馈截止日期")])
    per_entry = IntegerField("每户最多推送机构数", validators=[
        InputRequired("请填写每户最多推送机构数"),
        NumberRange(min=1, max=10, message="应在1到10之间")])
    share_percent = IntegerField("单家机构最多承接本批推送的比例（%）", validators=[
        InputRequired("请填写比例"), NumberRange(min=1, max=100, message="应在1到100之间")])

    def validate_answer_deadline(self, field):
        if field.data and self.issued_on.data and field.data < self.issued_on.data:
            raise ValidationError("反馈截止日期不能早于印发日期")

    def values(self) -> dict:
        return {"title": self.title.data, "kind": self.kind.data,
                "issuing_body": self.issuing_body.data, "issued_on": self.issued_on.data,
                "answer_deadline": self.answer_deadline.data, "per_entry": self.per_entry.data,
                "share": Decimal(self.share_percent.data) / 100}


class FilterForm(FlaskForm):
    class Meta:
        csrf = False

    status = SelectField("状态", choices=options([("", "全部状态"), *STATUS_LABELS.items()]),
                         validators=[Optional()])
    kind = SelectField("类型", choices=options([("", "全部类型"), *KIND_LABELS.items()]),
                       validators=[Optional()])
    q = StringField("名称", validators=[Optional(), Length(max=64)])


class NeedSearchForm(FlaskForm):
    class Meta:
        csrf = False

    q = StringField("企业名称、统一社会信用代码或需求编号",
                    validators=[Optional(), Length(max=64)])


class EntryForm(FlaskForm):
    need_id = HiddenField(validators=[InputRequired("请选择要列入的需求")])
    recommender = StringField("推荐单位", validators=[
        InputRequired("请填写推荐单位"), Length(max=128, message="不超过128个字")])
    consent = BooleanField("企业已同意推送给金融机构（已签署白名单申报表或书面授权）")
    consent_basis = StringField("授权依据（勾选企业同意时必填）",
                                validators=[Optional(), Length(max=200, message="不超过200个字")],
                                render_kw={"placeholder": "如：白名单申报表编号YC-031，企业盖章同意"})
    project_name = StringField("项目名称（重点项目白名单必填）",
                               validators=[Optional(), Length(max=128)])
    cluster = SelectField("产业集群", choices=options(vocab.choices("clusters_33618", "未填写")),
                          validators=[Optional()])
    note = TextAreaField("备注（可选）", validators=[Optional(), Length(max=2000)])

    def values(self) -> dict:
        return {"recommender": self.recommender.data, "consent": self.consent.data,
                "consent_basis": self.consent_basis.data, "project_name": self.project_name.data,
                "note": self.note.data}


class EntryEditForm(EntryForm):
    need_id = HiddenField()

    def values(self) -> dict:
        return dict(super().values(), cluster=self.cluster.data or None)


class ImportForm(FlaskForm):
    file = FileField("Excel 文件（.xlsx，按平台模板填写）",
                     validators=[FileRequired("请选择要上传的 Excel 文件")],
                     render_kw={"accept": ".xlsx,application/vnd.openxmlformats-officedocument."
                                          "spreadsheetml.sheet"})
    recommender = StringField("推荐单位（本表各行）", validators=[
        InputRequired("请填写推荐单位"), Length(max=128, message="不超过128个字")])


class ImportCommitForm(FlaskForm):
    payload = HiddenField(validators=[InputRequired("预览已失效，请重新上传")])
    recommender = HiddenField(validators=[InputRequired("请填写推荐单位"), Length(max=128)])


class ActionForm(FlaskForm):
    """A button that changes state: only the CSRF token."""


class ReasonForm(FlaskForm):
    reason = TextAreaField("退回原因", validators=[InputRequired("请填写退回原因"),
                                               Length(max=2000)])


class AddPushForm(FlaskForm):
    institution_id = SelectField("添加机构", coerce=_int_or_none, validate_choice=False,
                                 validators=[InputRequired("请选择金融机构")])


class DisbursementForm(FlaskForm):
    amount_wan = DecimalField("放款金额（万元）", places=2, validators=[
        InputRequired("请填写放款金额"), NumberRange(min=Decimal("0.01"), message="金额必须大于0")])
    rate = DecimalField("年利率（%）", places=3, validators=[
        InputRequired("请填写年利率"), NumberRange(min=0, max=24, message="年利率应在0到24%之间")])
    term_months = IntegerField("期限（月）", validators=[
        InputRequired("请填写期限"), NumberRange(min=1, max=360, message="期限应在1到360个月之间")])
    disbursed_on = DateField("放款日期", default=clock.china_today,
                             validators=[InputRequired("请填写放款日期")])


class SuperviseForm(FlaskForm):
    note = TextAreaField("督办情况", validators=[InputRequired("请填写督办情况"),
                                             Length(max=1000)])


class FlagForm(FlaskForm):
    enterprise_id = HiddenField(validators=[InputRequired("请选择企业")])
    reason = TextAreaField("标记原因", validators=[InputRequired("请填写标记原因"),
                                               Length(max=2000)],
                           render_kw={"placeholder": "如：债委会已启动，正在制定脱困方案"})


class ClearFlagForm(FlaskForm):
    note = StringField("解除说明（可选）", validators=[Optional(), Length(max=255)])
