"""WeChat official-account template messages: `cgi-bin/token` for the access_token (kept
until shortly before it expires, fetched again when the API calls it invalid), and
`cgi-bin/message/template/send`, each message carrying its id as `client_msg_id`: WeChat
sends one message per openid and client_msg_id within ten minutes, so a send whose
outcome a crash hid may be repeated within that time and no later."""
from __future__ import annotations

import time
from datetime import datetime

import httpx

from services.crm.messages.policy import Channel
from services.crm.messages.providers import Afterwards, Outcome, Outgoing, Receipt, Result

TOKEN_INVALID = {40001, 40014, 42001}
# 45009: the API's daily quota; 45047: too many messages to one user; -1: system busy.
RATE_LIMITED = {45009, 45047, 45011}
BUSY = {-1}
# Not following the account, a wrong openid, a template the account does not have, bad data.
REJECTED = {43004, 43101, 40003, 40036, 40037, 47003, 47001}
TOKEN_MARGIN_SECONDS = 300


class WeChatTemplates:
    channel = Channel.WECHAT

    def __init__(self, url: str, app_id: str, app_secret: str, timeout: float, dedup_seconds: float) -> None:
        self.url, self.app_id, self.app_secret = url.rstrip("/"), app_id, app_secret
        self.dedup_seconds = dedup_seconds
        self._client = httpx.AsyncClient(timeout=timeout)
        self._token: tuple[str, float] | None = None  # (token, monotonic expiry)

    @property
    def configured(self) -> bool:
        return bool(self.url and self.app_id and self.app_secret)

    async def _access_token(self, fresh: bool = False) -> str:
        if not fresh and self._token and self._token[1] > time.monotonic():
            return self._token[0]
        response = await self._client.get(f"{self.url}/cgi-bin/token", params={
            "grant_type": "client_credential", "appid": self.app_id, "secret": self.app_secret})
        body = response.json()
        if "access_token" not in body:
            raise httpx.HTTPError(f"token refused: {body.get('errcode')} {body.get('errmsg')}")
        lifetime = float(body.get("expires_in", 7200)) - TOKEN_MARGIN_SECONDS
        self._token = (body["access_token"], time.monotonic() + max(lifetime, 0))
        return body["access_token"]

    async def send(self, message: Outgoing) -> Result:
        payload: dict = {"touser": message.address, "template_id": message.wechat_template,
                         "data": {name: {"value": value} for name, value in message.fields.items()},
                         "client_msg_id": message.key}
        if message.link:
            payload["url"] = message.link
        try:
            body: dict = {}
            for fresh in (False, True):
                token = await self._access_token(fresh)
                response = await self._client.post(f"{self.url}/cgi-bin/message/template/send",
                                                   params={"access_token": token}, json=payload)
                if response.status_code >= 500:
                    return Result(Outcome.FAILED, error_code=f"HTTP{response.status_code}")
                body = response.json()
                if body.get("errcode") not in TOKEN_INVALID:
                    break
        except (httpx.HTTPError, ValueError) as exc:
            return Result(Outcome.FAILED, error_code="connection", detail=repr(exc))
        code = int(body.get("errcode", -1))
        detail = str(body.get("errmsg", ""))[:500]
        if code == 0:
            return Result(Outcome.ACCEPTED, provider_message_id=str(body.get("msgid", "")) or None)
        if code in RATE_LIMITED:
            return Result(Outcome.RATE_LIMITED, error_code=str(code), detail=detail)
        if code in REJECTED:
            return Result(Outcome.REJECTED, error_code=str(code), detail=detail)
        return Result(Outcome.FAILED, error_code=str(code), detail=detail)

    async def afterwards(self, message: Outgoing, started_at: datetime, now: datetime) -> tuple[Afterwards, str | None]:
        if (now - started_at).total_seconds() < self.dedup_seconds:
            return Afterwards.REPEAT_DROPPED, None
        return Afterwards.UNKNOWN, None

    async def receipt(self, message: Outgoing, sent_at: datetime) -> tuple[Receipt, str | None]:
        # WeChat reports delivery by pushing TEMPLATESENDJOBFINISH to the account's server, which CRM is not.
        return Receipt.PENDING, None

    async def close(self) -> None:
        await self._client.aclose()
