from decimal import Decimal

from flask_wtf import FlaskForm
from wtforms import DateField, DecimalField, SelectField, StringField
from wtforms.validators import InputRequired, Length, NumberRange, Optional, ValidationError

from ..fields import options
from .service import LPR_KINDS, PROGRAM_SETTING_FIELDS


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
