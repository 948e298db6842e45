"""Reference data of the story, in the dealer's words: names, cars, insurers, the
technicians' skills, the parts on the shelf, and what unhappy customers say."""
from __future__ import annotations

from typing import NamedTuple


class CarModel(NamedTuple):
    name: str
    vin_code: str  # the model's letters in the VIN


class Insurer(NamedTuple):
    name: str
    code: str  # prefix of its claim numbers


class StockLine(NamedTuple):
    opening: int  # received before the first day
    reorder_point: int | None  # None: ordered when a car needs it
    reorder_quantity: int | None


class PhonedComplaint(NamedTuple):
    department: str
    severity: str
    description: str


class RoadsideCall(NamedTuple):
    problem: str
    outcome: str  # reception's roadside outcome


SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蒋蔡余杜叶程苏魏吕丁任沈姚卢"
GIVEN = ["伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟", "涛", "明", "超", "秀英",
         "霞", "平", "刚", "桂英", "建华", "志强", "晓东", "海燕", "俊杰", "子涵", "雨萱", "浩然", "欣怡", "文博"]
MODELS = [CarModel("Aurora Sedan 1.5T", "A1"), CarModel("Aurora Sedan 2.0T", "A2"),
          CarModel("Horizon SUV 1.5T", "H1"), CarModel("Horizon SUV 2.0T", "H2"), CarModel("Voyager MPV 2.0T", "V2")]
PLATE_PREFIX = {"Shanghai": "沪", "Beijing": "京", "Guangzhou": "粤A", "Chengdu": "川A", "Kunshan": "苏E",
                "Foshan": "粤E"}
PROVINCE = {"Kunshan": "Jiangsu", "Foshan": "Guangdong", "Shanghai": "Shanghai", "Beijing": "Beijing",
            "Guangzhou": "Guangdong", "Chengdu": "Sichuan"}
VIN_CHARS = "ABCDEFGHJKLMNPRSTUVWXYZ0123456789"
INSURERS = [Insurer("PICC Property and Casualty", "PICC"), Insurer("Ping An Property & Casualty", "PA"),
            Insurer("China Pacific Insurance", "CPIC")]

DEALER_TECHNICIANS = [
    ["maintenance", "tyres", "inspection", "recall", "suspension"],
    ["brakes", "suspension", "tyres", "maintenance", "transmission"],
    ["diagnosis", "electrical", "engine", "transmission", "climate", "recall"],
    ["body", "maintenance", "inspection", "electrical", "climate"],
]
OUTLET_TECHNICIANS = [
    ["maintenance", "brakes", "tyres", "inspection", "recall", "suspension", "body"],
    ["diagnosis", "electrical", "engine", "transmission", "climate", "maintenance", "brakes"],
]
# The fast-moving parts; the big items are ordered when a car needs them.
STOCK = {
    "XB-15400-001": StockLine(40, 15, 30), "XB-08880-430": StockLine(40, 15, 30),
    "XB-17220-010": StockLine(15, 6, 12), "XB-80292-020": StockLine(15, 6, 12),
    "XB-12290-R70": StockLine(24, 8, 16), "XB-45022-F10": StockLine(8, 3, 6),
    "XB-43022-R10": StockLine(6, 2, 4), "XB-45251-D20": StockLine(6, 2, 4),
    "XB-57450-S01": StockLine(2, 1, 2), "XB-31500-B60": StockLine(4, 2, 4),
    "XB-30520-IC1": StockLine(4, 2, 4), "XB-51610-SHF": StockLine(2, 2, 2),
    "XB-80000-YF5": StockLine(10, 4, 10), "XB-08200-ATF": StockLine(24, 12, 24),
    "XB-42751-T18": StockLine(8, 4, 8), "XB-39794-FPR": StockLine(6, 3, 6),
    "XB-76622-WPR": StockLine(6, 2, 6), "XB-19200-WP1": StockLine(1, None, None),
}

VERBATIMS = {
    "reception": ["等了快一个小时才有人接待。", "交车的时候没有讲清楚做了哪些项目。", "预约了还要排队,很失望。",
                  "顾问态度一般,电话也不回。"],
    "parts": ["配件价格比外面贵太多了。", "工时费太高,没有提前说明。", "报价和最后结账的金额不一样。",
              "机油滤芯的价格比去年贵了不少。"],
    "workshop": ["修完以后异响还在。", "车内有油污,没有清洁干净。", "刹车还是有点软,不放心。",
                 "说好下午五点交车,拖到七点。"],
    "store": ["整体体验不太好,下次考虑别的店。", "流程太慢,希望改进。"],
}
RESOLUTIONS = {
    "reception": "Store manager called the customer, apologised; advisor retrained on handover explanation.",
    "parts": "Price list explained; refunded the difference on consumables as goodwill.",
    "workshop": "Car re-inspected by the shop foreman, fault corrected free of charge, road-tested with customer.",
    "store": "Manager visit and apology; 20% voucher for the next maintenance.",
}
PHONED_COMPLAINTS = [
    PhonedComplaint("workshop", "critical",
                    "Customer reports the brake warning light came on the day after the repair; safety concern."),
    PhonedComplaint("workshop", "high", "Customer found a scratch on the door after collecting the car."),
    PhonedComplaint("reception", "high", "Customer was charged for a diagnosis the advisor said would be free."),
    PhonedComplaint("reception", "medium", "Customer waited 40 minutes at check-in despite an appointment."),
]
ROADSIDE_CALLS = [
    RoadsideCall("battery flat, car will not start", "repaired_on_site"),
    RoadsideCall("flat tyre on the ring road", "repaired_on_site"),
    RoadsideCall("engine stalled and will not restart", "towed"),
    RoadsideCall("warning lights on, engine in limp mode", "towed"),
    RoadsideCall("locked keys in the car", "referred"),
    RoadsideCall("out of fuel", "customer_cancelled"),
]
ROADSIDE_ADDRESSES = ["Middle Ring Rd, km 12", "Expressway G2, exit 18", "Century Ave 88", "Huaxia Rd car park"]
