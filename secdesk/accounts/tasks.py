"""Background work of the accounts app (``django.tasks``): tasks take ids, not objects."""

from __future__ import annotations

from django.core.mail import send_mail
from django.tasks import task
from django.template.loader import render_to_string

from secdesk.accounts.models import Invitation


@task()
def send_invitation_email(invitation_id: int) -> bool:
    """E-mail an open invitation its link; an accepted or withdrawn one is skipped."""
    from secdesk.accounts.services import IssuedInvitation, invitation_token

    invitation = Invitation.objects.select_related("organization", "invited_by").filter(pk=invitation_id).first()
    if invitation is None or invitation.accepted_at is not None or invitation.revoked_at is not None:
        return False
    issued = IssuedInvitation(invitation=invitation, token=invitation_token(invitation))
    context = {"invitation": invitation, "url": issued.url}
    subject = render_to_string("accounts/email/invitation_subject.txt", context).strip()
    body = render_to_string("accounts/email/invitation_message.txt", context)
    send_mail(" ".join(subject.split()), body, None, [invitation.email])
    return True
