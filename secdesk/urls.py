"""Top-level routes: the admin for staff, the versioned REST API, and signing in."""

from allauth.account.decorators import secure_admin_login
from django.contrib import admin
from django.urls import URLPattern, URLResolver, include, path

from secdesk.accounts import language
from secdesk.accounts import urls as accounts_urls
from secdesk.accounts import views as accounts_views
from secdesk.api.root import api

# The admin signs in through allauth (before admin.site.urls is built), so its login cannot skip the second factor.
admin.site.login = secure_admin_login(admin.site.login)  # type: ignore[method-assign]

urlpatterns: list[URLPattern | URLResolver] = [
    path("admin/", admin.site.urls),
    path("api/v1/", api.urls),
]

# Signing in (django-allauth: OIDC providers, local accounts, TOTP) and the signed-in home page.
urlpatterns += [
    path("", accounts_views.home, name="home"),
    path("invitations/<str:token>/", accounts_views.accept_invitation, name="invitation_accept"),
    path("account/", include(accounts_urls.account_urlpatterns)),  # one's own API tokens (needs MFA for staff)
    path("accounts/", include("secdesk.accounts.urls")),  # verified-id_token callbacks, ahead of allauth's
    path("accounts/", include("allauth.urls")),
]

# The web portal (the publisher's pages; the triage queue joins them) and Django's language switcher.
urlpatterns += [
    # The language switcher: a CSRF-checked POST storing a cookie and, when signed in, the profile's language.
    path("i18n/setlang/", language.set_language, name="set_language"),
    path("", include("secdesk.web.urls")),
]
