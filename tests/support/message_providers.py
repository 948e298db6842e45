"""The message providers' stand-ins (deploy/messaging.py) in a test's own process: a real
SMTP server and the SMS/WeChat HTTP server on free ports, what arrived, and what to answer
next (`recorder.plan`) or do as a message arrives (`recorder.on_arrival`)."""
from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from deploy.messaging import (
    SMS_KEY_ID,
    SMS_KEY_SECRET,
    WECHAT_APP_ID,
    WECHAT_APP_SECRET,
    MailStandIn,
    ProviderStandIn,
    Recorder,
    crm_environment,
)
from deploy.processes import HOST


@dataclass
class StandIns:
    recorder: Recorder
    http: ProviderStandIn
    mail: MailStandIn

    def settings(self) -> dict[str, Any]:
        """CrmSettings keyword arguments that send to these stand-ins."""
        return dict(messages_sms_url=f"{self.http.url}/sms", messages_sms_access_key_id=SMS_KEY_ID,
                    messages_sms_access_key_secret=SMS_KEY_SECRET, messages_sms_sign_name="汽车服务",
                    messages_wechat_url=self.http.url, messages_wechat_app_id=WECHAT_APP_ID,
                    messages_wechat_app_secret=WECHAT_APP_SECRET, messages_smtp_host=HOST,
                    messages_smtp_port=self.mail.port)

    def environment(self) -> dict[str, str]:
        """The same, as a CRM process's environment."""
        return crm_environment(self.http.url, self.mail.port)

    def arrived(self, channel: str) -> list:
        return self.recorder.of(channel)


@asynccontextmanager
async def stand_ins() -> AsyncIterator[StandIns]:
    recorder = Recorder()
    http = ProviderStandIn(recorder)
    await http.start()
    mail = MailStandIn(recorder)
    mail.start()
    try:
        yield StandIns(recorder, http, mail)
    finally:
        mail.stop()
        await http.stop()
