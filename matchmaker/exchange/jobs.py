"""The exchange's background job: an admin's confirmed upload, imported outside the request
(a city-size file takes longer than a web worker may), all of it or nothing."""
from .. import clock
from ..errors import ServiceError
from ..jobs import files, job
from . import service
from .service import ImportRejected

SHOWN_ERRORS = 20


@job("exchange.import", "导入交换文件", timeout=3600, max_attempts=1)
def import_upload(ctx, token: str, consent_basis: str | None = None) -> dict:
    raw = service.read_upload(token)
    if raw is None:
        raise ServiceError("上传的文件已失效或已导入，请重新上传。")
    ctx.progress(5, "正在校验并写入")
    try:
        # guarded again here: the admin who confirmed it (None: the platform's own run)
        report = service.import_for(ctx.actor, service.load_document(raw), consent_basis)
    except ImportRejected as rejected:  # the platform changed since the preview
        service.discard_upload(token)
        lines = "；".join(p.message for p in rejected.problems[:SHOWN_ERRORS])
        raise ServiceError(f"文件有{len(rejected.problems)}处错误，未导入任何数据：{lines}") from None
    ctx.commit()
    service.discard_upload(token)
    ctx.progress(99, f"导入完成：{report.summary_zh()}；匹配结果随后在后台更新")
    return {"counts": report.counts(), "summary": report.summary_zh()}


@job("exchange.export", "导出交换文件", timeout=3600, max_attempts=2)
def export_platform(ctx) -> dict:
    """The admin's export page: the whole platform as a file to download when done (at city
    size it takes longer than a web request may)."""
    doc = service.export_for(ctx.actor, progress=ctx.progress)  # guarded: admins only
    ctx.progress(85, "正在写入文件")
    stamp = clock.china_time(clock.now(), "%Y%m%d-%H%M")
    meta = files.save(ctx, service.dump_document(doc).encode("utf-8"),
                      f"matchmaker-export-{stamp}.json", "application/json")
    counts = {s: len(doc[s]) for s in service.SECTIONS if s in doc}
    ctx.progress(99, "导出完成：" + "，".join(
        f"{service.SECTION_LABELS[s]}{n}条" for s, n in counts.items()))
    return {"file": meta, "counts": counts}
