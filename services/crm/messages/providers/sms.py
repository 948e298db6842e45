"""SMS through Aliyun's SMS API (dysmsapi, version 2017-05-25): SendSms, and QuerySendDetails
both for delivery receipts and to learn, after a crash, whether a send reached it (each
message carries its id as `OutId`, which QuerySendDetails reports back).

The API is Aliyun's RPC style: form parameters signed with HMAC-SHA1 over the sorted,
percent-encoded parameters. Its SDK brings a runtime and HTTP stack of its own for two calls
that are a signed form post each, so this signs them itself (`signature`)."""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import uuid
from datetime import UTC, datetime
from urllib.parse import quote
from zoneinfo import ZoneInfo

import httpx

from services.crm.messages.policy import Channel
from services.crm.messages.providers import Afterwards, Outcome, Outgoing, Receipt, Result

VERSION = "2017-05-25"
# The provider's day, in which QuerySendDetails files a message.
PROVIDER_ZONE = ZoneInfo("Asia/Shanghai")
# Codes that mean "not now": the provider's flow control per number, account or second.
THROTTLED = {"isv.BUSINESS_LIMIT_CONTROL", "isv.DAY_LIMIT_CONTROL", "Throttling", "Throttling.User",
             "Throttling.Api", "isv.OUT_OF_SERVICE"}
DELIVERED, UNDELIVERED = 3, 2  # SmsSendDetailDTO.SendStatus (1: waiting for the carrier)


def _encode(value: str) -> str:
    return quote(value, safe="-_.~")


def signature(params: dict[str, str], secret: str, method: str = "POST") -> str:
    canonical = "&".join(f"{_encode(k)}={_encode(v)}" for k, v in sorted(params.items()))
    to_sign = f"{method}&{_encode('/')}&{_encode(canonical)}"
    digest = hmac.new(f"{secret}&".encode(), to_sign.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


class AliyunSms:
    channel = Channel.SMS

    def __init__(self, url: str, access_key_id: str, access_key_secret: str, sign_name: str, timeout: float) -> None:
        self.url, self.key_id, self.secret, self.sign_name = url, access_key_id, access_key_secret, sign_name
        self._client = httpx.AsyncClient(timeout=timeout)

    @property
    def configured(self) -> bool:
        return bool(self.url and self.key_id and self.secret)

    async def _call(self, action: str, **params: str) -> tuple[int, dict]:
        signed = {
            "Action": action, "Version": VERSION, "Format": "JSON", "AccessKeyId": self.key_id,
            "SignatureMethod": "HMAC-SHA1", "SignatureVersion": "1.0", "SignatureNonce": uuid.uuid4().hex,
            "Timestamp": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"), **params,
        }
        signed["Signature"] = signature(signed, self.secret)
        response = await self._client.post(self.url, data=signed)
        try:
            body = response.json()
        except ValueError:
            body = {"Code": f"HTTP{response.status_code}", "Message": response.text[:200]}
        return response.status_code, body

    async def send(self, message: Outgoing) -> Result:
        try:
            status, body = await self._call(
                "SendSms", PhoneNumbers=message.address, SignName=self.sign_name, TemplateCode=message.sms_template,
                TemplateParam=json.dumps(message.variables, ensure_ascii=False), OutId=message.key)
        except httpx.HTTPError as exc:
            return Result(Outcome.FAILED, error_code="connection", detail=repr(exc))
        code = str(body.get("Code", ""))
        if code == "OK":
            return Result(Outcome.ACCEPTED, provider_message_id=body.get("BizId"))
        detail = str(body.get("Message", ""))[:500]
        if code in THROTTLED or status == 429:
            return Result(Outcome.RATE_LIMITED, error_code=code, detail=detail)
        if status >= 500 or code.startswith("isp.") or code.startswith("HTTP"):
            return Result(Outcome.FAILED, error_code=code, detail=detail)
        return Result(Outcome.REJECTED, error_code=code, detail=detail)

    async def _details(self, phone: str, day: datetime, biz_id: str | None = None) -> list[dict]:
        params = {"PhoneNumber": phone, "SendDate": day.astimezone(PROVIDER_ZONE).strftime("%Y%m%d"),
                  "PageSize": "50", "CurrentPage": "1"}
        if biz_id:
            params["BizId"] = biz_id
        status, body = await self._call("QuerySendDetails", **params)
        if body.get("Code") != "OK":
            raise httpx.HTTPError(f"QuerySendDetails answered {status} {body.get('Code')}: {body.get('Message')}")
        return list((body.get("SmsSendDetailDTOs") or {}).get("SmsSendDetailDTO") or [])

    async def afterwards(self, message: Outgoing, started_at: datetime, now: datetime) -> tuple[Afterwards, str | None]:
        # The send was filed on the provider's day it arrived: the day it started, or the next.
        days = {started_at.astimezone(PROVIDER_ZONE).date(): started_at, now.astimezone(PROVIDER_ZONE).date(): now}
        for instant in days.values():
            for detail in await self._details(message.address, instant):
                if detail.get("OutId") == message.key:
                    return Afterwards.ACCEPTED, detail.get("BizId")
        return Afterwards.NOT_SENT, None

    async def receipt(self, message: Outgoing, sent_at: datetime) -> tuple[Receipt, str | None]:
        for detail in await self._details(message.address, sent_at, message.provider_message_id):
            if detail.get("OutId") in (message.key, None):
                if int(detail.get("SendStatus", 1)) == DELIVERED:
                    return Receipt.DELIVERED, None
                if int(detail.get("SendStatus", 1)) == UNDELIVERED:
                    return Receipt.FAILED, str(detail.get("ErrCode") or "undelivered")
        return Receipt.PENDING, None

    async def close(self) -> None:
        await self._client.aclose()
