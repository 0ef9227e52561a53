"""Queuing returns' e-mails to the business's users, in the caller's transaction."""

from accounts import rights
from accounts.models import Right
from portal import outbox
from returns.messages import Kind
from returns.models import ReturnPolicy


def tell_policy_watchers(policy: ReturnPolicy, *, suspended: bool) -> int:
    """Tell the users who manage `policy` (MANAGE on its agreement or on the whole account) that
    it was suspended or reinstated; returns how many."""
    kind = Kind.POLICY_SUSPENDED if suspended else Kind.POLICY_REINSTATED
    target = policy.contract if policy.contract_id else policy.account
    stamp = (policy.suspended_at or policy.updated_at).timestamp()
    watchers = list(rights.users_holding(Right.MANAGE, target))  # type: ignore[arg-type]
    for user in watchers:
        outbox.queue_email(
            kind=kind,
            to=user.email,
            user=user,
            language=user.language,
            account_id=policy.account_id,
            facts={"policy": policy.pk, "user_name": user.display_name},
            dedupe_key=f"{kind}:{policy.pk}:{stamp}:user:{user.pk}",
        )
    return len(watchers)
