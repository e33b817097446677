"""A real SMTP server for tests (aiosmtpd, on 127.0.0.1 and a free port) that keeps what it
accepts, and can refuse, take a login, or hold a conversation at a chosen point so a test
can kill the client there.

A message counts as received when the server answers its DATA with 250, as a real server
takes responsibility for it then; one whose client vanished before that answer is dropped
(aiosmtpd cancels the conversation when the connection closes).
"""

from __future__ import annotations

import asyncio
import socket
import threading
from collections import Counter
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from types import TracebackType
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

#: A held conversation whose client never goes away gives up after this many seconds
#: (refusing the message, so a test that forgot to kill shows it as a failure, not a hang).
HOLD_LIMIT = 60.0


class LocalSmtpServer:
    """Start with ``with LocalSmtpServer() as server:``; point ``SMTP_URL`` at ``server.url``."""

    def __init__(self, *, login: tuple[str, str] | None = None) -> None:
        self._lock = threading.Lock()
        self._received: list[EmailMessage] = []
        self._refusals: list[str] = []
        self._hold_before: int | None = None
        self._hold_after: int | None = None
        self._login = login
        #: Set when a conversation is held (see :meth:`hold_before_accepting`).
        self.held = threading.Event()
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        options: dict[str, Any] = {}
        if login is not None:
            # AUTH offered over plain text: a test server has no certificate.
            options = {"authenticator": self._authenticate, "auth_require_tls": False}
        self._controller = Controller(self, hostname="127.0.0.1", port=self.port, **options)

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    def __enter__(self) -> LocalSmtpServer:
        self._controller.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self._controller.stop()

    # -- what arrived ------------------------------------------------------------------------

    @property
    def received(self) -> list[EmailMessage]:
        with self._lock:
            return list(self._received)

    def message_ids(self) -> Counter[str]:
        """How many times each Message-ID arrived."""
        return Counter(str(message["Message-ID"]) for message in self.received)

    # -- misbehaving -----------------------------------------------------------------------

    def refuse(self, times: int, reply: str = "451 4.3.0 Try again later") -> None:
        """Answer the next ``times`` messages' DATA with ``reply`` (4xx: try later)."""
        with self._lock:
            self._refusals += [reply] * times

    def hold_before_accepting(self, nth: int) -> threading.Event:
        """Hold the conversation carrying the ``nth`` message once its DATA arrived, before
        the server answers: the server has not accepted it, and never will if the client
        dies now. The event is set while held."""
        with self._lock:
            self._hold_before = nth
            self.held.clear()
        return self.held

    def hold_after_accepting(self, nth: int) -> threading.Event:
        """Accept the ``nth`` message, then hold its conversation at the client's QUIT: the
        server owns the message, the client has not finished. The event is set while held."""
        with self._lock:
            self._hold_after = nth
            self.held.clear()
        return self.held

    # -- aiosmtpd's handler hooks ----------------------------------------------------------

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        with self._lock:
            refusal = self._refusals.pop(0) if self._refusals else None
            hold = refusal is None and self._hold_before == len(self._received) + 1
            if hold:
                self._hold_before = None
        if refusal is not None:
            return refusal
        if hold:
            await self._hold()  # cancelled here if the client goes away
            return "451 4.3.0 Held too long"
        message = BytesParser(policy=policy.default).parsebytes(envelope.original_content)
        with self._lock:
            self._received.append(message)  # type: ignore[arg-type]
            if self._hold_after == len(self._received):
                self._hold_after = None
                session.hold_at_quit = True
        return "250 OK"

    async def handle_QUIT(self, server: Any, session: Any, envelope: Any) -> str:
        if getattr(session, "hold_at_quit", False):
            await self._hold()
        return "221 Bye"

    async def _hold(self) -> None:
        self.held.set()
        await asyncio.sleep(HOLD_LIMIT)

    def _authenticate(
        self, server: Any, session: Any, envelope: Any, mechanism: str, data: Any
    ) -> AuthResult:
        assert self._login is not None
        user, password = self._login
        ok = (
            isinstance(data, LoginPassword)
            and data.login.decode() == user
            and data.password.decode() == password
        )
        return AuthResult(success=ok, handled=False)
