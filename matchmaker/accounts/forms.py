from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    EmailField,
    HiddenField,
    PasswordField,
    SelectField,
    StringField,
    TelField,
)
from wtforms.validators import Email, EqualTo, InputRequired, Length, Optional, ValidationError

from .. import mobile, vocab
from . import passwords
from .models import ROLE_LABELS


class StrongPassword:
    """zxcvbn score ≥ 3 and not a common password, judged with the form's own e-mail, name
    and company (a password made of them is easy to guess for whoever knows the user)."""

    def __call__(self, form, field):
        if field.errors:  # too short or too long: said already
            return
        inputs = [getattr(form, name).data for name in ("email", "name", "company_name")
                  if hasattr(form, name)]
        message = passwords.weakness(field.data or "", inputs)
        if message:
            raise ValidationError(message)


PASSWORD_RULES = [InputRequired("请输入密码"), Length(min=10, max=128, message="密码长度需为10–128位"),
                  StrongPassword()]


# logging in (or asking for a reset) needs no format check: the address either belongs to an
# account or not, and email-validator refuses reserved domains such as the demo users' .local
EXISTING_EMAIL = [InputRequired("请输入邮箱"), Length(max=254, message="邮箱过长")]


class LoginForm(FlaskForm):
    email = EmailField("邮箱", validators=EXISTING_EMAIL)
    password = PasswordField("密码", validators=[InputRequired("请输入密码")])
    next = HiddenField()


class ChangePasswordForm(FlaskForm):
    current_password = PasswordField("当前密码", validators=[InputRequired("请输入当前密码")])
    new_password = PasswordField("新密码", validators=PASSWORD_RULES)
    confirm = PasswordField("确认新密码", validators=[
        InputRequired("请再次输入新密码"), EqualTo("new_password", "两次输入的密码不一致")])


class CloseAccountForm(FlaskForm):
    """Closing one's own account: the password again, and a tick that says it is for good."""
    password = PasswordField("当前密码", validators=[InputRequired("请输入当前密码以确认身份")])
    understood = BooleanField("我已了解：账号注销后无法恢复，我的姓名、邮箱、手机号将被清除",
                              validators=[InputRequired("请勾选确认")])


class ForgotPasswordForm(FlaskForm):
    email = EmailField("注册邮箱", validators=EXISTING_EMAIL)


class ResetPasswordForm(FlaskForm):
    new_password = PasswordField("新密码", validators=PASSWORD_RULES)
    confirm = PasswordField("确认新密码", validators=[
        InputRequired("请再次输入新密码"), EqualTo("new_password", "两次输入的密码不一致")])


class InviteForm(FlaskForm):
    email = EmailField("被邀请人邮箱", validators=[InputRequired("请输入邮箱"), Email("邮箱格式不正确")])
    name = StringField("姓名", validators=[Optional(), Length(max=64)])
    role = SelectField("角色", choices=[])
    institution = SelectField("所属机构", choices=[], validate_choice=False)
    district = SelectField("所属区县（组织方；留空为市级）", choices=[], validate_choice=False)
    organization = StringField("单位名称", validators=[Optional(), Length(max=128)])

    def setup(self, roles: list[str], institutions: list[tuple[str, str]]):
        self.role.choices = [(r, ROLE_LABELS[r]) for r in roles]
        self.institution.choices = [("", "—")] + institutions
        self.district.choices = [("", "市级（不限区县）")] + vocab.choices("districts")
        return self

    def validate_district(self, field):
        if field.data and vocab.district_name(field.data) is None:
            from wtforms import ValidationError

            raise ValidationError("请选择有效的区县")


class AcceptInvitationForm(FlaskForm):
    name = StringField("姓名", validators=[InputRequired("请输入姓名"), Length(max=64)])
    # required of account managers (the enterprise sees it after a claim), optional otherwise
    phone = TelField("手机号码", validators=[Length(max=32)],
                     render_kw={"inputmode": "tel", "autocomplete": "tel"})
    phone_required = False  # the view sets it for an account manager's invitation

    password = PasswordField("设置密码", validators=PASSWORD_RULES)
    confirm = PasswordField("确认密码", validators=[
        InputRequired("请再次输入密码"), EqualTo("password", "两次输入的密码不一致")])

    def validate_phone(self, field):
        if self.phone_required or (field.data or "").strip():
            message = mobile.problem(field.data)
            if message:
                raise ValidationError(message)
