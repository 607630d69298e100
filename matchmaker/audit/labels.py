"""Chinese names of audit action codes, for the audit page (one dict, one place)."""
ACTION_LABELS = {
    "user.registered": "企业用户注册",
    "user.logged_in": "登录",
    "user.logged_out": "退出登录",
    "user.login_failed": "登录失败",
    "user.password_changed": "修改密码",
    "user.password_reset_requested": "申请重置密码",
    "user.password_reset": "重置密码",
    "user.created": "创建用户",
    "invitation.created": "发出邀请",
    "invitation.accepted": "接受邀请",
    "invitation.revoked": "撤销邀请",
    "enterprise.created": "创建企业",
    "enterprise.updated": "更新企业",
    "institution.created": "创建机构",
    "institution.updated": "更新机构",
    "product.created": "创建产品",
    "product.updated": "更新产品",
    "product.published": "发布产品",
    "product.paused": "暂停产品",
    "product.retired": "下架产品",
    "need.created": "创建融资需求",
    "need.updated": "更新融资需求",
    "need.status_changed": "融资需求状态变更",
    "exchange.imported": "导入交换文件",
    "setting.updated": "修改设置",
    "subsidy_program.updated": "修改补贴政策",
    "reference_rate.created": "录入LPR报价",
}


def action_label(code: str) -> str:
    return ACTION_LABELS.get(code, code)
