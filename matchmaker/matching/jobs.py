"""Matching's background jobs: a product's recompute, `match --all` in parts, the reach
recount. Each commits per chunk of needs (service.CHUNK), every need whole, and can be run
again from the start after a crash (it rewrites what it finds)."""
from sqlalchemy import func, select

from .. import jobs, signals
from ..enterprises.models import Need
from ..extensions import db
from ..jobs import job
from ..jobs.models import Job
from . import parallel, service


def _reporter(ctx, what: str):
    def progress(done: int, total: int) -> None:
        ctx.commit()
        ctx.progress(100 * done / max(total, 1), f"{what}：{done}/{total}个需求")
    return progress


def _finish_product(ctx, product_id: int) -> dict:
    """The last part finished: the product's reach and figures from the parts'."""
    parts = db.session.execute(select(Job.result, Job.params)
                               .where(Job.parent_id == ctx.job_id)).all()
    return service.finish_product(product_id, min(params["epoch"] for _, params in parts),
                                  [result for result, _ in parts])


@job("matching.product", "更新产品的匹配结果", finalize=_finish_product, timeout=1800)
def recompute_product(ctx, product_id: int) -> dict:
    """A product's change. Finding the needs it touches reads every need, so on a large
    platform the needs are split by id into as many parts as there are workers, each part
    finding and patching its own (in parallel); a small one is done here in one go."""
    epoch = service.current_epoch()
    ranges = _worker_ranges()
    if len(ranges) == 1:
        result = service.recompute_product(product_id, epoch,
                                           progress=_reporter(ctx, "正在更新匹配结果"))
        return service.finish_product(product_id, epoch, [result])
    ctx.spawn("matching.product_part",
              [{"product_id": product_id, "epoch": epoch, "lo": lo, "hi": hi, "part": n}
               for n, (lo, hi, _) in enumerate(ranges, 1)],
              description="更新产品的匹配结果（部分）")
    return {"needs": sum(count for _, _, count in ranges), "parts": len(ranges)}


def _worker_ranges() -> list[tuple[int, int, int]]:
    """The needs split by id into as many (lo, hi, count) ranges as there are workers, for a
    job that reads every need (parts of at least PRODUCT_PART needs); one range on a small
    platform or a single worker."""
    ids = db.session.scalars(select(Need.id).order_by(Need.id)).all()
    count = max(1, min(jobs.runner.worker_count(), -(-len(ids) // service.PRODUCT_PART)))
    size = max(1, -(-len(ids) // count))
    return [(ids[i], ids[min(i + size, len(ids)) - 1], len(ids[i:i + size]))
            for i in range(0, len(ids), size)] or [(0, 0, 0)]


@job("matching.product_part", "更新产品的匹配结果（部分）", timeout=1800)
def recompute_product_part(ctx, product_id: int, epoch: int, lo: int, hi: int,
                           part: int) -> dict:
    return service.recompute_product(product_id, epoch, (lo, hi),
                                     progress=_reporter(ctx, f"第{part}部分：正在更新匹配结果"))


def _finish_costs(key_of):
    """The finalize of a costs job in parts, the policy change `key_of(params)` waits for:
    the parts' figures added up, and the change no longer waiting."""
    def finish(ctx, **params) -> dict:
        parts = db.session.execute(select(Job.result, Job.params)
                                   .where(Job.parent_id == ctx.job_id)).all()
        service.forget_stale_policies(min(p["epoch"] for _, p in parts), key_of(params))
        return {key: sum((result or {}).get(key, 0) for result, _ in parts)
                for key in ("needs", "recomputed", "patched", "lists_changed")}
    return finish


def _costs_in_parts(ctx, key: str, part_kind: str, params: dict, doing: str, run) -> dict:
    """A change of the policy (`key`) that moves carriers' costs (a programme, the fee
    rate): the needs split over the workers as a product's job is, into `part_kind` jobs;
    `run(epoch, needs, progress)` does it here in one go on a small platform. `doing`: the
    progress message."""
    epoch = service.current_epoch()
    ranges = _worker_ranges()
    if len(ranges) == 1:
        result = run(epoch, None, _reporter(ctx, doing))
        service.forget_stale_policies(epoch, key)
        return result
    ctx.spawn(part_kind, [{**params, "epoch": epoch, "lo": lo, "hi": hi, "part": n}
                          for n, (lo, hi, _) in enumerate(ranges, 1)])  # the kind's label
    return {"parts": len(ranges)}


@job("matching.programme", "按补贴政策的变更更新匹配结果",
     finalize=_finish_costs(lambda params: service.programme_key(params["code"])), timeout=1800)
def recompute_programme(ctx, code: str, before: int | None) -> dict:
    """A subsidy programme's change: the needs it can move patched
    (service.recompute_programme)."""
    def run(epoch, needs, progress):
        return service.recompute_programme(code, before, epoch, needs, progress=progress)
    return _costs_in_parts(ctx, service.programme_key(code), "matching.programme_part",
                           {"code": code, "before": before},
                           "正在更新符合该政策的需求的匹配结果", run)


@job("matching.programme_part", "按补贴政策的变更更新匹配结果（部分）", timeout=1800)
def recompute_programme_part(ctx, code: str, before: int | None, epoch: int, lo: int,
                             hi: int, part: int) -> dict:
    return service.recompute_programme(
        code, before, epoch, (lo, hi),
        progress=_reporter(ctx, f"第{part}部分：正在更新符合该政策的需求的匹配结果"))


@job("matching.fee", "按担保费率的变更更新匹配结果",
     finalize=_finish_costs(lambda _params: service.FEE_SETTING), timeout=1800)
def recompute_fee(ctx) -> dict:
    """The guarantee fee rate's change: the needs a product carrying the fee serves patched
    (service.recompute_fee)."""
    def run(epoch, needs, progress):
        return service.recompute_fee(epoch, needs, progress=progress)
    return _costs_in_parts(ctx, service.FEE_SETTING, "matching.fee_part", {},
                           "正在更新含担保费产品的匹配结果", run)


@job("matching.fee_part", "按担保费率的变更更新匹配结果（部分）", timeout=1800)
def recompute_fee_part(ctx, epoch: int, lo: int, hi: int, part: int) -> dict:
    return service.recompute_fee(
        epoch, (lo, hi), progress=_reporter(ctx, f"第{part}部分：正在更新含担保费产品的匹配结果"))


@job("matching.reach", "重新统计产品匹配的需求数", timeout=1800)
def recount_reach(ctx) -> dict:
    return {"products": service.recount_reach()}


def _finish_all(ctx, **_params) -> dict:
    """The last part finished: every product's reach from the parts' counts."""
    parts = db.session.execute(select(Job.result, Job.params)
                               .where(Job.parent_id == ctx.job_id)).all()
    products = service.replace_reach((result or {}).get("reach", {}) for result, _ in parts)
    needs = sum((result or {}).get("needs", 0) for result, _ in parts)
    if parts:  # every need was written at the parts' epoch: older changes are in
        epoch = min(params["epoch"] for _, params in parts)
        service.forget_stale_products(epoch)
        service.forget_stale_policies(epoch)
    signals.matches_refreshed.send(signals.ALL)
    return {"needs": needs, "products": products}


@job("matching.all", "重新计算全部匹配结果", finalize=_finish_all, timeout=600)
def recompute_all(ctx) -> dict:
    """`match --all`: the needs split into parts by id, run in parallel by the workers."""
    epoch = service.current_epoch()
    ids = db.session.scalars(select(Need.id).order_by(Need.id)).all()
    parts = [{"epoch": epoch, "lo": ids[i], "hi": ids[min(i + service.PART, len(ids)) - 1],
              "part": n + 1} for n, i in enumerate(range(0, len(ids), service.PART))]
    if not parts:  # no need holds anything old: every change waiting is in
        service.forget_stale_products(epoch)
        service.forget_stale_policies(epoch)
        return _finish_all(ctx)
    ctx.spawn("matching.part", parts, description="重新计算匹配结果（部分）")
    return {"needs": len(ids), "parts": len(parts)}


@job("matching.part", "重新计算匹配结果（部分）", timeout=1800)
def recompute_part(ctx, epoch: int, lo: int, hi: int, part: int) -> dict:
    matcher = service.current_matcher()
    facts, status, seen = service.facts_seen((lo, hi))
    total = len(facts)
    progress = _ranked_reporter(ctx, lambda done: f"第{part}部分：{done}/{total}个需求", total)
    processes = parallel.processes()
    # built ahead only where children rank: in one process it is the same work, held longer
    snapshots = service.snapshots_ahead(facts) if processes > 1 else frozenset()
    eligible = service.recompute_needs(facts, matcher, epoch, progress, processes=processes,
                                       snapshots=snapshots, seen=seen)
    reach = service.reach_partials(matcher, eligible, {f.id: f for f in facts}, status)
    return {"needs": total, "reach": reach, "part": part}


def _finish_supply_chain(ctx, **_params) -> dict:
    """The last part finished: the needs the parts ranked again."""
    parts = db.session.scalars(select(Job.result).where(Job.parent_id == ctx.job_id)).all()
    return {"needs": sum((result or {}).get("needs", 0) for result in parts),
            "parts": len(parts)}


@job("matching.core", "按核心企业名单重新匹配供应链融资需求", finalize=_finish_supply_chain,
     timeout=1800)
def recompute_supply_chain(ctx) -> dict:
    """After the core-enterprise list changed: the needs stating a core enterprise, in
    parts of service.PART needs run in parallel by the workers (tens of thousands at city
    scale, as many as `match --all` splits); a small platform's in one go."""
    parts = service.supply_chain_parts()
    if len(parts) <= 1:
        total = parts[0][2] if parts else 0
        return service.recompute_supply_chain(
            progress=_ranked_reporter(ctx, lambda done: f"供应链融资需求：{done}/{total}个", total))
    ctx.spawn("matching.core_part", [{"lo": lo, "hi": hi, "part": n}
                                     for n, (lo, hi, _count) in enumerate(parts, 1)],
              description="按核心企业名单重新匹配供应链融资需求（部分）")
    return {"needs": sum(count for _, _, count in parts), "parts": len(parts)}


@job("matching.core_part", "按核心企业名单重新匹配供应链融资需求（部分）", timeout=1800)
def recompute_supply_chain_part(ctx, lo: int, hi: int, part: int) -> dict:
    total = db.session.scalar(select(func.count()).select_from(
        service.supply_chain_needs().where(Need.id.between(lo, hi)).subquery()))
    return service.recompute_supply_chain(
        (lo, hi), _ranked_reporter(ctx, lambda done: f"第{part}部分：{done}/{total}个供应链融资需求",
                                   total))


def _ranked_reporter(ctx, message, total: int):
    """progress(done, need ids) of needs ranked whole: the flag leads follow each batch."""
    def progress(done: int, batch_ids: list[int]) -> None:
        signals.matches_refreshed.send(signals.NEEDS, need_ids=frozenset(batch_ids))
        ctx.commit()
        ctx.progress(100 * done / max(total, 1), message(done))
    return progress
