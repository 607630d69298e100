from flask_wtf import FlaskForm
from wtforms import BooleanField


class ReadForm(FlaskForm):
    """Open (mark read) or mark all read: CSRF only."""


class PreferenceForm(FlaskForm):
    daily_digest = BooleanField("每天发送一封邮件摘要，列出当天的新消息")
