from typing import Any

from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "secdesk.accounts"
    label = "accounts"
    verbose_name = "Accounts"

    def ready(self) -> None:
        from allauth.account.signals import email_confirmed

        email_confirmed.connect(_ask_to_join_after_verification, dispatch_uid="secdesk.accounts.ask_to_join")
        _connect_audit_receivers()


def _ask_to_join_after_verification(sender: Any, request: Any, email_address: Any, **kwargs: Any) -> None:
    """A person with no organisation who verifies an address asks to join (the one owning its domain, if any)."""
    from secdesk.accounts import organizations
    from secdesk.accounts.models import Membership, User

    user = User.objects.filter(pk=email_address.user_id).first()
    if user is None or user.staff_role or Membership.objects.filter(user=user).exists():
        return
    organizations.request_membership(
        user, source="local", organization=organizations.organization_for_domain(email_address.email)
    )


def _connect_audit_receivers() -> None:
    """The security audit log's sources (see ``audit.py``)."""
    from allauth.mfa import signals as mfa_signals
    from axes.signals import user_locked_out
    from django.contrib.auth import signals as auth_signals
    from django.db.models import signals as model_signals

    from secdesk.accounts import audit
    from secdesk.accounts.models import Membership, User

    uid = "secdesk.accounts.audit."
    auth_signals.user_logged_in.connect(audit.on_logged_in, dispatch_uid=uid + "logged_in")
    auth_signals.user_logged_out.connect(audit.on_logged_out, dispatch_uid=uid + "logged_out")
    auth_signals.user_login_failed.connect(audit.on_login_failed, dispatch_uid=uid + "login_failed")
    user_locked_out.connect(audit.on_locked_out, dispatch_uid=uid + "locked_out")
    mfa_signals.authenticator_added.connect(audit.on_authenticator_added, dispatch_uid=uid + "mfa_added")
    mfa_signals.authenticator_removed.connect(audit.on_authenticator_removed, dispatch_uid=uid + "mfa_removed")
    mfa_signals.authenticator_reset.connect(audit.on_authenticator_reset, dispatch_uid=uid + "mfa_reset")
    model_signals.pre_save.connect(audit.on_user_pre_save, sender=User, dispatch_uid=uid + "user_pre_save")
    model_signals.post_save.connect(audit.on_user_post_save, sender=User, dispatch_uid=uid + "user_post_save")
    model_signals.pre_save.connect(
        audit.on_membership_pre_save, sender=Membership, dispatch_uid=uid + "membership_pre_save"
    )
    model_signals.post_save.connect(
        audit.on_membership_post_save, sender=Membership, dispatch_uid=uid + "membership_post_save"
    )
    model_signals.post_delete.connect(
        audit.on_membership_post_delete, sender=Membership, dispatch_uid=uid + "membership_post_delete"
    )
