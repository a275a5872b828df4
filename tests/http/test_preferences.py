"""One's own language and timezone: the preferences page, the switcher saving the profile, and which wins."""

from __future__ import annotations

import pytest
from django.test import Client

from secdesk.accounts import services
from secdesk.accounts.models import User
from secdesk.domain.errors import InvalidInput, PermissionDenied
from secdesk.domain.policy import ANONYMOUS

pytestmark = pytest.mark.django_db


def _alice(world) -> User:
    return User.objects.get(pk=world.users["alice"].pk)


def test_anonymous_visitors_are_sent_to_sign_in(client):
    response = client.get("/preferences/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")
    assert client.post("/preferences/", {"language": "tr", "timezone": "UTC"}).status_code == 302


def test_the_page_shows_the_saved_choices(client, world):
    User.objects.filter(pk=world.users["alice"].pk).update(language="", timezone="Europe/Istanbul")
    client.force_login(world.users["alice"])
    html = client.get("/preferences/").content.decode()
    assert '<option value="" selected>' in html  # the browser decides
    assert '<option value="Europe/Istanbul" selected>' in html
    assert 'name="csrfmiddlewaretoken"' in html


def test_saving_speaks_the_new_language_at_once_and_shows_times_in_the_new_zone(client, world):
    client.force_login(world.users["alice"])
    response = client.post("/preferences/", {"language": "tr", "timezone": "Asia/Tokyo"})
    assert response.status_code == 302
    assert response["Location"] == "/preferences/"
    alice = _alice(world)
    assert (alice.language, alice.timezone) == ("tr", "Asia/Tokyo")
    page = client.get("/preferences/", HTTP_ACCEPT_LANGUAGE="en")
    html = page.content.decode()
    assert '<html lang="tr">' in html
    assert "Tercihleriniz kaydedildi." in html
    assert "Asia/Tokyo" in html.split("<footer", 1)[1]  # "times are shown in your timezone, Asia/Tokyo"


def test_a_bad_timezone_is_refused_by_field_and_nothing_is_saved(client, world):
    client.force_login(world.users["alice"])
    before = _alice(world)
    response = client.post("/preferences/", {"language": "tr", "timezone": "Mars/Olympus_Mons"})
    assert response.status_code == 400
    html = response.content.decode()
    assert 'id="err-timezone"' in html
    assert 'aria-describedby="help-pref-timezone err-timezone"' in html
    assert "not a known timezone" in html
    after = _alice(world)
    assert (after.language, after.timezone) == (before.language, before.timezone)


def test_an_unknown_language_is_refused_by_field(client, world):
    client.force_login(world.users["alice"])
    response = client.post("/preferences/", {"language": "xx", "timezone": "UTC"})
    assert response.status_code == 400
    assert 'id="err-language"' in response.content.decode()
    assert _alice(world).language != "xx"


def test_the_saved_language_beats_the_cookie_and_the_browser(client, world):
    User.objects.filter(pk=world.users["alice"].pk).update(language="tr")
    client.force_login(world.users["alice"])
    client.cookies["django_language"] = "en"
    response = client.get("/tickets/", HTTP_ACCEPT_LANGUAGE="en-GB,en;q=0.9")
    assert '<html lang="tr">' in response.content.decode()
    assert response["Content-Language"] == "tr"


def test_without_a_saved_language_the_browser_decides(client, world):
    User.objects.filter(pk=world.users["alice"].pk).update(language="")
    client.force_login(world.users["alice"])
    assert '<html lang="tr">' in client.get("/tickets/", HTTP_ACCEPT_LANGUAGE="tr-TR,tr;q=0.9").content.decode()
    assert '<html lang="en">' in client.get("/tickets/", HTTP_ACCEPT_LANGUAGE="en-GB").content.decode()


def test_the_switcher_saves_the_choice_in_the_profile(client, world):
    client.force_login(world.users["alice"])
    response = client.post("/i18n/setlang/", {"language": "tr", "next": "/tickets/"})
    assert response.status_code == 302
    assert _alice(world).language == "tr"
    # Another browser (no cookie) of the same person speaks Turkish too.
    other = Client()
    other.force_login(world.users["alice"])
    assert '<html lang="tr">' in other.get("/tickets/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    client.post("/i18n/setlang/", {"language": "en", "next": "/tickets/"})
    assert _alice(world).language == "en"


def test_the_switcher_ignores_an_unknown_language_and_keeps_anonymous_choices_in_the_cookie(client, world):
    client.force_login(world.users["alice"])
    client.post("/i18n/setlang/", {"language": "tr", "next": "/tickets/"})
    client.post("/i18n/setlang/", {"language": "klingon", "next": "/tickets/"})
    assert _alice(world).language == "tr"
    anonymous = Client()
    response = anonymous.post("/i18n/setlang/", {"language": "tr", "next": "/accounts/login/"})
    assert response.status_code == 302
    assert anonymous.cookies["django_language"].value == "tr"


def test_the_switcher_and_the_page_need_the_csrf_token(world):
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(world.users["alice"])
    assert strict.post("/i18n/setlang/", {"language": "tr", "next": "/tickets/"}).status_code == 403
    assert strict.post("/preferences/", {"language": "tr", "timezone": "UTC"}).status_code == 403
    assert _alice(world).language != "tr"


def test_the_service_reports_every_fault_at_once_and_refuses_anonymous(world):
    from secdesk.accounts.actors import actor_for

    with pytest.raises(InvalidInput) as caught:
        services.update_preferences(actor_for(world.users["bob"]), language="xx", timezone_name="Nowhere/Land")
    assert sorted(error.field for error in caught.value.errors) == ["language", "timezone"]
    with pytest.raises(PermissionDenied):
        services.update_preferences(ANONYMOUS, language="tr")
    saved = services.update_preferences(actor_for(world.users["bob"]), timezone_name="America/New_York")
    assert saved.timezone == "America/New_York"
    assert User.objects.get(pk=world.users["bob"].pk).timezone == "America/New_York"
