"""SMTP_URL and sending one message, against a real SMTP server."""

from __future__ import annotations

import smtplib
from email.message import EmailMessage
from pathlib import Path
from urllib.parse import quote

import pytest

from formflow import Config
from formflow.mail.smtp import MailNotConfigured, SmtpServer, parse_url, send
from tests.support.smtp import LocalSmtpServer

SECRET = "s3cret:p@ss/word"


def config(smtp_url: str | None) -> Config:
    return Config(instance_path=Path("/tmp"), database_url="sqlite://", smtp_url=smtp_url)


def hello(to: str = "max@example.com") -> EmailMessage:
    message = EmailMessage()
    message["From"] = "formflow@example.com"
    message["To"] = to
    message["Subject"] = "hello"
    message.set_content("hello")
    return message


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        (f"http://mailer:{SECRET}@mail.example.com", "unknown scheme 'http'"),
        ("mail.example.com:25", "unknown scheme 'mail.example.com'"),
        ("//mail.example.com", "no scheme"),
        (f"smtp://mailer:{quote(SECRET, safe='')}@", "names no host"),
        ("smtp://mail.example.com:twenty-five", "port is not a number"),
        ("smtps://mail.example.com?starttls=1", "TLS already"),
        ("smtp://mail.example.com?tls=1", "unknown option 'tls'"),
    ],
)
def test_a_bad_smtp_url_says_what_is_wrong_without_repeating_its_password(url, problem):
    with pytest.raises(ValueError, match=problem) as raised:
        parse_url(url)
    assert "SMTP_URL" in str(raised.value)
    assert "s3cret" not in str(raised.value)


def test_an_smtp_url_gives_host_port_tls_and_a_percent_decoded_login():
    assert parse_url("smtp://mail.example.com") == SmtpServer("mail.example.com", 25)
    assert parse_url("smtps://mail.example.com") == SmtpServer("mail.example.com", 465, tls=True)
    assert parse_url(
        f"smtp://me%40example.com:{quote(SECRET, safe='')}@mail.example.com:587?starttls=1"
    ) == SmtpServer("mail.example.com", 587, starttls=True, user="me@example.com", password=SECRET)
    assert SECRET not in repr(parse_url(f"smtp://me:{quote(SECRET, safe='')}@mail.example.com"))


def test_sending_without_smtp_url_says_it_is_not_set():
    with pytest.raises(MailNotConfigured, match="SMTP_URL is not set: email cannot be sent"):
        send(config(None), hello())


def test_sending_logs_in_with_the_user_and_password_the_url_gives():
    with LocalSmtpServer(login=("mailer", SECRET)) as server:
        wrong = server.url.replace("//", "//mailer:wrong@")
        with pytest.raises(smtplib.SMTPAuthenticationError):
            send(config(wrong), hello())
        assert server.received == []
        right = server.url.replace("//", f"//mailer:{quote(SECRET, safe='')}@")
        send(config(right), hello())
        assert [message["To"] for message in server.received] == ["max@example.com"]


def test_a_refusal_is_raised_and_nothing_is_kept(smtp_server):
    smtp_server.refuse(1)
    with pytest.raises(smtplib.SMTPDataError, match="Try again later"):
        send(config(smtp_server.url), hello())
    send(config(smtp_server.url), hello())
    assert len(smtp_server.received) == 1
