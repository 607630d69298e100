"""The catalogue's background job: the organizers' 产品手册 (product pool workbook), made
outside the request (thousands of products) and downloaded from the page that started it."""
from .. import clock
from ..audit.service import record
from ..jobs import files, job
from .export import GROUPINGS, product_pool_workbook

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@job("catalog.product_pool", "导出产品手册", timeout=1800, max_attempts=2)
def export_product_pool(ctx, grouping: str) -> dict:
    if grouping not in GROUPINGS:
        raise ValueError(f"unknown grouping {grouping!r}")
    ctx.progress(10, "正在汇总产品")
    content = product_pool_workbook(grouping)
    record(ctx.actor, "product_pool.exported", ctx.actor, grouping=grouping)
    ctx.progress(90, "正在写入文件")
    meta = files.save(ctx, content, f"product-pool-{grouping}-{clock.china_today():%Y%m%d}.xlsx",
                      XLSX)
    return {"file": meta}
