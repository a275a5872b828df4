"""Steps the browser journeys share: signing in with the second factor, filing a vulnerability.

The words a page says come from the journey's own table (``WORDS`` of
``test_publisher_flow`` for the publisher's pages), so each step runs in any
language the portal speaks.
"""

from __future__ import annotations

import re
import time
from typing import Any

from playwright.sync_api import Page, expect

from tests.conftest import TEST_PASSWORD

VECTOR = "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"
# The calculator's radio groups for VECTOR (CVSS 3.1).
PICKS = {"AV": "N", "AC": "L", "PR": "N", "UI": "N", "S": "U", "C": "H", "I": "H", "A": "H"}


def give_totp(user: Any) -> str:
    """Activate a TOTP authenticator for a staff member (as they would on first sign-in); its secret.

    A new secret each time: allauth remembers used codes in the cache, which outlives a test's database.
    """
    from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret

    secret = generate_totp_secret()
    TOTP.activate(user, secret)
    return secret


def totp_code(secret: str) -> str:
    from allauth.mfa.totp.internal.auth import format_hotp_value, hotp_value

    return format_hotp_value(hotp_value(secret, int(time.time()) // 30))


def sign_in_with_totp(page: Page, base_url: str, email: str, secret: str, *, start: str) -> None:
    """The real sign-in of marketplace staff: e-mail and password, then the authenticator's code."""
    page.goto(f"{base_url}{start}")
    page.fill('input[name="login"]', email)
    page.fill('input[name="password"]', TEST_PASSWORD)
    page.locator('form[action="/accounts/login/"] button[type="submit"]').click()
    page.wait_for_url(re.compile(r"/accounts/2fa/authenticate/"))
    page.fill('input[name="code"]', totp_code(secret))
    page.locator('input[name="code"]').press("Enter")
    page.wait_for_url(f"{base_url}{start}")


def file_vulnerability(page: Page, words: dict[str, str], *, description: str, customer_message: str) -> str:
    """From the publisher's tickets: start a request, score it with the calculator, submit; the number."""
    page.get_by_role("navigation", name=re.compile("Main|Ana")).get_by_role("link", name=words["start"]).click()
    page.get_by_label(words["vulnerability"], exact=True).check()
    page.get_by_label("Contoso Backup").check()
    page.locator("#field-description").fill(description)
    expect(page.locator("#cvss-calculator")).to_be_visible()
    for code, value in PICKS.items():
        page.locator(f"#m31_{code}-{value}").check()
    expect(page.locator("#cvss-result [data-cvss-score]")).to_have_text(words["score"])
    page.get_by_role("button", name=words["add_vector"]).click()
    expect(page.locator("#field-cvss_vectors")).to_have_value(VECTOR)
    page.locator("#field-cve_ids").fill("CVE-2026-12345")
    page.locator("#field-cwe_ids").fill("CWE-78")
    page.get_by_label(words["workaround"]).check()
    page.locator("#field-remediation_steps").fill("Disable uploads until 4.2.1 ships.")
    page.locator("#field-customer_message").fill(customer_message)
    page.get_by_role("button", name=words["submit"], exact=True).click()
    number = page.locator("#confirmation-number").inner_text().strip()
    expect(page.locator("main")).to_contain_text(words["one_business_day"])
    return number
