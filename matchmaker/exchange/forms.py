from flask_wtf import FlaskForm
from flask_wtf.file import FileAllowed, FileField, FileRequired
from wtforms import HiddenField
from wtforms.validators import InputRequired, Regexp

from .service import UPLOAD_TOKEN


class UploadForm(FlaskForm):
    document = FileField("交换文件（matchmaker-exchange/1，JSON 格式，不超过 20 MB）", validators=[
        FileRequired("请选择要上传的文件"), FileAllowed(["json"], "只能上传 .json 文件")],
        render_kw={"accept": ".json,application/json"})


class ConfirmForm(FlaskForm):
    token = HiddenField(validators=[
        InputRequired("上传的文件已失效"),
        Regexp(f"^{UPLOAD_TOKEN.pattern}$", message="上传的文件已失效")])
