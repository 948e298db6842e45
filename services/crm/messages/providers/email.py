"""Email over SMTP (aiosmtplib). The message's id is its Message-ID. SMTP has no way to ask
a server afterwards whether it took a message, so a send whose outcome a crash hid is not
repeated: at most once."""
from __future__ import annotations

from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime

import aiosmtplib

from services.crm.messages.policy import Channel
from services.crm.messages.providers import Afterwards, Outcome, Outgoing, Receipt, Result

MESSAGE_ID_DOMAIN = "crm.aftersales"


def message_id(key: str) -> str:
    return f"<{key}@{MESSAGE_ID_DOMAIN}>"


class SmtpEmail:
    channel = Channel.EMAIL

    def __init__(self, host: str, port: int, username: str, password: str, starttls: bool, sender: str,
                 timeout: float) -> None:
        self.host, self.port, self.username, self.password = host, port, username, password
        self.starttls, self.sender, self.timeout = starttls, sender, timeout

    @property
    def configured(self) -> bool:
        return bool(self.host)

    def compose(self, message: Outgoing, now: datetime) -> EmailMessage:
        mail = EmailMessage()
        mail["From"] = self.sender
        mail["To"] = message.address
        mail["Subject"] = message.title
        mail["Message-ID"] = message_id(message.key)
        mail["Date"] = format_datetime(now)
        mail.set_content(message.text)
        return mail

    async def send(self, message: Outgoing) -> Result:
        mail = self.compose(message, datetime.now().astimezone())
        try:
            await aiosmtplib.send(mail, hostname=self.host, port=self.port, username=self.username or None,
                                  password=self.password or None, start_tls=self.starttls, timeout=self.timeout)
        except aiosmtplib.SMTPRecipientsRefused as exc:
            return Result(Outcome.REJECTED, error_code="recipient_refused", detail=str(exc)[:500])
        except aiosmtplib.SMTPResponseException as exc:
            # 4xx: the server may take it later; 5xx: it will not.
            outcome = Outcome.FAILED if 400 <= exc.code < 500 else Outcome.REJECTED
            return Result(outcome, error_code=str(exc.code), detail=exc.message[:500])
        except (aiosmtplib.SMTPException, OSError) as exc:
            return Result(Outcome.FAILED, error_code="connection", detail=repr(exc)[:500])
        return Result(Outcome.ACCEPTED, provider_message_id=message_id(message.key))

    async def afterwards(self, message: Outgoing, started_at: datetime, now: datetime) -> tuple[Afterwards, str | None]:
        return Afterwards.UNKNOWN, None

    async def receipt(self, message: Outgoing, sent_at: datetime) -> tuple[Receipt, str | None]:
        return Receipt.PENDING, None

    async def close(self) -> None:
        return None
