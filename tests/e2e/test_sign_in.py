"""Signing in on a phone: showing the password while typing it, and two-step sign-in from
turning it on to signing in with a recovery code."""

from __future__ import annotations

import re

import pyotp

from tests.e2e.conftest import PASSWORD, PHONE, new_page, shoot, sign_in


def _fits_the_phone(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def test_a_password_can_be_shown_while_typing_and_is_hidden_again_to_send(browser, site):
    site.user("li")
    page = new_page(browser, site, PHONE)
    page.goto("/login")
    page.fill("#username", "li")
    page.fill("#password", PASSWORD)
    toggle = page.locator("#password + .password-toggle")
    assert toggle.inner_text() == "显示" and toggle.get_attribute("aria-pressed") == "false"
    toggle.click()
    assert page.get_attribute("#password", "type") == "text"
    assert toggle.inner_text() == "隐藏" and toggle.get_attribute("aria-pressed") == "true"
    assert _fits_the_phone(page)
    page.click("button[type=submit].primary")
    page.wait_for_url(lambda url: "/login" not in url)
    page.context.close()


def test_two_step_sign_in_from_turning_it_on_to_a_recovery_code_on_a_phone(browser, site):
    site.user("li")
    page = new_page(browser, site, PHONE)
    sign_in(page, "li")
    page.goto("/me")
    page.click("a[href='/me/mfa']")
    assert page.locator(".qr svg").is_visible() and _fits_the_phone(page)
    shoot(page, "phone-two-step-setup")
    secret = page.inner_text("#secret").replace(" ", "")
    page.fill("#code", pyotp.TOTP(secret).now())
    page.click("button[type=submit].primary")
    codes = page.locator("#recovery-codes li").all_inner_texts()
    assert len(codes) == 10 and all(re.fullmatch(r"[a-z2-7]{5}-[a-z2-7]{5}", c) for c in codes)
    assert _fits_the_phone(page)
    page.context.close()

    page = new_page(browser, site, PHONE)
    page.goto("/login")
    page.fill("#username", "li")
    page.fill("#password", PASSWORD)
    page.click("button[type=submit].primary")
    page.wait_for_url(re.compile(r"/login/code"))
    assert _fits_the_phone(page)
    shoot(page, "phone-two-step-code")
    assert page.get_attribute("#code", "inputmode") == "numeric"  # digits for the app's code
    page.click("[data-recovery-code]")  # a recovery code has letters: the full keyboard
    assert page.get_attribute("#code", "inputmode") == "text"
    page.fill("#code", codes[0])
    page.click("button[type=submit].primary")
    page.wait_for_url(lambda url: "/login" not in url)
    page.goto("/me/mfa")
    assert "9" in page.inner_text("main")  # recovery codes left
    page.context.close()
