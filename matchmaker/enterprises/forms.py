from datetime import date
from decimal import Decimal

from flask_wtf import FlaskForm
from wtforms import (DateField, DecimalField, EmailField, IntegerField, PasswordField,
                     SelectField, StringField, ValidationError)
from wtforms.validators import Email, EqualTo, InputRequired, Length, NumberRange

from .. import uscc, vocab
from ..accounts.forms import PASSWORD_RULES


def industry_choices() -> list[tuple[str, str]]:
    return [("", "请选择行业大类")] + [(code, f"{code} {name}") for code, name in
                                      vocab.labels("industry_divisions").items()]


class RegisterEnterpriseForm(FlaskForm):
    company_name = StringField("企业名称（与营业执照一致）", validators=[
        InputRequired("请填写企业名称"), Length(min=4, max=128, message="企业名称长度需为4–128个字")])
    uscc = StringField("统一社会信用代码", validators=[InputRequired("请填写统一社会信用代码")],
                       render_kw={"maxlength": 18, "autocomplete": "off"})
    district = SelectField("所在区县", choices=[], validate_choice=False)
    industry = SelectField("所属行业（国民经济行业分类 大类）", choices=[], validate_choice=False)
    employees = IntegerField("从业人员（人）", validators=[
        InputRequired("请填写从业人员数"), NumberRange(min=0, max=1_000_000, message="人数需在0–1000000之间")])
    revenue_wan = DecimalField("上年营业收入（万元）", places=2, validators=[
        InputRequired("请填写上年营业收入"), NumberRange(min=0, message="营业收入不能为负数")])
    founded = DateField("成立日期", validators=[InputRequired("请填写成立日期")])
    name = StringField("您的姓名", validators=[InputRequired("请填写姓名"), Length(max=64)])
    email = EmailField("登录邮箱", validators=[InputRequired("请填写邮箱"), Email("邮箱格式不正确")])
    password = PasswordField("设置密码", validators=PASSWORD_RULES)
    confirm = PasswordField("确认密码", validators=[
        InputRequired("请再次输入密码"), EqualTo("password", "两次输入的密码不一致")])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.district.choices = vocab.choices("districts", blank="请选择区县")
        self.industry.choices = industry_choices()

    def validate_uscc(self, field):
        message = uscc.problem(field.data)
        if message:
            raise ValidationError(message)
        field.data = uscc.normalize(field.data)

    def validate_district(self, field):
        if vocab.district_name(field.data) is None:
            raise ValidationError("请选择所在区县")

    def validate_industry(self, field):
        if field.data not in vocab.codes("industry_divisions"):
            raise ValidationError("请选择所属行业")

    def validate_founded(self, field):
        if field.data and field.data > date.today():
            raise ValidationError("成立日期不能晚于今天")

    def validate_revenue_wan(self, field):
        if field.data is not None and field.data > Decimal("100000000"):
            raise ValidationError("营业收入数值过大，请以万元为单位填写")
