"""The navigation bar per role: (endpoint, label) pairs, only endpoints that exist."""
from flask import current_app

MENUS = {
    None: [("catalog.index", "金融超市"), ("accounts.login", "登录"),
           ("accounts.register", "企业注册")],
    "enterprise": [("web.home", "工作台"), ("catalog.index", "金融超市"),
                   ("enterprises.needs", "我的融资需求"), ("enterprises.profile", "企业信息"),
                   ("accounts.invitations", "同事邀请"), ("events.index", "对接会")],
    "bank_manager": [("web.home", "工作台"), ("leads.index", "线索收件箱"),
                     ("institutions.products", "本机构产品"), ("matching.reach", "匹配概况"),
                     ("whitelists.bank_index", "白名单"), ("events.index", "对接会"),
                     ("catalog.index", "金融超市")],
    "bank_admin": [("web.home", "工作台"), ("institutions.products", "产品管理"),
                   ("institutions.profile", "机构信息"), ("matching.reach", "匹配概况"),
                   ("leads.pipeline", "线索看板"),
                   ("leads.team_page", "客户经理"), ("leads.index", "线索"),
                   ("whitelists.bank_index", "白名单"), ("events.index", "对接会"),
                   ("monitoring.bank_returns", "制造业月报")],
    "organizer": [("web.home", "工作台"), ("enterprises.search", "企业与需求"),
                  ("whitelists.index", "白名单"), ("events.index", "对接会"),
                  ("catalog.index", "金融超市"), ("institutions.core_enterprises", "核心企业库"),
                  ("leads.supervision", "督办"), ("whitelists.supervision", "白名单督办"),
                  ("leads.pipeline", "线索看板"), ("monitoring.index", "监测督导")],
    "applicant": [("web.home", "我的申请"), ("catalog.index", "金融超市")],
    "admin": [("web.home", "工作台"), ("accounts.invitations", "邀请用户"),
              ("audit.index", "审计日志"), ("exchange.upload", "数据导入"),
              ("jobs.index", "后台任务"),
              ("policy.index", "政策参数"), ("policy.workdays_page", "工作日历"),
              ("monitoring.targets", "监测目标"), ("monitoring.scorecard", "银行考核")],
}


def menu_for(user) -> list[tuple[str, str]]:
    role = user.role if getattr(user, "is_authenticated", False) else None
    endpoints = current_app.view_functions
    return [(endpoint, label) for endpoint, label in MENUS[role] if endpoint in endpoints]
