"""The exchange's background job: an admin's confirmed upload, imported outside the request
(a city-size file takes longer than a web worker may), all of it or nothing."""
from ..errors import ServiceError
from ..jobs import job
from . import service
from .service import ImportRejected

SHOWN_ERRORS = 20


@job("exchange.import", "导入交换文件", timeout=3600, max_attempts=1)
def import_upload(ctx, token: str) -> dict:
    raw = service.read_upload(token)
    if raw is None:
        raise ServiceError("上传的文件已失效或已导入，请重新上传。")
    ctx.progress(5, "正在校验并写入")
    try:
        # guarded again here: the admin who confirmed it (None: the platform's own run)
        report = service.import_for(ctx.actor, service.load_document(raw))
    except ImportRejected as rejected:  # the platform changed since the preview
        service.discard_upload(token)
        lines = "；".join(rejected.errors[:SHOWN_ERRORS])
        raise ServiceError(f"文件有{len(rejected.errors)}处错误，未导入任何数据：{lines}") from None
    ctx.commit()
    service.discard_upload(token)
    ctx.progress(99, f"导入完成：{report.summary_zh()}；匹配结果随后在后台更新")
    return {"counts": report.counts(), "summary": report.summary_zh()}
