"""aiosmtpd's SMTP session with a fast path for the plain `<local@domain>` address of MAIL FROM and RCPT TO."""

from __future__ import annotations

import re
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP

#: `<dot-atom@domain>` then, after spaces, the rest (mail parameters): what aiosmtpd's `_getaddr` reads through the
#: e-mail header parser (`get_angle_addr`, ~0.3 ms a message: a tenth of the receiver's time in a burst), which
#: returns for such an address the same (address, rest). Anything else — quotes, comments, routes, literals, the
#: null sender `<>` — still goes through the parser (tests/alerts/test_smtp_session.py compares both).
_ATEXT = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_PLAIN = re.compile(rf"[ \t]*<({_ATEXT}(?:\.{_ATEXT})*@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*)>[ \t]*(?![ \t(])(.*)",
                    re.DOTALL)


class PlainAddressSMTP(SMTP):
    """An SMTP session whose address parsing takes the plain form without the header parser."""

    def _getaddr(self, arg: str) -> tuple[str | None, str | None]:
        found = _PLAIN.fullmatch(arg) if arg else None
        if found is None:
            return super()._getaddr(arg)
        address, rest = found.group(1), found.group(2)
        if self.local_part_limit and len(address.rpartition("@")[0]) > self.local_part_limit:
            return None, None
        return address, rest


class AlertController(Controller):
    """aiosmtpd's threaded controller serving PlainAddressSMTP sessions."""

    def factory(self) -> Any:
        return PlainAddressSMTP(self.handler, **self.SMTP_kwargs)
