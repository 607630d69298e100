from flask_wtf import FlaskForm
from flask_wtf.file import FileAllowed, FileField, FileRequired
from wtforms import HiddenField, StringField
from wtforms.validators import InputRequired, Length, Optional, Regexp

from ..enterprises.on_behalf import BASIS_MAX
from .service import UPLOAD_TOKEN


class UploadForm(FlaskForm):
    document = FileField("交换文件（matchmaker-exchange/1，JSON 格式，不超过 20 MB）", validators=[
        FileRequired("请选择要上传的文件"), FileAllowed(["json"], "只能上传 .json 文件")],
        render_kw={"accept": ".json,application/json"})


class ConfirmForm(FlaskForm):
    token = HiddenField(validators=[
        InputRequired("上传的文件已失效"),
        Regexp(f"^{UPLOAD_TOKEN.pattern}$", message="上传的文件已失效")])
    # required when the file turns on needs' consent_to_share (the view knows, from the preview)
    consent_basis = StringField("代企业登记授权的依据", validators=[
        Optional(), Length(max=BASIS_MAX, message=f"授权依据不超过{BASIS_MAX}个字")],
        render_kw={"placeholder": "如：企业签署的书面授权书编号 YB-2026-001 至 YB-2026-040"},
        description="文件中标记为同意向金融机构展示的需求，将以您的名义代企业登记授权；"
                    "平台会通知企业，企业可随时撤回。金融机构只会收到需求内容和企业必需信息。")
