"""Demo data: ``formflow seed-demo`` fills an empty installation with a believable company.

A sales organisation (two regions, four teams, thirty reps, their managers and directors, a
sales VP and finance) and eighteen months of its history: customers, contacts, follow-ups,
opportunities with their stage history, quotations priced from the product catalogue,
contracts and payments — with a few quotations waiting in the managers' approval inboxes.

Everything comes from ``random.Random(seed)`` and the runtime's clock, so a seed gives the
same company on every database. The records go through the engine's record service
(validated, formulas computed, serial numbers drawn, revisions written) in a few large units
of work with the shipped automations quiet; the values those automations would have kept
(a customer's last and next follow-up, deal amount, grade and status) are written by the
loader, from the same rules (:mod:`sales_performance.functions`).
"""

from __future__ import annotations

import datetime as dt
import functools
import itertools
import random
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

import click
from sqlalchemy import bindparam, select, update

from formflow import Config, Conflict, FieldError, FormflowError, NotFound, Runtime, Work
from formflow.automations import service as automations
from formflow.automations import timing
from formflow.automations.triggers import QUIET
from formflow.definitions.service import LoadedForm, get_form
from formflow.flows import actions as flows
from formflow.people import service as people
from formflow.people.models import User
from formflow.permissions.service import replace_grants
from formflow.records import service as records
from formflow.records.models import Record, Revision
from formflow.records.prepare import from_document

from .functions import APP, grade_of, grading_rules, signed_amounts

DEFAULT_SEED = 2026
#: Every demo person signs in with it (printed once, at the end of the run).
DEMO_PASSWORD = "formflow-demo"
#: Records per unit of work: large enough that commits cost nothing, small enough that a
#: unit's memo and session stay small.
CHUNK = 5000
QUOTE_FLOW = f"{APP}.quote_approval"

#: The forms the demo fills, in the order they are loaded (a record after those it links to).
FORMS = {
    "customer": "customers",
    "contact": "contacts",
    "opportunity": "opportunities",
    "follow_up": "follow-ups",
    "quotation": "quotations",
    "contract": "contracts",
    "payment": "payments",
}

#: At scale 1.
CUSTOMERS = 5000
FOLLOW_UPS = 50000
OPPORTUNITIES = 3000
QUOTATIONS = 1500
IN_APPROVAL_SHARE = 0.05
#: How far back the history goes (18 months), and customers a little further.
HISTORY_DAYS = 548
OLDEST_CUSTOMER_DAYS = 730


# -- the company --------------------------------------------------------------------------

COMPANY = "星海科技"
FINANCE_DEPARTMENT = "财务部"
REGIONS = (("east", "华东大区"), ("south", "华南大区"))
#: (team, region, reps)
TEAMS = (
    ("华东一组", "east", 8),
    ("华东二组", "east", 7),
    ("华南一组", "south", 8),
    ("华南二组", "south", 7),
)

SURNAMES = (
    ("王", "wang"), ("李", "li"), ("张", "zhang"), ("刘", "liu"), ("陈", "chen"),
    ("杨", "yang"), ("黄", "huang"), ("赵", "zhao"), ("吴", "wu"), ("周", "zhou"),
    ("徐", "xu"), ("孙", "sun"), ("马", "ma"), ("朱", "zhu"), ("胡", "hu"),
    ("郭", "guo"), ("何", "he"), ("林", "lin"), ("罗", "luo"), ("高", "gao"),
    ("郑", "zheng"), ("梁", "liang"), ("谢", "xie"), ("宋", "song"), ("唐", "tang"),
    ("韩", "han"), ("冯", "feng"), ("邓", "deng"), ("曹", "cao"), ("彭", "peng"),
    ("曾", "zeng"), ("田", "tian"), ("董", "dong"), ("潘", "pan"), ("袁", "yuan"),
    ("蔡", "cai"), ("蒋", "jiang"), ("余", "yu"), ("杜", "du"), ("叶", "ye"),
    ("程", "cheng"), ("魏", "wei"), ("苏", "su"), ("丁", "ding"), ("沈", "shen"),
)  # fmt: skip
GIVEN = (
    ("伟", "wei"), ("芳", "fang"), ("娜", "na"), ("敏", "min"), ("静", "jing"),
    ("丽", "li"), ("强", "qiang"), ("磊", "lei"), ("军", "jun"), ("洋", "yang"),
    ("勇", "yong"), ("艳", "yan"), ("杰", "jie"), ("娟", "juan"), ("涛", "tao"),
    ("明", "ming"), ("超", "chao"), ("霞", "xia"), ("平", "ping"), ("刚", "gang"),
    ("婷", "ting"), ("浩", "hao"), ("宇", "yu"), ("鑫", "xin"), ("晨", "chen"),
    ("悦", "yue"), ("佳", "jia"), ("思", "si"), ("博", "bo"), ("文", "wen"),
    ("凯", "kai"), ("琳", "lin"), ("颖", "ying"), ("倩", "qian"), ("斌", "bin"),
    ("辉", "hui"), ("鹏", "peng"), ("飞", "fei"), ("华", "hua"), ("建", "jian"),
    ("志", "zhi"), ("峰", "feng"), ("蕾", "lei"), ("瑶", "yao"), ("睿", "rui"),
    ("航", "hang"), ("嘉", "jia"), ("俊", "jun"), ("晓", "xiao"), ("海", "hai"),
    ("帆", "fan"), ("楠", "nan"), ("雪", "xue"), ("欣", "xin"), ("彤", "tong"),
)  # fmt: skip

# -- the catalogue ------------------------------------------------------------------------


class Product(NamedTuple):
    code: str
    name: str
    line: str
    list_price: int
    min_price: int
    #: Quantities a small customer buys; bigger ones buy more (see SIZE_FACTOR).
    quantity: tuple[int, int]


PRODUCTS = (
    Product("HW-G100", "智能网关 G100", "hardware", 6800, 5800, (1, 6)),
    Product("HW-E200", "边缘计算服务器 E200", "hardware", 48000, 42000, (1, 2)),
    Product("HW-S24", "工业交换机 S24", "hardware", 9600, 8200, (1, 6)),
    Product("HW-W6", "企业级无线AP W6", "hardware", 2400, 2000, (4, 20)),
    Product("HW-F500", "下一代防火墙 F500", "hardware", 36000, 31000, (1, 2)),
    Product("HW-N800", "存储阵列 N800", "hardware", 128000, 110000, (1, 1)),
    Product("HW-T10", "门禁考勤终端 T10", "hardware", 3200, 2700, (2, 12)),
    Product("SW-OA", "协同办公平台 标准版", "software", 60000, 51000, (1, 1)),
    Product("SW-CRM", "客户管理系统 CRM 专业版", "software", 88000, 75000, (1, 1)),
    Product("SW-BI", "数据分析平台 BI", "software", 120000, 100000, (1, 1)),
    Product("SW-SCM", "供应链管理系统 SCM", "software", 150000, 128000, (1, 1)),
    Product("SW-SEC", "安全审计系统", "software", 45000, 38000, (1, 1)),
    Product("SW-APP", "移动审批套件", "software", 18000, 15000, (1, 2)),
    Product("SW-LC", "低代码开发平台 年度许可", "software", 98000, 83000, (1, 1)),
    Product("SV-IMP", "实施服务（人天）", "service", 2500, 2000, (5, 30)),
    Product("SV-DEV", "定制开发（人天）", "service", 3000, 2500, (5, 40)),
    Product("SV-OPS", "年度运维服务", "service", 30000, 25000, (1, 1)),
    Product("SV-TRN", "培训服务（场）", "service", 8000, 6500, (1, 4)),
    Product("SV-ONS", "驻场支持（人月）", "service", 36000, 30000, (1, 3)),
    Product("SV-MIG", "数据迁移服务", "service", 20000, 16000, (1, 1)),
)
LINES = ("hardware", "software", "service")
SIZE_FACTOR = {"small": 1, "medium": 2, "large": 4}

# -- customers ----------------------------------------------------------------------------


class City(NamedTuple):
    name: str
    province: str
    districts: tuple[str, ...]
    lat: float
    lng: float


CITIES = {
    "east": (
        City("上海", "上海市", ("浦东新区", "闵行区", "徐汇区", "嘉定区"), 31.23, 121.47),
        City("杭州", "浙江省", ("西湖区", "滨江区", "余杭区", "萧山区"), 30.27, 120.16),
        City("苏州", "江苏省", ("工业园区", "吴中区", "相城区", "昆山市"), 31.30, 120.58),
        City("南京", "江苏省", ("江宁区", "鼓楼区", "建邺区"), 32.06, 118.80),
        City("宁波", "浙江省", ("鄞州区", "北仑区", "海曙区"), 29.87, 121.55),
        City("无锡", "江苏省", ("新吴区", "滨湖区", "梁溪区"), 31.49, 120.31),
        City("合肥", "安徽省", ("蜀山区", "包河区", "高新区"), 31.82, 117.23),
        City("常州", "江苏省", ("武进区", "新北区", "天宁区"), 31.81, 119.97),
    ),
    "south": (
        City("广州", "广东省", ("天河区", "黄埔区", "番禺区", "白云区"), 23.13, 113.26),
        City("深圳", "广东省", ("南山区", "福田区", "宝安区", "龙岗区"), 22.54, 114.06),
        City("东莞", "广东省", ("松山湖", "长安镇", "南城街道"), 23.02, 113.75),
        City("佛山", "广东省", ("顺德区", "南海区", "禅城区"), 23.02, 113.12),
        City("厦门", "福建省", ("思明区", "湖里区", "集美区"), 24.48, 118.09),
        City("福州", "福建省", ("鼓楼区", "仓山区", "晋安区"), 26.07, 119.30),
        City("珠海", "广东省", ("香洲区", "金湾区"), 22.27, 113.58),
        City("中山", "广东省", ("火炬开发区", "石岐区"), 22.52, 113.39),
    ),
}
#: The two characters of a trade name (字号) are drawn from these.
TRADE_FIRST = "华鼎恒瑞宏金天博立嘉新永汇联星海云启安德明盛晨凯锦卓长远同信润聚佳睿志广泰和正达"
TRADE_SECOND = "信盛通丰远桥诚源新禾科安创河川帆明泰润辉达光瑞程越青航图泽益成鑫康宇德"
#: industry value → (weight, words that say it in a company name)
INDUSTRIES = {
    "manufacturing": (30, ("精密机械", "智能装备", "电子", "新材料", "汽车零部件", "五金制品")),
    "retail": (15, ("商贸", "百货", "连锁超市", "电子商务", "贸易")),
    "finance": (8, ("投资", "融资租赁", "资产管理", "金融服务")),
    "it": (20, ("网络科技", "信息技术", "软件", "数据科技", "智能科技")),
    "education": (9, ("教育科技", "培训", "职业教育", "文化传播")),
    "other": (18, ("物流", "医疗器械", "建设工程", "餐饮管理", "环保科技", "生物科技")),
}
INDUSTRY_WEIGHTS = tuple((name, weight) for name, (weight, _) in INDUSTRIES.items())
SOURCES = (("referral", 22), ("exhibition", 18), ("web", 25), ("cold_call", 20), ("partner", 15))
SIZES = (("small", 50), ("medium", 35), ("large", 15))
#: What a customer could sign within a year, by size: (low, high) in 10,000 yuan.
POTENTIAL = {"small": (1, 20), "medium": (10, 150), "large": (50, 600)}
ROADS = (
    "科技路",
    "创业大道",
    "人民路",
    "建设路",
    "长江路",
    "中山路",
    "滨河路",
    "工业大道",
    "学院路",
)

# -- what reps write ----------------------------------------------------------------------

FOLLOW_UP_TYPES = (("visit", 40), ("call", 35), ("demo", 10), ("email", 15))
OPENINGS = {
    "visit": (
        "上门拜访{contact}，了解{dept}的{need}需求",
        "到客户现场与{contact}交流{product}的使用场景",
        "拜访{contact}，沟通项目预算和采购流程",
        "与{contact}面谈，介绍公司和同行业的成功案例",
    ),
    "call": (
        "电话联系{contact}，确认{need}需求的优先级",
        "电话回访{contact}，了解{product}的试用情况",
        "与{contact}电话沟通报价细节",
        "电话跟进{contact}，约下次见面时间",
    ),
    "demo": (
        "为{contact}和{dept}团队演示{product}",
        "线上演示{product}的核心功能，{contact}参加",
        "在客户会议室做{product}的方案演示",
    ),
    "email": (
        "给{contact}发送{product}的产品资料",
        "邮件发送报价说明和合同模板给{contact}",
        "邮件答复{contact}关于实施周期的问题",
    ),
}
DEPARTMENTS = ("IT部", "生产部", "采购部", "财务部", "运营部", "信息中心", "行政部")
NEEDS = ("网络改造", "数字化办公", "数据分析", "信息安全", "供应链协同", "客户管理", "设备联网")
FEEDBACK = (
    "客户对方案比较认可",
    "客户关注价格，希望再给些优惠",
    "需要向领导汇报后再定",
    "预算预计下季度批下来",
    "竞争对手也在接触，需要加快推进",
    "客户提出了两个定制需求",
    "客户对交付周期有顾虑",
    "客户希望先小范围试点",
    "采购流程较长，需要走招标",
    "客户反馈积极，准备立项",
    "暂时没有采购计划，保持联系",
)
NEXT_STEPS = (
    "下周安排技术交流",
    "准备正式报价",
    "约见采购负责人",
    "提交试点方案",
    "安排高层拜访",
    "发送案例资料",
    "邀请参观样板客户",
    "等待客户内部评审结果",
)
POSITIONS = ("总经理", "副总经理", "采购经理", "IT经理", "信息中心主任", "财务总监", "技术总监")
PROJECTS = {
    "hardware": ("网络升级项目", "设备采购项目", "机房扩容项目", "无线覆盖项目"),
    "software": ("数字化办公项目", "CRM实施项目", "数据平台项目", "供应链系统项目"),
    "service": ("运维外包项目", "系统实施服务项目", "培训与驻场服务项目"),
}
LOST_REASONS = (
    "价格高于客户预算",
    "客户选择了竞争对手",
    "项目预算被取消",
    "需求变更，项目搁置",
    "决策人变动",
    "交付周期不满足要求",
)
QUOTE_NOTES = ("价格含税，含一年质保", "含上门安装调试", "分两批交付", "报价有效期内锁定价格")
STAGES = ("initial", "needs", "proposal", "negotiation", "won")
#: Final stage of an opportunity → weight.
OUTCOMES = (
    ("initial", 14),
    ("needs", 14),
    ("proposal", 10),
    ("negotiation", 7),
    ("won", 30),
    ("lost", 25),
)
#: Instalments of a contract by product line: (name, share of the amount, days after signing).
#: The last instalment is what is left (the parts always add up to the amount).
INSTALMENTS = {
    "hardware": (("预付款", "0.3", 10), ("到货款", "0.6", 45), ("尾款", None, 180)),
    "software": (("首付款", "0.5", 15), ("验收款", "0.4", 90), ("质保金", None, 365)),
    "service": (("首期款", "0.5", 30), ("尾款", None, 120)),
}
CENT = Decimal("0.01")


# -- the plan: what to create, before anything is written ---------------------------------


class Ref(NamedTuple):
    """A link to the ``index``-th planned record of ``form`` (its id once created)."""

    form: str
    index: int


@dataclass
class Planned:
    """One record to create: its values (links as :class:`Ref`), the moment the engine
    writes it (``at``: its creation time, which also numbers its serials), and who creates
    it. ``created_at``/``updated_at`` are set afterwards when they differ from ``at``."""

    values: dict[str, Any]
    at: dt.datetime
    by: int
    created_at: dt.datetime | None = None
    updated_at: dt.datetime | None = None


@dataclass
class Person:
    username: str
    name: str
    kind: str  # rep, manager, director, vp, finance
    team: int | None = None
    region: str | None = None
    #: How much business a rep brings in, relative to the others.
    strength: float = 1.0
    id: int = 0


@dataclass
class Customer:
    index: int
    name: str
    short: str
    owner: Person
    size: str
    potential: Decimal
    created: dt.datetime
    city: City
    lost_at: dt.datetime | None = None
    prospect: bool = False
    engaged: bool = False
    activity: float = 1.0
    contacts: list[int] = field(default_factory=list)
    contact_names: list[str] = field(default_factory=list)
    last_visit: dt.datetime | None = None
    next_visit: dt.datetime | None = None
    contracts: list[tuple[dt.date, Decimal]] = field(default_factory=list)
    last_signed: dt.datetime | None = None


@dataclass
class Quote:
    """A quotation's lines as planned: (product index, unit price, quantity)."""

    lines: list[tuple[int, int, int]]
    overall_discount: Decimal

    @property
    def total(self) -> Decimal:
        # Whole-yuan prices and a whole-percent overall discount: the form's ROUND()s
        # never round, so this is exactly what its formulas compute (checked on load).
        subtotal = sum(Decimal(price * quantity) for _, price, quantity in self.lines)
        return (subtotal * (1 - self.overall_discount)).quantize(CENT)


@dataclass
class Plan:
    forms: dict[str, list[Planned]]
    customers: list[Customer]
    #: Indexes of the quotations to send for approval once created.
    approvals: list[int]
    #: Planned quotation totals, checked against the engine's formulas.
    totals: dict[int, Decimal]
    #: Customer index → contracts signed in the 12 months up to ``today``.
    deal_amounts: dict[int, Decimal]
    #: Where the planned history ends (the start of today), and the clock's now.
    base: dt.datetime
    now: dt.datetime


@dataclass
class Demo:
    """What a run made: counts by form, the people to sign in as, how long it took."""

    seed: int
    scale: float
    counts: dict[str, int]
    details: dict[str, Any]
    logins: list[tuple[str, Person, str]]
    seconds: float = 0.0


class Planner:
    """Draws the company's history from one random generator, in a fixed order, up to
    ``now`` — the start of the day the demo is made, so a seed gives the same history all
    day long."""

    def __init__(self, rng: random.Random, now: dt.datetime, zone: ZoneInfo) -> None:
        self.rng = rng
        self.now = now
        self.zone = zone
        self.today = now.astimezone(zone).date()
        self.forms: dict[str, list[Planned]] = {form: [] for form in FORMS}

    # -- time ------------------------------------------------------------------------------

    def moment(self, start: dt.datetime, end: dt.datetime) -> dt.datetime:
        """A working-hours moment between ``start`` and ``end`` (any moment there when the
        window is too narrow for one)."""
        rng = self.rng
        if end <= start:
            return start.replace(microsecond=0)
        raw = start + (end - start) * rng.random()
        day = raw.astimezone(self.zone).date()
        if day.weekday() >= 5 and rng.random() < 0.85:
            day -= dt.timedelta(days=day.weekday() - 4)  # a weekend visit moves to Friday
        local = dt.datetime.combine(day, dt.time(9, 0), tzinfo=self.zone) + dt.timedelta(
            minutes=rng.randrange(9 * 60)
        )
        moment = local.astimezone(dt.UTC)
        if not start <= moment <= end:
            moment = raw
        return moment.replace(microsecond=0)

    def days_ago(self, days: float) -> dt.datetime:
        return self.now - dt.timedelta(days=days)

    def on(self, day: dt.date) -> dt.datetime:
        """A working-hours moment of a local day (not later than now)."""
        start = dt.datetime.combine(day, dt.time(9), tzinfo=self.zone).astimezone(dt.UTC)
        return self.moment(start, min(start + dt.timedelta(hours=9), self.now))

    def local_date(self, moment: dt.datetime) -> dt.date:
        return moment.astimezone(self.zone).date()

    def add(self, form: str, planned: Planned) -> int:
        self.forms[form].append(planned)
        return len(self.forms[form]) - 1

    # -- people ----------------------------------------------------------------------------

    def people(self) -> list[Person]:
        """The VP, finance, two directors, four managers and thirty reps, in that order."""
        taken: set[str] = set()
        names: set[str] = set()

        def person(kind: str, team: int | None = None, region: str | None = None) -> Person:
            while True:
                surname, surname_py = self.rng.choice(SURNAMES)
                given = self.rng.sample(GIVEN, self.rng.choice((1, 2, 2)))
                name = surname + "".join(g for g, _ in given)
                if name not in names:
                    break
            names.add(name)
            username = surname_py + "".join(p for _, p in given)
            base, n = username, 2
            while username in taken:
                username, n = f"{base}{n}", n + 1
            taken.add(username)
            return Person(username, name, kind, team, region)

        found = [person("vp"), person("finance")]
        found += [person("director", region=region) for region, _ in REGIONS]
        found += [person("manager", i, region) for i, (_, region, _) in enumerate(TEAMS)]
        for i, (_, region, reps) in enumerate(TEAMS):
            for _ in range(reps):
                rep = person("rep", i, region)
                rep.strength = round(self.rng.uniform(0.5, 1.6), 3)
                found.append(rep)
        return found

    # -- customers and contacts ------------------------------------------------------------

    def customers(self, count: int, reps: list[Person]) -> list[Customer]:
        rng = self.rng
        weights = list(itertools.accumulate(rep.strength for rep in reps))
        used: set[str] = set()
        out = []
        for index in range(count):
            owner = rng.choices(reps, cum_weights=weights)[0]
            city = rng.choice(CITIES[owner.region or "east"])
            industry = _weighted(rng, INDUSTRY_WEIGHTS)
            size = _weighted(rng, SIZES)
            name, short = self._company_name(city, industry, size, used)
            low, high = POTENTIAL[size]
            potential = Decimal(rng.randint(low, high) * 10000)
            if rng.random() < 0.2:
                created = self.moment(
                    self.days_ago(OLDEST_CUSTOMER_DAYS), self.days_ago(HISTORY_DAYS)
                )
            else:
                created = self.moment(self.days_ago(HISTORY_DAYS), self.days_ago(1))
            customer = Customer(index, name, short, owner, size, potential, created, city)
            age = (self.now - created).days
            customer.prospect = rng.random() < (0.35 if age < 60 else 0.04)
            if not customer.prospect and age > 90 and rng.random() < 0.08:
                since = self._start(customer) + dt.timedelta(days=45)
                customer.lost_at = self.moment(since, self.days_ago(30))
            customer.engaged = customer.lost_at is None and rng.random() < 0.2
            activity = min(rng.lognormvariate(0, 0.7), 4.0)
            customer.activity = activity * SIZE_FACTOR[size] ** 0.5
            district = rng.choice(city.districts)
            values = {
                "name": name,
                "industry": industry,
                "source": _weighted(rng, SOURCES),
                "region": owner.region,
                "size": size,
                "owner": owner.id,
                "potential": potential,
                "address": {
                    "province": city.province,
                    "city": city.name + ("" if city.name == "上海" else "市"),
                    "district": district,
                    "detail": f"{rng.choice(ROADS)}{rng.randint(1, 999)}号",
                },
            }
            self.add("customer", Planned(values, created, owner.id))
            out.append(customer)
            self._contacts(customer)
        return out

    def _company_name(
        self, city: City, industry: str, size: str, used: set[str]
    ) -> tuple[str, str]:
        rng = self.rng
        for attempt in range(50):
            trade = rng.choice(TRADE_FIRST) + rng.choice(TRADE_SECOND)
            if trade[0] == trade[1]:
                continue
            suffix = "有限公司"
            if size == "large" and rng.random() < 0.4:
                suffix = "集团有限公司"
            elif size != "small" and rng.random() < 0.3:
                suffix = "股份有限公司"
            name = f"{city.name}{trade}{rng.choice(INDUSTRIES[industry][1])}{suffix}"
            if attempt >= 40:  # a crowded name space (a large scale): a branch office
                name = f"{name}（{rng.choice(city.districts)}分公司）"
            if name not in used:
                used.add(name)
                return name, city.name + trade
        raise RuntimeError("could not invent another company name; use a smaller --scale")

    def _contacts(self, customer: Customer) -> None:
        rng = self.rng
        if customer.prospect:
            count = 1 if rng.random() < 0.6 else 0
        else:
            count = _weighted(rng, ((1, 60), (2, 30), (3, 10)))
        for n in range(count):
            surname, surname_py = rng.choice(SURNAMES)
            given, given_py = rng.choice(GIVEN)
            name = surname + given
            position = (
                POSITIONS[0] if n == 0 and customer.size == "small" else rng.choice(POSITIONS)
            )
            values = {
                "name": name,
                "customer": Ref("customer", customer.index),
                "position": position,
                "phone": f"1{rng.choice('3589')}{rng.randrange(10**9):09d}",
                "email": f"{surname_py}{given_py}.{customer.index}@example.com",
                "decision_maker": n == 0 or rng.random() < 0.2,
            }
            customer.contacts.append(
                self.add("contact", Planned(values, customer.created, customer.owner.id))
            )
            customer.contact_names.append(name + position)

    # -- follow-ups ------------------------------------------------------------------------

    def follow_ups(self, count: int, customers: list[Customer]) -> None:
        """``count`` follow-ups shared out by the customers' activity and age; each
        customer's last one leaves its next follow-up: soon (due in the coming two weeks),
        or already late."""
        active = [c for c in customers if not c.prospect]
        weights = [
            c.activity * max(self._end(c) - self._start(c), dt.timedelta(days=3)).days
            for c in active
        ]
        shares = _apportion(count, weights)
        planned: list[tuple[dt.datetime, Customer, dt.datetime | None, bool]] = []
        for customer, share in zip(active, shares, strict=True):
            if share == 0:
                continue
            start, end = self._start(customer), self._end(customer)
            times = sorted(self.moment(start, end) for _ in range(share))
            if customer.engaged:
                times[-1] = self.moment(max(start, self.days_ago(12)), end)
                times.sort()
            for i, visited in enumerate(times):
                last = i == len(times) - 1
                if last:
                    planned_next = self._last_plan(customer, visited)
                    customer.last_visit, customer.next_visit = visited, planned_next
                elif self.rng.random() < 0.6:
                    planned_next = self.moment(
                        visited + dt.timedelta(days=2), visited + dt.timedelta(days=14)
                    )
                else:
                    planned_next = None
                planned.append((visited, customer, planned_next, last))
        for visited, customer, planned_next, last in planned:
            self._follow_up(customer, visited, planned_next, last)

    def _start(self, customer: Customer) -> dt.datetime:
        return max(customer.created, self.days_ago(HISTORY_DAYS))

    def _end(self, customer: Customer) -> dt.datetime:
        return customer.lost_at or self.now - dt.timedelta(minutes=30)

    def _last_plan(self, customer: Customer, visited: dt.datetime) -> dt.datetime | None:
        """The next follow-up the latest one planned: mostly ahead for customers followed
        up lately, sometimes already missed; rarely any for customers left alone."""
        rng = self.rng
        if customer.lost_at is not None:
            return None
        if self.now - visited < dt.timedelta(days=21):
            planned = self.moment(visited + dt.timedelta(days=2), visited + dt.timedelta(days=16))
            if planned < self.now and rng.random() < 0.5:  # rescheduled: still ahead
                planned = self.moment(self.now, self.now + dt.timedelta(days=14))
            return planned
        if rng.random() < 0.05:  # a plan nobody kept
            return self.moment(visited + dt.timedelta(days=3), visited + dt.timedelta(days=14))
        return None

    def _follow_up(
        self, customer: Customer, visited: dt.datetime, planned_next: dt.datetime | None, last: bool
    ) -> None:
        rng = self.rng
        kind = _weighted(rng, FOLLOW_UP_TYPES)
        which = rng.randrange(len(customer.contacts)) if customer.contacts else None
        contact = customer.contact_names[which] if which is not None else "客户"
        text = rng.choice(OPENINGS[kind]).format(
            contact=contact,
            dept=rng.choice(DEPARTMENTS),
            need=rng.choice(NEEDS),
            product=rng.choice(PRODUCTS).name,
        )
        if last and customer.lost_at is not None:
            content = f"{text}。客户已确定选择其他供应商，暂停跟进。"
        else:
            content = f"{text}。{rng.choice(FEEDBACK)}。下一步：{rng.choice(NEXT_STEPS)}。"
        values: dict[str, Any] = {
            "customer": Ref("customer", customer.index),
            "type": kind,
            "visited_at": visited,
            "content": content,
            "owner": customer.owner.id,
            "next_follow_up_at": planned_next,
        }
        if which is not None:
            values["contact"] = Ref("contact", customer.contacts[which])
        if kind == "visit":
            values["location"] = {
                "lat": round(customer.city.lat + rng.uniform(-0.08, 0.08), 6),
                "lng": round(customer.city.lng + rng.uniform(-0.08, 0.08), 6),
                "accuracy": rng.randint(8, 60),
                "address": f"{customer.city.name}{rng.choice(customer.city.districts)}",
            }
        logged = min(visited + dt.timedelta(minutes=rng.randint(5, 90)), self.now)
        self.add("follow_up", Planned(values, logged, customer.owner.id))

    # -- opportunities, quotations, contracts, payments ------------------------------------

    def pipeline(
        self, opportunities: int, quotations: int, customers: list[Customer]
    ) -> tuple[list[int], dict[int, Decimal]]:
        """Opportunities through their stages; a quotation for those that reached a
        proposal (about ``quotations`` of them), contracts and payments for the won ones.
        Returns the quotations to send for approval and the planned totals."""
        rng = self.rng
        followed = [c for c in customers if c.last_visit is not None]
        if not followed:
            return [], {}
        weights = list(
            itertools.accumulate(
                c.activity * SIZE_FACTOR[c.size] * (0.3 if c.lost_at else 1) for c in followed
            )
        )
        deals = []
        for _ in range(opportunities):
            customer = rng.choices(followed, cum_weights=weights)[0]
            outcome = _weighted(rng, OUTCOMES)
            if customer.lost_at is not None:
                outcome = "lost"
            deals.append(self._stages(customer, outcome))
        # quotations: one for each deal that reached a proposal, a rejected one before it
        # for some; then trimmed to the wanted number, keeping those waiting for approval
        candidates: list[tuple[int, str]] = []
        for n, deal in enumerate(deals):
            if deal.reached("proposal"):
                if rng.random() < 0.12:
                    candidates.append((n, "superseded"))
                candidates.append((n, "final"))
        open_finals = [
            i
            for i, (n, kind) in enumerate(candidates)
            if kind == "final" and deals[n].stage in ("proposal", "negotiation")
        ]
        waiting = min(len(open_finals), max(1, round(quotations * IN_APPROVAL_SHARE)))
        in_approval = set(rng.sample(open_finals, waiting))
        if len(candidates) > quotations:
            others = [i for i in range(len(candidates)) if i not in in_approval]
            dropped = set(rng.sample(others, min(len(others), len(candidates) - quotations)))
            keep = [i for i in range(len(candidates)) if i not in dropped]
        else:
            keep = list(range(len(candidates)))
        for i in keep:
            n, kind = candidates[i]
            deals[n].quotes.append((kind, i in in_approval))
        approvals: list[int] = []
        totals: dict[int, Decimal] = {}
        for deal in deals:
            self._deal(deal, approvals, totals)
        return approvals, totals

    def _stages(self, customer: Customer, outcome: str) -> Deal:
        """The stages a deal went through and when it entered each (strictly increasing):
        closed deals any time in the customer's history, open ones moved recently."""
        rng = self.rng
        earliest = self._start(customer)
        closed_by = min(self._end(customer), self.days_ago(2))
        if outcome in ("won", "lost") and closed_by - earliest < dt.timedelta(days=3):
            outcome = "initial"  # a customer too new to have closed anything
        if outcome == "lost":
            reached = _weighted(
                rng, (("initial", 25), ("needs", 40), ("proposal", 20), ("negotiation", 15))
            )
            path = [*STAGES[: STAGES.index(reached) + 1], "lost"]
        else:
            path = list(STAGES[: STAGES.index(outcome) + 1])
        closed = outcome in ("won", "lost")
        latest = closed_by if closed else self.now - dt.timedelta(hours=1)
        gaps = [dt.timedelta(days=rng.uniform(4, 35)) for _ in path[1:]]
        room = (latest - earliest) * 0.9
        span = sum(gaps, dt.timedelta())
        if span > room:  # squeeze the stages into a short customer history
            gaps = [gap * (room / span) for gap in gaps]
            span = sum(gaps, dt.timedelta())
        last_start = latest - span
        first_start = earliest if closed else max(earliest, last_start - dt.timedelta(days=30))
        entered = [self.moment(first_start, last_start)]
        for gap in gaps:  # later, and in working hours when the gap allows
            entered.append(self.moment(entered[-1] + gap * 0.7, entered[-1] + gap))
        return Deal(customer, path, entered, self._lines(customer))

    def _lines(self, customer: Customer) -> Quote:
        """The products a deal is about, at a discount level that sometimes needs the top
        approval (below the minimum price)."""
        rng = self.rng
        line = _weighted(rng, (("hardware", 40), ("software", 35), ("service", 25)))
        main = [i for i, p in enumerate(PRODUCTS) if p.line == line]
        services = [i for i, p in enumerate(PRODUCTS) if p.line == "service"]
        chosen = [rng.choice(main)]
        for _ in range(_weighted(rng, ((0, 35), (1, 35), (2, 20), (3, 10)))):
            pool = [i for i in (main if rng.random() < 0.6 else services) if i not in chosen]
            if pool:
                chosen.append(rng.choice(pool))
        level = _weighted(rng, ((0.0, 25), (0.05, 45), (0.12, 20), (0.2, 10)))
        lines = []
        for i in chosen:
            product = PRODUCTS[i]
            low, high = product.quantity
            quantity = rng.randint(low, high * SIZE_FACTOR[customer.size])
            discount = max(0.0, level + rng.uniform(-0.03, 0.03)) if level else 0.0
            price = int(Decimal(product.list_price * (1 - discount)).quantize(Decimal(1)))
            lines.append((i, price, quantity))
        overall = Decimal(_weighted(rng, (("0", 75), ("0.02", 12), ("0.03", 8), ("0.05", 5))))
        return Quote(lines, overall)

    def _deal(self, deal: Deal, approvals: list[int], totals: dict[int, Decimal]) -> None:
        rng = self.rng
        customer = deal.customer
        owner = customer.owner.id
        product_line = PRODUCTS[deal.quote.lines[0][0]].line
        name = f"{customer.short}{rng.choice(PROJECTS[product_line])}"
        final = deal.quote.total
        has_final = any(kind == "final" for kind, _ in deal.quotes)
        amount = final if has_final else max(Decimal(1000), round(final, -3)).quantize(CENT)
        closes = deal.entered[-1]
        if deal.stage in ("won", "lost"):
            expected = self.local_date(closes)
        else:
            expected = self.local_date(closes) + dt.timedelta(days=rng.randint(-10, 90))
        values: dict[str, Any] = {
            "name": name,
            "customer": Ref("customer", customer.index),
            "stage": deal.stage,
            "amount": amount,
            "expected_close": expected,
            "product_line": product_line,
            "owner": owner,
            "stage_history": [
                {"stage": stage, "entered_at": at}
                for stage, at in zip(deal.path, deal.entered, strict=True)
            ],
        }
        if deal.stage == "lost":
            values["lost_reason"] = rng.choice(LOST_REASONS)
        opportunity = self.add(
            "opportunity", Planned(values, deal.entered[0], owner, updated_at=closes)
        )
        won_quote = None
        if deal.reached("proposal"):
            k = deal.path.index("proposal")
            proposal = deal.entered[k]
            after = deal.entered[k + 1] if k + 1 < len(deal.entered) else self.now
        for kind, waiting in deal.quotes:
            if kind == "superseded":
                quote = self._deeper(deal.quote)
                at = self.moment(proposal, proposal + (after - proposal) / 2)
                status, decided = "rejected", at + dt.timedelta(hours=rng.uniform(2, 48))
            else:
                quote = deal.quote
                if waiting:  # submitted today: still with the approvers
                    at = self.moment(
                        max(self.now - dt.timedelta(hours=20), proposal), self.days_ago(0.01)
                    )
                    status, decided = "in_approval", at
                else:
                    at = self.moment(proposal + (after - proposal) / 2, after)
                    status, decided = self._quote_outcome(deal, at)
            valid = self.local_date(at) + dt.timedelta(days=30)
            values = {
                "customer": Ref("customer", customer.index),
                "opportunity": Ref("opportunity", opportunity),
                "lines": [
                    {
                        "product": Ref("product", i),
                        "unit_price": price,
                        "quantity": quantity,
                        "list_price": PRODUCTS[i].list_price,
                        "min_price": PRODUCTS[i].min_price,
                    }
                    for i, price, quantity in quote.lines
                ],
                "overall_discount": quote.overall_discount,
                "valid_until": valid,
                "status": status,
                "owner": owner,
            }
            if rng.random() < 0.3:
                values["note"] = rng.choice(QUOTE_NOTES)
            index = self.add(
                "quotation", Planned(values, at, owner, updated_at=min(decided, self.now))
            )
            totals[index] = quote.total
            if waiting:
                approvals.append(index)
            if status == "won":
                won_quote = index
        if deal.stage == "won":
            self._contract(deal, name, product_line, amount, won_quote)

    def _deeper(self, quote: Quote) -> Quote:
        """The quotation before the final one: a deeper discount the approvers turned down."""
        lines = []
        for i, price, quantity in quote.lines:
            lower = int(Decimal(price * 0.9).quantize(Decimal(1)))
            lines.append((i, max(1, min(lower, PRODUCTS[i].min_price - 100)), quantity))
        return Quote(lines, quote.overall_discount)

    def _quote_outcome(self, deal: Deal, at: dt.datetime) -> tuple[str, dt.datetime]:
        rng = self.rng
        if deal.stage == "won":
            return "won", deal.entered[-1]
        if deal.stage == "lost":
            return "lost", deal.entered[-1]
        status = _weighted(rng, (("sent", 55), ("approved", 30), ("rejected", 15)))
        return status, min(at + dt.timedelta(hours=rng.uniform(2, 72)), self.now)

    def _contract(
        self, deal: Deal, name: str, product_line: str, amount: Decimal, quotation: int | None
    ) -> None:
        customer = deal.customer
        signed = deal.entered[-1]
        signed_on = self.local_date(signed)
        values: dict[str, Any] = {
            "name": f"{name}合同",
            "customer": Ref("customer", customer.index),
            "amount": amount,
            "signed_on": signed_on,
            "product_line": product_line,
            "owner": customer.owner.id,
        }
        if quotation is not None:
            values["quotation"] = Ref("quotation", quotation)
        contract = self.add("contract", Planned(values, signed, customer.owner.id))
        customer.contracts.append((signed_on, amount))
        customer.last_signed = max(customer.last_signed or signed, signed)
        self._payments(customer, contract, signed, amount, product_line)

    def _payments(
        self,
        customer: Customer,
        contract: int,
        signed: dt.datetime,
        amount: Decimal,
        product_line: str,
    ) -> None:
        rng = self.rng
        signed_on = self.local_date(signed)
        left = amount
        for name, share, days in INSTALMENTS[product_line]:
            part = left if share is None else (amount * Decimal(share)).quantize(CENT)
            left -= part
            planned_on = signed_on + dt.timedelta(days=days)
            values: dict[str, Any] = {
                "contract": Ref("contract", contract),
                "customer": Ref("customer", customer.index),
                "installment": name,
                "planned_amount": part,
                "planned_on": planned_on,
                "owner": customer.owner.id,
            }
            updated = signed
            if planned_on < self.today and rng.random() < 0.85:
                received_on = planned_on + dt.timedelta(days=rng.randint(-5, 25))
                received_on = max(min(received_on, self.today - dt.timedelta(days=1)), signed_on)
                values["actual_amount"] = part
                values["received_on"] = received_on
                updated = max(signed, self.on(received_on))
            # the overdue formula reads TODAY(): written today, dated back afterwards
            self.add("payment", Planned(values, self.now, customer.owner.id, signed, updated))

    # -- what the automations would have kept ----------------------------------------------

    def customer_values(
        self, customers: list[Customer], rules: list[dict[str, Any]], now: dt.datetime
    ) -> dict[int, Decimal]:
        """Each customer's last and next follow-up, deal amount, grade, status and stale
        flag as of ``now`` (the real clock: as the nightly jobs would find them, with the
        contracts of the 12 months up to its date, as :func:`signed_amounts` counts);
        returns the deal amounts."""
        today = now.astimezone(self.zone).date()
        since = _year_before(today)
        stale_before = now - dt.timedelta(days=30)
        amounts = {}
        for customer, planned in zip(customers, self.forms["customer"], strict=True):
            amount = sum(
                (a for signed, a in customer.contracts if since < signed <= today), Decimal(0)
            )
            if amount:
                amounts[customer.index] = amount
            if customer.lost_at is not None:
                status = "lost"
            elif customer.contracts:
                status = "customer"
            elif customer.last_visit is not None:
                status = "following"
            else:
                status = "prospect"
            last = customer.last_visit or customer.created
            planned.values.update(
                status=status,
                last_follow_up_at=customer.last_visit,
                next_follow_up_at=customer.next_visit,
                deal_amount_12m=amount,
                grade=grade_of(rules, customer.potential, amount),
                stale=status != "lost" and last < stale_before,
            )
            changed = max(
                (t for t in (customer.created, customer.last_visit, customer.last_signed) if t),
            )
            planned.updated_at = changed
        return amounts


@dataclass
class Deal:
    customer: Customer
    path: list[str]
    entered: list[dt.datetime]
    quote: Quote
    quotes: list[tuple[str, bool]] = field(default_factory=list)

    @property
    def stage(self) -> str:
        return self.path[-1]

    def reached(self, stage: str) -> bool:
        return stage in self.path


def _weighted(rng: random.Random, choices: Any) -> Any:
    """One of the ``(value, weight)`` pairs' values, by weight."""
    values, cumulative = _cumulative(choices)
    return rng.choices(values, cum_weights=cumulative)[0]


@functools.cache
def _cumulative(choices: Any) -> tuple[list[Any], list[float]]:
    return [value for value, _ in choices], list(itertools.accumulate(w for _, w in choices))


def _apportion(total: int, weights: list[float]) -> list[int]:
    """``total`` split in proportion to ``weights`` (largest remainders: the parts add up)."""
    whole = sum(weights)
    if not weights or whole <= 0:
        return [0] * len(weights)
    exact = [total * w / whole for w in weights]
    parts = [int(x) for x in exact]
    order = sorted(range(len(exact)), key=lambda i: (parts[i] - exact[i], i))
    for i in order[: total - sum(parts)]:
        parts[i] += 1
    return parts


def _year_before(today: dt.date) -> dt.date:
    """The start of the 12-month window, as :func:`signed_amounts` draws it."""
    if today.month == 2 and today.day == 29:
        return today - dt.timedelta(days=365)
    return today.replace(year=today.year - 1)


def _scaled(base: int, scale: float) -> int:
    return max(1, round(base * scale))


# -- writing it ---------------------------------------------------------------------------


def seed_demo(
    runtime: Runtime,
    *,
    scale: float = 1.0,
    seed: int = DEFAULT_SEED,
    progress: Callable[[str], None] | None = None,
) -> Demo:
    """Create the demo company and its history in an installation with no customers yet.

    ``scale`` multiplies the record counts (1: 5,000 customers, 50,000 follow-ups, 3,000
    opportunities, 1,500 quotations); the organisation and the catalogue stay the same.
    Raises :class:`AlreadySeeded` when the database has customers.
    """
    if scale <= 0:
        raise ValueError("scale must be positive")
    started = time.monotonic()
    say = progress or (lambda _: None)
    now = runtime.clock().astimezone(dt.UTC).replace(microsecond=0)
    zone = ZoneInfo(runtime.config.timezone)
    today = now.astimezone(zone).date()
    base = dt.datetime.combine(today, dt.time(0), tzinfo=zone).astimezone(dt.UTC)
    planner = Planner(random.Random(seed), base, zone)
    staff = planner.people()

    step = time.monotonic()
    with runtime.write() as work:
        work.now = now
        _refuse_if_seeded(work)
        _organisation(work, staff, base)
        _grant(work)
        product_ids = _products(work, base)
        rules = grading_rules(work)
    say(f"  organisation, grants, {len(PRODUCTS)} products  {time.monotonic() - step:.1f} s")

    step = time.monotonic()
    reps = [p for p in staff if p.kind == "rep"]
    customers = planner.customers(_scaled(CUSTOMERS, scale), reps)
    planner.follow_ups(_scaled(FOLLOW_UPS, scale), customers)
    approvals, totals = planner.pipeline(
        _scaled(OPPORTUNITIES, scale), _scaled(QUOTATIONS, scale), customers
    )
    deal_amounts = planner.customer_values(customers, rules, now)
    plan = Plan(planner.forms, customers, approvals, totals, deal_amounts, base, now)
    say(f"  history planned  {time.monotonic() - step:.1f} s")

    ids: dict[str, list[int]] = {"product": product_ids}
    for form in FORMS:
        step = time.monotonic()
        _load(runtime, form, plan.forms[form], ids, plan)
        count, seconds = len(plan.forms[form]), time.monotonic() - step
        say(f"  {FORMS[form]:<14} {count:>7,}  {seconds:.1f} s")
    step = time.monotonic()
    with runtime.write() as work:
        work.now = now
        _check_deal_amounts(work, plan, ids, today)
        _date_history(work, plan, ids)
        due = _follow_up_reminders(work, plan, ids)
    say(f"  dates, reminders, checks  {time.monotonic() - step:.1f} s")

    counts = {"people": len(staff), "product": len(PRODUCTS)}
    counts.update({form: len(rows) for form, rows in plan.forms.items()})
    demo = Demo(
        seed=seed,
        scale=scale,
        counts=counts,
        details=_details(plan, planner.today, now, due),
        logins=_logins(staff),
    )
    demo.seconds = time.monotonic() - started
    return demo


class AlreadySeeded(Conflict):
    """The database already has customers: demo data would mix with them."""


def _refuse_if_seeded(work: Work) -> None:
    try:
        customer = get_form(work, f"{APP}.customer")
    except NotFound:
        raise NotFound(
            "the sales app is not installed in this database: run `formflow install-app` first"
        ) from None
    existing = records.count(work, customer.form.id)
    if existing:
        raise AlreadySeeded(
            [
                FieldError(
                    None,
                    f"this database already has {existing:,} customers; demo data is only "
                    "added to an empty installation, so nothing was changed (start from a "
                    "fresh FORMFLOW_INSTANCE or DATABASE_URL for a demo)",
                    "seeded",
                )
            ]
        )


def _organisation(work: Work, staff: list[Person], now: dt.datetime) -> None:
    """Users, the department tree with its heads, memberships and roles."""
    joined = now - dt.timedelta(days=OLDEST_CUSTOMER_DAYS + 30)
    password = people.hash_password(DEMO_PASSWORD)  # once: argon2 is slow on purpose
    for person in staff:
        user = people.create_user(
            work,
            person.username,
            display_name=person.name,
            email=f"{person.username}@example.com",
        )
        user.password_hash = password
        user.created_at = joined
        person.id = user.id
    vp = next(p for p in staff if p.kind == "vp")
    finance = next(p for p in staff if p.kind == "finance")
    company = people.create_department(work, COMPANY, head_id=vp.id)
    made = {COMPANY: company.id}
    made[FINANCE_DEPARTMENT] = people.create_department(
        work, FINANCE_DEPARTMENT, parent_id=company.id, head_id=finance.id
    ).id
    regions = {}
    for region, title in REGIONS:
        director = next(p for p in staff if p.kind == "director" and p.region == region)
        regions[region] = made[title] = people.create_department(
            work, title, parent_id=company.id, head_id=director.id
        ).id
        people.set_memberships(work, director.id, [regions[region]])
    for i, (title, region, _) in enumerate(TEAMS):
        manager = next(p for p in staff if p.kind == "manager" and p.team == i)
        made[title] = people.create_department(
            work, title, parent_id=regions[region], head_id=manager.id
        ).id
        for person in staff:
            if person.team == i:
                people.set_memberships(work, person.id, [made[title]])
    people.set_memberships(work, vp.id, [company.id])
    people.set_memberships(work, finance.id, [made[FINANCE_DEPARTMENT]])
    roles = {
        "sales_vp": people.ensure_role(work, "sales_vp", "销售副总裁"),
        "finance": people.ensure_role(work, "finance", "财务"),
        "sales_manager": people.ensure_role(work, "sales_manager", "销售经理/总监"),
    }
    people.set_roles(work, vp.id, [roles["sales_vp"].id])
    people.set_roles(work, finance.id, [roles["finance"].id])
    for person in staff:
        if person.kind in ("manager", "director"):
            people.set_roles(work, person.id, [roles["sales_manager"].id])


#: Reps work on their own records; managers and directors see their teams' (the records'
#: departments are their owners'); the VP sees everything, finance the money.
SALES_FORMS = (
    "customer",
    "contact",
    "follow_up",
    "opportunity",
    "quotation",
    "contract",
    "payment",
)
OWN = {"name": "销售：本人的", "actions": ["view", "create", "edit", "delete"], "scope": "own"}
TEAM = {
    "name": "经理：本团队的",
    "role": "sales_manager",
    "actions": ["view", "export"],
    "scope": "subtree",
}
VP = {"name": "销售副总裁：全部", "role": "sales_vp", "actions": ["view", "export"], "scope": "all"}
FINANCE_VIEWS = {
    "name": "财务：全部",
    "role": "finance",
    "actions": ["view", "export"],
    "scope": "all",
}
FINANCE_EDITS = {**FINANCE_VIEWS, "actions": ["view", "edit", "export"]}
EVERYONE_VIEWS = {"name": "所有人：查看", "actions": ["view"], "scope": "all"}


def _grant(work: Work) -> None:
    for form in SALES_FORMS:
        grants = [OWN, TEAM, VP]
        if form in ("customer", "quotation", "contract"):
            grants.append(FINANCE_VIEWS)
        elif form == "payment":
            grants.append(FINANCE_EDITS)
        replace_grants(work, get_form(work, f"{APP}.{form}"), grants)
    for form in ("product", "grading_rule"):
        replace_grants(work, get_form(work, f"{APP}.{form}"), [EVERYONE_VIEWS])


def _products(work: Work, base: dt.datetime) -> list[int]:
    """The catalogue, on sale since before the history starts."""
    loaded = get_form(work, f"{APP}.product")
    previous, work.now = work.now, base - dt.timedelta(days=OLDEST_CUSTOMER_DAYS)
    made = [
        records.create_as_step(
            work,
            loaded,
            {
                "name": p.name,
                "code": p.code,
                "product_line": p.line,
                "list_price": p.list_price,
                "min_price": p.min_price,
            },
        ).id
        for p in PRODUCTS
    ]
    work.now = previous
    return made


def _load(
    runtime: Runtime, form: str, rows: list[Planned], ids: dict[str, list[int]], plan: Plan
) -> None:
    """Create ``rows`` through the record service, oldest first, :data:`CHUNK` to a unit of
    work, each as its owner at its own moment, with the automations quiet."""
    order = sorted(range(len(rows)), key=lambda i: (rows[i].created_at or rows[i].at, i))
    made = ids.setdefault(form, [0] * len(rows))
    waiting = set(plan.approvals) if form == "quotation" else set()
    for start in range(0, len(order), CHUNK):
        with runtime.write() as work:
            work.memo[QUIET] = True
            loaded = get_form(work, f"{APP}.{form}")
            users = _users(work)
            for i in order[start : start + CHUNK]:
                row = rows[i]
                work.actor, work.now = users[row.by], row.at
                created = records.create_as_step(work, loaded, _resolve(row.values, ids))
                made[i] = created.id
                if form == "quotation":
                    _check_total(loaded, created.data, plan.totals[i], i)
                    if i in waiting:
                        # submitted in the hours before now, in the order they were made:
                        # the approvers' reminders and escalations are still ahead
                        work.now = plan.now - (plan.base - row.at) * 0.15
                        flows.start(work, QUOTE_FLOW, loaded, created.id)
            work.actor = None


def _users(work: Work) -> dict[int, User]:
    return {user.id: user for user in work.session.scalars(select(User))}


def _resolve(value: Any, ids: dict[str, list[int]]) -> Any:
    if isinstance(value, Ref):
        return ids[value.form][value.index]
    if isinstance(value, dict):
        return {k: _resolve(v, ids) for k, v in value.items()}
    if isinstance(value, list):
        return [_resolve(v, ids) for v in value]
    return value


def _check_total(loaded: LoadedForm, document: dict[str, Any], planned: Decimal, i: int) -> None:
    total = from_document(loaded.spec, document).get("total")
    if Decimal(str(total)) != planned:
        raise RuntimeError(
            f"demo quotation {i}: the form computed a total of {total}, the demo planned "
            f"{planned}; the quotation formulas changed — contracts and grades would not match"
        )


def _check_deal_amounts(work: Work, plan: Plan, ids: dict[str, list[int]], today: dt.date) -> None:
    """The customers' deal amounts as the plugin's own nightly regrading counts them."""
    counted = signed_amounts(work, today)
    planned = {ids["customer"][i]: amount for i, amount in plan.deal_amounts.items()}
    if counted != planned:
        raise RuntimeError("demo data: the customers' deal amounts differ from their contracts")


def _date_history(work: Work, plan: Plan, ids: dict[str, list[int]]) -> None:
    """Backdate what was written at another moment than it happened (payments: planned at
    signing, written now for their overdue formula) and stamp when records last changed
    (a customer's last follow-up, an opportunity's last stage, a quotation's decision)."""
    records_table, revisions_table = Record.__table__, Revision.__table__
    stamp = (
        update(records_table)
        .where(records_table.c.id == bindparam("rid"))
        .values(created_at=bindparam("created"), updated_at=bindparam("updated"))
    )
    backdate = (
        update(revisions_table)
        .where(revisions_table.c.record_id == bindparam("rid"))
        .values(at=bindparam("created"))
    )
    for form, rows in plan.forms.items():
        changed = [
            {"rid": ids[form][i], "created": row.created_at or row.at, "updated": row.updated_at}
            for i, row in enumerate(rows)
            if row.created_at is not None or row.updated_at not in (None, row.at)
        ]
        for start in range(0, len(changed), CHUNK):
            work.connection.execute(stamp, changed[start : start + CHUNK])
        moved = [
            {"rid": ids[form][i], "created": row.created_at}
            for i, row in enumerate(rows)
            if row.created_at is not None
        ]
        for start in range(0, len(moved), CHUNK):
            work.connection.execute(backdate, moved[start : start + CHUNK])


def _follow_up_reminders(work: Work, plan: Plan, ids: dict[str, list[int]]) -> int:
    """Schedule the date automations of the customers' next follow-ups still ahead (the
    reminder before it, the escalation after it), as saving them would have; how many
    customers have one in the coming two weeks."""
    loaded = get_form(work, f"{APP}.customer")
    soon = 0
    date_automations = [
        (automation_id, automations.spec_by_id(work, automation_id, version))
        for automation_id, event, version in automations.listening(work, loaded.form.id)
        if event == "date_field"
    ]
    for customer in plan.customers:
        planned = customer.next_visit
        if planned is None or customer.lost_at is not None:
            continue
        if work.now < planned <= work.now + dt.timedelta(days=14):
            soon += 1
        record_id = ids["customer"][customer.index]
        values = {"next_follow_up_at": _iso(planned)}
        for automation_id, spec in date_automations:
            due = timing.date_due(values["next_follow_up_at"], spec.trigger, loaded.spec.timezone)
            if due is not None and due > work.now:
                timing.track_date(work, automation_id, spec, loaded, record_id, values)
    return soon


def _iso(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _details(plan: Plan, today: dt.date, now: dt.datetime, due: int) -> dict[str, Any]:
    """What the summary tells beyond the counts."""
    grades = Counter(row.values["grade"] for row in plan.forms["customer"])
    overdue_follow_ups = sum(
        c.next_visit is not None and c.lost_at is None and c.next_visit < now
        for c in plan.customers
    )
    overdue_payments = sum(
        "received_on" not in row.values and row.values["planned_on"] < today
        for row in plan.forms["payment"]
    )
    return {
        "grades": dict(sorted(grades.items())),
        "follow_ups_due_soon": due,
        "follow_ups_overdue": overdue_follow_ups,
        "quotations": dict(Counter(row.values["status"] for row in plan.forms["quotation"])),
        "payments_overdue": overdue_payments,
    }


def _logins(staff: list[Person]) -> list[tuple[str, Person, str]]:
    first = {
        kind: next(p for p in staff if p.kind == kind)
        for kind in ("rep", "manager", "director", "vp", "finance")
    }
    team = TEAMS[first["rep"].team or 0][0]
    return [
        ("rep", first["rep"], f"销售，{team}"),
        (
            "manager",
            first["manager"],
            f"{TEAMS[first['manager'].team or 0][0]}经理，审批待办在 /approvals/",
        ),
        ("director", first["director"], "华东大区总监"),
        ("sales VP", first["vp"], "销售副总裁，看全部数据"),
        ("finance", first["finance"], "财务，看合同与回款"),
    ]


def summary(demo: Demo) -> Iterator[str]:
    """The lines ``formflow seed-demo`` prints at the end."""
    c, d = demo.counts, demo.details
    grades = " · ".join(f"{g} {n:,}" for g, n in d["grades"].items())
    quotes = ", ".join(
        f"{n:,} {status.replace('_', ' ')}" for status, n in sorted(d["quotations"].items())
    )
    yield f"Demo data ready in {demo.seconds:.1f} s (seed {demo.seed}, scale {demo.scale:g}):"
    yield (
        f"  people         {c['people']:>7,}  (30 reps in 4 teams, their 4 managers, "
        "2 regional directors, a sales VP, finance)"
    )
    yield f"  products       {c['product']:>7,}"
    yield f"  customers      {c['customer']:>7,}  (grades {grades})"
    yield f"  contacts       {c['contact']:>7,}"
    yield (
        f"  follow-ups     {c['follow_up']:>7,}  (next follow-up of {d['follow_ups_due_soon']:,} "
        f"customers in the coming two weeks, {d['follow_ups_overdue']:,} overdue)"
    )
    yield f"  opportunities  {c['opportunity']:>7,}"
    yield f"  quotations     {c['quotation']:>7,}  ({quotes})"
    yield f"  contracts      {c['contract']:>7,}"
    yield f"  payments       {c['payment']:>7,}  ({d['payments_overdue']:,} overdue)"
    yield f"Sign in with the password '{DEMO_PASSWORD}' as:"
    for role, person, what in demo.logins:
        yield f"  {role:<9} {person.username:<14} {person.name}（{what}）"


@click.command("seed-demo")
@click.option(
    "--scale",
    type=click.FloatRange(min=0, min_open=True),
    default=1.0,
    show_default=True,
    help="Multiply the record counts (1: 5,000 customers, 50,000 follow-ups).",
)
@click.option("--seed", type=int, default=DEFAULT_SEED, show_default=True, help="Random seed.")
def seed_demo_command(scale: float, seed: int) -> None:
    """Fill an empty installation with a demo sales company and 18 months of its history.

    Refuses (and changes nothing) when the database already has customers.
    """
    runtime = Runtime(Config.from_env())
    try:
        click.echo(f"seeding demo data (seed {seed}, scale {scale:g}) …")
        demo = seed_demo(runtime, scale=scale, seed=seed, progress=click.echo)
    except AlreadySeeded as refused:
        # Not a failure: `formflow dev` asks on every start.
        click.echo(f"seed-demo: {refused.errors[0].message}")
        return
    except FormflowError as error:
        for item in error.errors:
            click.echo(f"error: {item.message}", err=True)
        sys.exit(1)
    finally:
        runtime.close()
    for line in summary(demo):
        click.echo(line)
