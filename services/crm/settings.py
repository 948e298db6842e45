from pydantic import Field
from pydantic_settings import SettingsConfigDict

from services.common.settings import PlatformSettings


class CrmSettings(PlatformSettings):
    model_config = SettingsConfigDict(env_prefix="CRM_", extra="ignore", populate_by_name=True)

    service_name: str = "crm"
    port: int = 8103
    # A maintenance reminder nobody acted on stops being a reminder this long after its due date.
    reminder_expire_after_days: int = Field(default=30, ge=1, le=365)

    # Customer messages (services/crm/messages). A provider without a URL (or SMTP host) is
    # off: its channel is skipped and a message falls to the next channel the customer allows.
    messages_sms_url: str = ""  # Aliyun SMS's RPC endpoint (dysmsapi), SendSms and QuerySendDetails
    messages_sms_access_key_id: str = ""
    messages_sms_access_key_secret: str = ""
    messages_sms_sign_name: str = ""  # the signature registered with the provider, e.g. 【某某汽车服务】
    messages_wechat_url: str = ""  # the official account API's base, e.g. https://api.weixin.qq.com
    messages_wechat_app_id: str = ""
    messages_wechat_app_secret: str = ""
    messages_smtp_host: str = ""
    messages_smtp_port: int = Field(default=25, ge=1, le=65535)
    messages_smtp_username: str = ""
    messages_smtp_password: str = ""
    messages_smtp_starttls: bool = False
    messages_email_from: str = "service@dealer.example"
    # Where a customer approves an estimate, with {repair_order_id}; empty: messages carry no link.
    messages_estimate_link: str = ""
    # The sender: how often it looks for due messages when idle, how many it sends at once.
    messages_poll_seconds: float = Field(default=1.0, gt=0, le=300)
    messages_concurrency: int = Field(default=4, ge=1, le=64)
    # A provider call that takes longer than this has failed (and is retried): no call outlives it.
    messages_provider_timeout_seconds: float = Field(default=10.0, gt=0, le=120)
    # Retries of a channel that failed for a reason that may pass (rate limit, outage):
    # base * 2^(n-1) seconds after the n-th failure, at most max; then the next channel.
    messages_max_attempts: int = Field(default=5, ge=1, le=20)
    messages_backoff_seconds: float = Field(default=30.0, gt=0, le=3600)
    messages_backoff_max_seconds: float = Field(default=3600.0, gt=0, le=86400)
    # No marketing between these store-local hours (from, until); service messages go at any hour.
    messages_quiet_from: str = "21:00"
    messages_quiet_until: str = "09:00"
    # The day-before reminder of a booking goes out at this store-local time.
    messages_reminder_time: str = "10:00"
    # WeChat drops a second template message with the same client_msg_id for this long after
    # the first, so a send whose outcome a crash hid may be repeated safely only within it.
    messages_wechat_dedup_seconds: float = Field(default=600.0, ge=0, le=600)
