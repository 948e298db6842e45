"""Stand-ins for the message providers, for `make run`, `make demo` and the tests: an SMTP
server (aiosmtpd) and one HTTP server answering as Aliyun's SMS API (SendSms and
QuerySendDetails, signed requests checked) and as a WeChat official account's API
(cgi-bin/token and message/template/send, with client_msg_id honoured for ten minutes).

They keep what arrived, answer like the providers, and can be told to fail, to rate-limit
or to do something as a message arrives (the tests kill a sender there). What arrived is
at GET /_stand-in/arrived, with each channel's count and its duplicates (a message id that
arrived more than once); POST /_stand-in/behaviour sets the next answers.

    python -m deploy.messaging [--http-port 8190] [--smtp-port 8025]
"""
from __future__ import annotations

import argparse
import asyncio
import base64
import hashlib
import hmac
import itertools
import json
import secrets
import signal
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email import message_from_bytes, policy
from typing import Any
from urllib.parse import quote

from aiohttp import web
from aiosmtpd.controller import Controller

from deploy.processes import HOST

SMS_KEY_ID = "stand-in-key"
SMS_KEY_SECRET = "stand-in-secret"
WECHAT_APP_ID = "wx-stand-in"
WECHAT_APP_SECRET = "stand-in-app-secret"
WECHAT_REPEAT_SECONDS = 600


@dataclass
class Arrival:
    channel: str  # sms | wechat | email
    key: str  # the sender's message id: OutId, client_msg_id, Message-ID
    address: str
    payload: dict[str, Any]
    at: float = field(default_factory=time.time)


Hook = Callable[[Arrival], None]


class Recorder:
    """What arrived on every channel, and what to answer next. Thread-safe: the SMTP server
    answers on a thread of its own."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.arrivals: list[Arrival] = []
        self.calls: Counter[str] = Counter()  # every call, answered well or not
        self.plans: dict[str, list[str]] = {"sms": [], "wechat": [], "email": []}
        self.hooks: dict[str, Hook | None] = {"sms": None, "wechat": None, "email": None}
        self.undelivered: set[str] = set()  # phone numbers whose SMS the carrier reports failed

    def plan(self, channel: str, *answers: str) -> None:
        """The next answers on a channel, one per call: SMS codes ("isv.BUSINESS_LIMIT_CONTROL"),
        WeChat errcodes ("45009"), SMTP replies ("451 4.3.0 try later"); "ok" answers as usual."""
        with self._lock:
            self.plans[channel].extend(answers)

    def next_answer(self, channel: str) -> str:
        with self._lock:
            self.calls[channel] += 1
            return self.plans[channel].pop(0) if self.plans[channel] else "ok"

    def arrive(self, arrival: Arrival) -> None:
        with self._lock:
            self.arrivals.append(arrival)
            hook = self.hooks.get(arrival.channel)
        if hook is not None:
            hook(arrival)

    def on_arrival(self, channel: str, hook: Hook | None) -> None:
        with self._lock:
            self.hooks[channel] = hook

    def of(self, channel: str) -> list[Arrival]:
        with self._lock:
            return [a for a in self.arrivals if a.channel == channel]

    def summary(self) -> dict[str, Any]:
        with self._lock:
            arrivals = list(self.arrivals)
        result: dict[str, Any] = {}
        for channel in ("sms", "wechat", "email"):
            keys = Counter(a.key for a in arrivals if a.channel == channel)
            result[channel] = {"arrived": sum(keys.values()), "messages": len(keys),
                               "duplicates": sum(n - 1 for n in keys.values()), "calls": self.calls[channel]}
        return result


# --- SMS, as Aliyun's RPC API -------------------------------------------------------------

def _encode(value: str) -> str:
    return quote(value, safe="-_.~")


def aliyun_signature(params: dict[str, str], secret: str, method: str) -> str:
    canonical = "&".join(f"{_encode(k)}={_encode(v)}" for k, v in sorted(params.items()) if k != "Signature")
    to_sign = f"{method}&{_encode('/')}&{_encode(canonical)}"
    return base64.b64encode(hmac.new(f"{secret}&".encode(), to_sign.encode(), hashlib.sha1).digest()).decode()


class ProviderStandIn:
    """The HTTP stand-in: Aliyun SMS at /sms (and /), WeChat at /cgi-bin/..."""

    def __init__(self, recorder: Recorder) -> None:
        self.recorder = recorder
        self._biz_ids = itertools.count(100000)
        self._tokens: set[str] = set()
        self._wechat_seen: dict[tuple[str, str], float] = {}
        self.app = web.Application()
        self.app.router.add_post("/", self.sms)
        self.app.router.add_post("/sms", self.sms)
        self.app.router.add_get("/cgi-bin/token", self.wechat_token)
        self.app.router.add_post("/cgi-bin/message/template/send", self.wechat_send)
        self.app.router.add_get("/_stand-in/arrived", self.arrived)
        self.app.router.add_post("/_stand-in/behaviour", self.behaviour)
        self._runner: web.AppRunner | None = None
        self.port = 0

    async def start(self, port: int = 0, host: str = HOST) -> None:
        self._runner = web.AppRunner(self.app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port)
        await site.start()
        server = site._server
        assert server is not None and server.sockets  # type: ignore[attr-defined]
        self.port = server.sockets[0].getsockname()[1]  # type: ignore[attr-defined]

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    async def sms(self, request: web.Request) -> web.Response:
        params = {k: v for k, v in (await request.post()).items() if isinstance(v, str)}
        if params.get("AccessKeyId") != SMS_KEY_ID:
            return web.json_response({"Code": "InvalidAccessKeyId.NotFound", "Message": "no such key"}, status=404)
        if params.get("Signature") != aliyun_signature(params, SMS_KEY_SECRET, request.method):
            return web.json_response({"Code": "SignatureDoesNotMatch", "Message": "bad signature"}, status=400)
        request_id = secrets.token_hex(8)
        if params.get("Action") == "QuerySendDetails":
            return web.json_response(self._details(params, request_id))
        if params.get("Action") != "SendSms":
            return web.json_response({"Code": "InvalidAction.NotFound", "RequestId": request_id}, status=404)
        answer = self.recorder.next_answer("sms")
        if answer != "ok":
            status = 500 if answer.startswith("isp.") else 200
            return web.json_response({"Code": answer, "Message": f"stand-in answers {answer}",
                                      "RequestId": request_id}, status=status)
        biz_id = f"{next(self._biz_ids)}^0"
        self.recorder.arrive(Arrival("sms", params.get("OutId", ""), params.get("PhoneNumbers", ""), {
            "sign_name": params.get("SignName"), "template": params.get("TemplateCode"),
            "params": json.loads(params.get("TemplateParam") or "{}"), "biz_id": biz_id}))
        return web.json_response({"Code": "OK", "Message": "OK", "BizId": biz_id, "RequestId": request_id})

    def _details(self, params: dict[str, str], request_id: str) -> dict:
        phone, day = params.get("PhoneNumber", ""), params.get("SendDate", "")
        rows = []
        for arrival in self.recorder.of("sms"):
            sent = datetime.fromtimestamp(arrival.at, UTC).astimezone()
            if arrival.address != phone or (params.get("BizId") and arrival.payload["biz_id"] != params["BizId"]):
                continue
            rows.append({"PhoneNum": phone, "OutId": arrival.key, "TemplateCode": arrival.payload["template"],
                         "SendStatus": 2 if phone in self.recorder.undelivered else 3,
                         "ErrCode": "MOBILE_NOT_ON_SERVICE" if phone in self.recorder.undelivered else "DELIVERED",
                         "SendDate": f"{sent:%Y-%m-%d %H:%M:%S}", "BizId": arrival.payload["biz_id"]})
        return {"Code": "OK", "Message": "OK", "RequestId": request_id, "TotalCount": len(rows), "SendDate": day,
                "SmsSendDetailDTOs": {"SmsSendDetailDTO": rows}}

    async def wechat_token(self, request: web.Request) -> web.Response:
        if request.query.get("appid") != WECHAT_APP_ID or request.query.get("secret") != WECHAT_APP_SECRET:
            return web.json_response({"errcode": 40013, "errmsg": "invalid appid"})
        token = secrets.token_urlsafe(24)
        self._tokens.add(token)
        return web.json_response({"access_token": token, "expires_in": 7200})

    async def wechat_send(self, request: web.Request) -> web.Response:
        if request.query.get("access_token") not in self._tokens:
            return web.json_response({"errcode": 40001, "errmsg": "invalid credential, access_token is invalid"})
        body = await request.json()
        answer = self.recorder.next_answer("wechat")
        if answer != "ok":
            return web.json_response({"errcode": int(answer), "errmsg": f"stand-in answers {answer}"})
        openid, key = body.get("touser", ""), body.get("client_msg_id") or ""
        msgid = next(self._biz_ids)
        seen = self._wechat_seen.get((openid, key))
        if key and seen is not None and time.time() - seen < WECHAT_REPEAT_SECONDS:
            return web.json_response({"errcode": 0, "errmsg": "ok", "msgid": msgid})  # a repeat: not sent again
        self._wechat_seen[(openid, key)] = time.time()
        self.recorder.arrive(Arrival("wechat", key, openid, {"template_id": body.get("template_id"),
                                                             "data": body.get("data"), "url": body.get("url")}))
        return web.json_response({"errcode": 0, "errmsg": "ok", "msgid": msgid})

    async def arrived(self, request: web.Request) -> web.Response:
        return web.json_response(self.recorder.summary())

    async def behaviour(self, request: web.Request) -> web.Response:
        """{"sms": ["isv.BUSINESS_LIMIT_CONTROL"], "wechat": ["45009"], "email": ["451 4.3.0 later"]}"""
        body = await request.json()
        for channel in ("sms", "wechat", "email"):
            self.recorder.plan(channel, *[str(a) for a in body.get(channel, [])])
        return web.json_response(self.recorder.summary())


# --- email ---------------------------------------------------------------------------------

class _MailHandler:
    def __init__(self, recorder: Recorder) -> None:
        self.recorder = recorder

    async def handle_DATA(self, server, session, envelope) -> str:  # noqa: N802 (aiosmtpd's name)
        answer = self.recorder.next_answer("email")
        if answer != "ok":
            return answer
        mail = message_from_bytes(envelope.content, policy=policy.default)
        body = mail.get_body(preferencelist=("plain",))
        for to in envelope.rcpt_tos:
            self.recorder.arrive(Arrival("email", str(mail.get("Message-ID", "")).strip("<>").split("@")[0], to, {
                "from": envelope.mail_from, "subject": str(mail.get("Subject", "")),
                "text": body.get_content() if body is not None else ""}))
        return "250 OK"


class MailStandIn:
    def __init__(self, recorder: Recorder, port: int = 0, host: str = HOST) -> None:
        from deploy.processes import free_port

        self.port = port or free_port(host)
        self.controller = Controller(_MailHandler(recorder), hostname=host, port=self.port)

    def start(self) -> None:
        self.controller.start()

    def stop(self) -> None:
        self.controller.stop()


def crm_environment(http_url: str, smtp_port: int) -> dict[str, str]:
    """CRM's settings that send to these stand-ins."""
    return {
        "CRM_MESSAGES_SMS_URL": f"{http_url}/sms", "CRM_MESSAGES_SMS_ACCESS_KEY_ID": SMS_KEY_ID,
        "CRM_MESSAGES_SMS_ACCESS_KEY_SECRET": SMS_KEY_SECRET, "CRM_MESSAGES_SMS_SIGN_NAME": "汽车服务",
        "CRM_MESSAGES_WECHAT_URL": http_url, "CRM_MESSAGES_WECHAT_APP_ID": WECHAT_APP_ID,
        "CRM_MESSAGES_WECHAT_APP_SECRET": WECHAT_APP_SECRET,
        "CRM_MESSAGES_SMTP_HOST": HOST, "CRM_MESSAGES_SMTP_PORT": str(smtp_port),
    }


async def _serve(http_port: int, smtp_port: int) -> None:
    recorder = Recorder()
    http = ProviderStandIn(recorder)
    await http.start(http_port)
    mail = MailStandIn(recorder, smtp_port)
    mail.start()
    print(f"message stand-ins: SMS and WeChat {http.url}, SMTP {HOST}:{mail.port}, "
          f"what arrived {http.url}/_stand-in/arrived", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        mail.stop()
        await http.stop()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m deploy.messaging", description=__doc__.splitlines()[0])
    parser.add_argument("--http-port", type=int, default=8190, help="SMS and WeChat (default 8190)")
    parser.add_argument("--smtp-port", type=int, default=8025, help="SMTP (default 8025)")
    args = parser.parse_args(argv)
    asyncio.run(_serve(args.http_port, args.smtp_port))


if __name__ == "__main__":
    main()
