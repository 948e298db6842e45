"""The brand's calendar: HQ's days, months and campaign dates are China's (Asia/Shanghai),
whatever the time zone of the store a figure comes from."""
from zoneinfo import ZoneInfo

HQ_ZONE = ZoneInfo("Asia/Shanghai")
