"""Demo data: ``formflow seed-demo`` fills an empty installation with a believable company.

A sales organisation (two regions, four teams, thirty reps, their managers and directors, a
sales VP, finance and HR) and eighteen months of its history: customers, contacts, follow-ups,
opportunities with their stage history, quotations priced from the product catalogue,
contracts (a few cancelled or refunded, some shared between two reps) and payments — with a
few quotations waiting in the managers' approval inboxes. Then its performance half: the
shipped measures, KPI and incentive plans, this year's company targets split into quarters
and months and the last two months' split down to every rep, the managers' scores of last
month, last month's published scorecards and bonus statements, a few of them in approval.

Everything comes from ``random.Random(seed)`` and the runtime's clock, so a seed gives the
same company on every database. The records go through the engine's record service
(validated, formulas computed, serial numbers drawn, revisions written) in a few large units
of work with the shipped automations quiet; the values those automations would have kept
(a customer's last and next follow-up, deal amount, grade and status, a follow-up's on-time
flag) are written by the loader, from the same rules (:mod:`sales_performance.functions`).

The values the first half of the plugin never had (satisfaction ratings, contract outcomes,
credit splits, the HR person, managers' scores) come from a second generator, so a seed
still gives the same customers, deals and people it always gave.
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
from decimal import ROUND_HALF_UP, Decimal
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

from . import measures
from .functions import APP, grade_of, grading_rules, signed_amounts
from .incentives import plans as incentive_plans
from .incentives import statements
from .kpi import plans as kpi_plans
from .kpi import scorecards
from .periods import Period
from .targets import tree as targets

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
HR_DEPARTMENT = "人力资源部"
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
#: Contracts that were called off after signing (cancelled before any money moved, or
#: refunded after some did) and contracts whose credit two reps of a team share.
UNDONE_SHARE = 0.03
SPLIT_SHARE = 0.10
CREDIT_SPLITS = ((60, 40), (70, 30), (50, 50))
#: Follow-ups the customer rated, by type.
RATED = {"visit": 0.85, "demo": 0.9}

# -- the performance half -----------------------------------------------------------------

#: The measures the company sets targets for, and how their targets are named.
TARGETED = (("contract_amount", "签约目标"), ("collected", "回款目标"))
#: This year's company target: last year's actual × 1.10, rounded to the 10,000.
GROWTH = Decimal("1.20")
TARGET_ROUNDING = Decimal(10000)
#: Bonus statements each team's manager finds in their inbox: the team's largest.
SUBMITTED_PER_TEAM = 2
COLLABORATION = (
    (90, "主动分享客户资源，帮助同事拿下了两个项目"),
    (80, "积极配合团队，例会分享有干货"),
    (70, "协作正常，跨组支持可以更主动"),
    (0, "本月协作较少，需要多参与团队项目"),
)
COACHING = (
    (90, "团队辅导到位，新人成长很快"),
    (80, "每周一对一辅导，管道复盘及时"),
    (70, "辅导有计划，执行还需加强"),
    (0, "团队管理需要加强，请制定辅导计划"),
)


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
    kind: str  # rep, manager, director, vp, finance, hr
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
    #: The managers' scores of last month (``kpi_manual_score`` records).
    scores: list[Planned] = field(default_factory=list)


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
    day long. What the performance half added (ratings, contract outcomes, credit splits,
    the HR person, managers' scores) is drawn from ``extra``, so it leaves the history the
    first generator draws as it was."""

    def __init__(
        self,
        rng: random.Random,
        now: dt.datetime,
        zone: ZoneInfo,
        extra: random.Random | None = None,
    ) -> None:
        self.rng = rng
        # without one, seeded from the first generator's state (which drawing leaves as is)
        self.extra = extra if extra is not None else random.Random(str(rng.getstate()))
        self.now = now
        self.zone = zone
        self.today = now.astimezone(zone).date()
        self.forms: dict[str, list[Planned]] = {form: [] for form in FORMS}

    # -- time ------------------------------------------------------------------------------

    def moment(
        self, start: dt.datetime, end: dt.datetime, rng: random.Random | None = None
    ) -> dt.datetime:
        """A working-hours moment between ``start`` and ``end`` (any moment there when the
        window is too narrow for one), drawn from ``rng`` (the history's by default)."""
        rng = rng or self.rng
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

    def on(self, day: dt.date, rng: random.Random | None = None) -> dt.datetime:
        """A working-hours moment of a local day (not later than now)."""
        start = dt.datetime.combine(day, dt.time(9), tzinfo=self.zone).astimezone(dt.UTC)
        return self.moment(start, min(start + dt.timedelta(hours=9), self.now), rng)

    def local_date(self, moment: dt.datetime) -> dt.date:
        return moment.astimezone(self.zone).date()

    def add(self, form: str, planned: Planned) -> int:
        self.forms[form].append(planned)
        return len(self.forms[form]) - 1

    # -- people ----------------------------------------------------------------------------

    def people(self) -> list[Person]:
        """The VP, finance, two directors, four managers, thirty reps and HR, in that
        order (HR drawn from the second generator)."""
        taken: set[str] = set()
        names: set[str] = set()

        def person(
            kind: str,
            team: int | None = None,
            region: str | None = None,
            rng: random.Random = self.rng,
        ) -> Person:
            while True:
                surname, surname_py = rng.choice(SURNAMES)
                given = rng.sample(GIVEN, rng.choice((1, 2, 2)))
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
        found.append(person("hr", rng=self.extra))
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
        planned: list[tuple[dt.datetime, Customer, dt.datetime | None, bool, bool]] = []
        for customer, share in zip(active, shares, strict=True):
            if share == 0:
                continue
            start, end = self._start(customer), self._end(customer)
            times = sorted(self.moment(start, end) for _ in range(share))
            if customer.engaged:
                times[-1] = self.moment(max(start, self.days_ago(12)), end)
                times.sort()
            previous_plan: dt.datetime | None = None  # what the customer's record says
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
                on_time = self.on_time(visited, previous_plan)
                planned.append((visited, customer, planned_next, last, on_time))
                previous_plan = planned_next
        for visited, customer, planned_next, last, on_time in planned:
            self._follow_up(customer, visited, planned_next, last, on_time)

    def on_time(self, visited: dt.datetime, planned: dt.datetime | None) -> bool:
        """As the follow_up_saved automation flags it (:func:`functions._on_time`): on or
        before the day the customer's next follow-up was planned for, or none was."""
        return planned is None or self.local_date(visited) <= self.local_date(planned)

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
        self,
        customer: Customer,
        visited: dt.datetime,
        planned_next: dt.datetime | None,
        last: bool,
        on_time: bool,
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
            "on_time": on_time,
        }
        if kind in RATED and self.extra.random() < RATED[kind]:
            values["satisfaction"] = self.satisfaction(customer.owner)
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

    def satisfaction(self, rep: Person) -> int:
        """A customer's rating of a visit or demo: mostly 3 to 5, better for stronger reps."""
        skill = (rep.strength - 0.5) / 1.1  # 0 … 1
        weights = (1, 3, 22 - 12 * skill, 45, 18 + 30 * skill)
        return self.extra.choices((1, 2, 3, 4, 5), weights=weights)[0]

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
            "status": "signed",
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

    def contract_outcomes(self, reps: list[Person]) -> None:
        """Call off about :data:`UNDONE_SHARE` of the contracts — cancelled within days of
        signing, their payment plan void, or refunded after the money already received
        (the instalments not yet paid are dropped) — and share the credit of about
        :data:`SPLIT_SHARE` of them between the signer and a teammate. At least one of
        each, at any scale."""
        rng = self.extra
        contracts = self.forms["contract"]
        if not contracts:
            return
        payments: dict[int, list[Planned]] = {}
        for row in self.forms["payment"]:
            payments.setdefault(row.values["contract"].index, []).append(row)
        dropped: set[int] = set()
        undone = max(1, round(len(contracts) * UNDONE_SHARE))
        for i in sorted(rng.sample(range(len(contracts)), undone)):
            row = contracts[i]
            received = [p for p in payments.get(i, []) if "received_on" in p.values]
            if received and rng.random() < 0.35:
                last = max(p.values["received_on"] for p in received)
                refunded = self.on(last + dt.timedelta(days=rng.randint(3, 30)), rng)
                row.values["status"] = "refunded"
                row.updated_at = max(row.at, min(refunded, self.now - dt.timedelta(hours=1)))
                dropped |= {id(p) for p in payments.get(i, []) if "received_on" not in p.values}
            else:
                row.values["status"] = "cancelled"
                a_day, a_week = (row.at + dt.timedelta(days=n) for n in (1, 7))
                row.updated_at = self.moment(min(a_day, self.now), min(a_week, self.now), rng)
                dropped |= {id(p) for p in payments.get(i, [])}
        self.forms["payment"] = [p for p in self.forms["payment"] if id(p) not in dropped]
        teams: dict[int | None, list[Person]] = {}
        for rep in reps:
            teams.setdefault(rep.team, []).append(rep)
        by_id = {rep.id: rep for rep in reps}
        shared = max(1, round(len(contracts) * SPLIT_SHARE))
        for i in sorted(rng.sample(range(len(contracts)), shared)):
            values = contracts[i].values
            signer = by_id[values["owner"]]
            mate = rng.choice([r for r in teams[signer.team] if r is not signer])
            mine, theirs = rng.choice(CREDIT_SPLITS)
            values["team"] = [
                {"member": signer.id, "share": mine},
                {"member": mate.id, "share": theirs},
            ]

    def manual_scores(self, staff: list[Person], period: Period) -> list[Planned]:
        """The managers' scores of ``period``, given in its last working days: collaboration
        for each rep (by their manager), coaching for each manager (by their director) and
        director (by the VP) — better, on the whole, for the stronger teams."""
        rng = self.extra
        end = dt.datetime.combine(period.end, dt.time(0), tzinfo=self.zone).astimezone(dt.UTC)
        start = end - dt.timedelta(days=3)
        managers = {p.team: p for p in staff if p.kind == "manager"}
        directors = {p.region: p for p in staff if p.kind == "director"}
        vp = next(p for p in staff if p.kind == "vp")
        reps = [p for p in staff if p.kind == "rep"]
        team_skill = _mean_strength(reps, lambda r: r.team)
        region_skill = _mean_strength(reps, lambda r: r.region)
        found = []
        for person in staff:
            if person.kind == "rep":
                metric, scorer, skill = "collaboration", managers[person.team], person.strength
                comments = COLLABORATION
            elif person.kind == "manager":
                metric, scorer = "coaching", directors[person.region]
                skill, comments = team_skill[person.team], COACHING
            elif person.kind == "director":
                metric, scorer = "coaching", vp
                skill, comments = region_skill[person.region], COACHING
            else:
                continue
            score = min(100, max(50, round(rng.gauss(62 + 20 * skill, 7))))
            comment = next(text for floor, text in comments if score >= floor)
            values = {
                "member": person.id,
                "period": period.key,
                "metric": metric,
                "score": score,
                "comment": comment,
            }
            found.append(Planned(values, self.moment(start, end, rng), scorer.id))
        return found

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


def _mean_strength(reps: list[Person], key: Callable[[Person], Any]) -> dict[Any, float]:
    """The reps' average strength by team (or region)."""
    groups: dict[Any, list[float]] = {}
    for rep in reps:
        groups.setdefault(key(rep), []).append(rep.strength)
    return {group: sum(values) / len(values) for group, values in groups.items()}


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
    opportunities, 1,500 quotations); the organisation, the catalogue and the performance
    half (targets, scorecards and statements of the people) stay the same size.
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
    planner = Planner(random.Random(seed), base, zone, random.Random(f"{seed}/performance"))
    staff = planner.people()

    step = time.monotonic()
    with runtime.write() as work:
        work.now = now
        _refuse_if_seeded(work)
        departments = _organisation(work, staff, base)
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
    planner.contract_outcomes(reps)
    deal_amounts = planner.customer_values(customers, rules, now)
    plan = Plan(planner.forms, customers, approvals, totals, deal_amounts, base, now)
    plan.scores = planner.manual_scores(staff, Period.containing("month", today).previous())
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
        _contact_lists(work, plan, ids)
        _date_history(work, plan, ids)
        due = _follow_up_reminders(work, plan, ids)
    say(f"  dates, reminders, checks  {time.monotonic() - step:.1f} s")

    step = time.monotonic()
    performance = _performance(runtime, plan, staff, departments, ids)
    say(f"  targets, scores, scorecards, bonus statements  {time.monotonic() - step:.1f} s")

    counts = {"people": len(staff), "product": len(PRODUCTS)}
    counts.update({form: len(rows) for form, rows in plan.forms.items()})
    counts.update(
        sales_target=performance["targets"],
        kpi_manual_score=len(plan.scores),
        kpi_result=sum(performance["grades"].values()),
        bonus_statement=performance["statements"],
    )
    details = _details(plan, planner.today, now, due)
    details["performance"] = performance
    demo = Demo(seed=seed, scale=scale, counts=counts, details=details, logins=_logins(staff))
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


def _organisation(work: Work, staff: list[Person], now: dt.datetime) -> dict[str, int]:
    """Users, the department tree with its heads, memberships and roles; the departments'
    ids by name."""
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
    hr = next(p for p in staff if p.kind == "hr")
    company = people.create_department(work, COMPANY, head_id=vp.id)
    made = {COMPANY: company.id}
    made[FINANCE_DEPARTMENT] = people.create_department(
        work, FINANCE_DEPARTMENT, parent_id=company.id, head_id=finance.id
    ).id
    made[HR_DEPARTMENT] = people.create_department(
        work, HR_DEPARTMENT, parent_id=company.id, head_id=hr.id
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
    people.set_memberships(work, hr.id, [made[HR_DEPARTMENT]])
    roles = {
        "sales_vp": people.ensure_role(work, "sales_vp", "销售副总裁"),
        "finance": people.ensure_role(work, "finance", "财务"),
        "hr": people.ensure_role(work, "hr", "人力资源"),
        "sales_manager": people.ensure_role(work, "sales_manager", "销售经理/总监"),
        "sales_rep": people.ensure_role(work, "sales_rep", "销售代表"),
    }
    people.set_roles(work, vp.id, [roles["sales_vp"].id])
    people.set_roles(work, finance.id, [roles["finance"].id])
    people.set_roles(work, hr.id, [roles["hr"].id])
    for person in staff:
        # directors are assessed and paid as managers too: the manager plans' team
        # metrics count the region they head, their target is the region's
        if person.kind in ("manager", "director"):
            people.set_roles(work, person.id, [roles["sales_manager"].id])
        elif person.kind == "rep":
            people.set_roles(work, person.id, [roles["sales_rep"].id])
    return made


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
#: The performance half: everybody reads their own targets, scorecards and bonus
#: statements (the forms' owner is the person they are about) and files appeals against
#: their scorecards; managers read their subtree's and score and adjust it; the VP reads
#: everything and scores the directors; finance and HR read every statement (they
#: countersign them), HR every scorecard and appeal. Plans and measures are read by all
#: and changed by admins only (admins need no grant).
OWN_VIEWS = {"name": "本人的：查看", "actions": ["view"], "scope": "own"}
OWN_FILES = {"name": "本人的：查看与提交", "actions": ["view", "create"], "scope": "own"}
TEAM_FILES = {**TEAM, "name": "经理：本团队的（可录入）", "actions": ["view", "create", "export"]}
VP_FILES = {**VP, "name": "销售副总裁：全部（可录入）", "actions": ["view", "create", "export"]}
HR_VIEWS = {"name": "人力：全部", "role": "hr", "actions": ["view", "export"], "scope": "all"}
PERFORMANCE_GRANTS = {
    "sales_target": [OWN_VIEWS, TEAM, VP],
    "kpi_result": [OWN_VIEWS, TEAM, VP, HR_VIEWS],
    "kpi_appeal": [OWN_FILES, TEAM, VP, HR_VIEWS],
    "bonus_statement": [OWN_VIEWS, TEAM, VP, FINANCE_VIEWS, HR_VIEWS],
    "target_adjustment": [OWN_VIEWS, TEAM_FILES, VP],
    "kpi_manual_score": [TEAM_FILES, VP_FILES],
}
READ_BY_ALL = ("product", "grading_rule", "sales_measure", "kpi_plan", "incentive_plan")


def _grant(work: Work) -> None:
    for form in SALES_FORMS:
        grants = [OWN, TEAM, VP]
        if form in ("customer", "quotation", "contract"):
            grants.append(FINANCE_VIEWS)
        elif form == "payment":
            grants.append(FINANCE_EDITS)
        replace_grants(work, get_form(work, f"{APP}.{form}"), grants)
    for form, grants in PERFORMANCE_GRANTS.items():
        replace_grants(work, get_form(work, f"{APP}.{form}"), grants)
    for form in READ_BY_ALL:
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


def _contact_lists(work: Work, plan: Plan, ids: dict[str, list[int]]) -> None:
    """Each customer's contacts field lists its contacts, as the contact automations keep it
    (written at the moment the contacts were: the customer's creation)."""
    work.memo[QUIET] = True
    loaded = get_form(work, f"{APP}.customer")
    if "contacts" not in loaded.spec.by_key:
        return
    for customer in plan.customers:
        if customer.contacts:
            work.now = customer.created
            contacts = [ids["contact"][i] for i in customer.contacts]
            records.change_as_step(
                work, loaded, ids["customer"][customer.index], {"contacts": contacts}, None
            )
    work.now = plan.now


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
        for automation_id, event, version in automations.listening(work, loaded)
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


# -- the performance half -------------------------------------------------------------------


def _performance(
    runtime: Runtime,
    plan: Plan,
    staff: list[Person],
    departments: dict[str, int],
    ids: dict[str, list[int]],
) -> dict[str, Any]:
    """What a company using the whole plugin has by now: the shipped measures and plans,
    this year's targets, last month's managers' scores, published scorecards and bonus
    statements (a few of them waiting for their manager's approval). Each written as of
    the moment it happened — the targets at the start of the year and of their month,
    the scorecards and statements on the 1st at the hours of the ``kpi_publish`` and
    ``incentive_run`` schedules — by the system, as those schedules run them."""
    zone = ZoneInfo(runtime.config.timezone)
    today = plan.base.astimezone(zone).date()
    year, month = Period.containing("year", today), Period.containing("month", today)
    previous = month.previous()

    def at(day: dt.date, hour: int) -> dt.datetime:
        moment = dt.datetime.combine(day, dt.time(hour), tzinfo=zone).astimezone(dt.UTC)
        return min(moment, plan.now)

    with runtime.write() as work:
        work.memo[QUIET] = True
        work.now = at(year.start, 9)
        kpi_plans.ensure_defaults(work)  # and the measures
        incentive_plans.ensure_defaults(work)
        company = _company_targets(work, year, (previous, month), departments, staff, at)
    _load(runtime, "kpi_manual_score", plan.scores, ids, plan)
    with runtime.write() as work:
        work.memo[QUIET] = True
        work.now = at(month.start, 2)
        scorecards.publish(work, previous.key)
        work.now = at(month.start, 3)
        statements.run_period(work, previous.key)
        submitted = _submit(work, previous, staff, plan.now)
        cards = scorecards.scorecards(work, previous.key)
        best_first = {grade: -floor for card in cards for floor, grade in card.plan.grades}
        listed = statements.list_statements(work, previous.key)
        count = len(targets.all_targets(work))
    return {
        "year": year.key,
        "months": [previous.key, month.key],
        "company_targets": company,
        "targets": count,
        "grades": dict(
            sorted(Counter(c.grade for c in cards).items(), key=lambda g: best_first[g[0]])
        ),
        "statements": len(listed),
        "bonus_total": sum((Decimal(str(s["total"] or 0)) for s in listed), Decimal(0)),
        "in_approval": submitted,
    }


def run_rate_window(month: Period) -> tuple[Period, ...]:
    """The three months up to and including ``month``: the run rate targets grow from."""
    return (month.previous().previous(), month.previous(), month)


def _company_targets(
    work: Work,
    year: Period,
    months: tuple[Period, ...],
    departments: dict[str, int],
    staff: list[Person],
    at: Callable[[dt.date, int], dt.datetime],
) -> dict[str, Decimal]:
    """For each measure of :data:`TARGETED`: the company's target of ``year`` (the run
    rate of the three months up to the first of ``months`` × 4 quarters × 1.10, rounded to
    the 10,000: the demo's history grows towards today, so last year's actual would make
    every target easy) split equally into quarters and months, and each of ``months`` split
    over the organisation down to the reps; the targets of the year by measure key."""
    loaded = targets.target_form(work)
    vp = next(p for p in staff if p.kind == "vp")
    weights = _org_weights(departments, staff)
    window = run_rate_window(months[0])
    found = {}
    for key, label in TARGETED:
        measure = measures.get_measure(work, key)
        actual = sum(
            measures.actuals(work, measure, window[0].start, window[-1].end).values(), Decimal(0)
        )
        amount = (actual * 4 * GROWTH / TARGET_ROUNDING).quantize(
            Decimal(1), ROUND_HALF_UP
        ) * TARGET_ROUNDING
        work.now = at(year.start, 9)
        root = records.create_as_step(
            work,
            loaded,
            {
                "name": f"{COMPANY}{label} {year.key}",
                "measure": measure.record_id,
                "period": year.key,
                "level": "company",
                "department": departments[COMPANY],
                "member": vp.id,
                "amount": str(amount),
                "note": f"{window[0].key}–{window[-1].key} 三个月实绩 {actual:,.2f} × 4 × 120 %，"
                "取整到万",
            },
        )
        by_month: dict[str, int] = {}
        for quarter in targets.decompose(work, root.id, by="period", into="quarter").children:
            split = targets.decompose(work, quarter.id, by="period", into="month")
            by_month.update({child.period.key: child.id for child in split.children})
        for month in months:
            work.now = at(month.start, 10)
            target_id = by_month.get(month.key)
            if target_id is None:  # last December, before this year's targets: as January
                january = targets.load(work, by_month[f"{year.key}-01"])
                target_id = records.create_as_step(
                    work,
                    loaded,
                    {
                        "name": f"{COMPANY}{label} {month.key}",
                        "measure": measure.record_id,
                        "period": month.key,
                        "level": "company",
                        "department": departments[COMPANY],
                        "member": vp.id,
                        "amount": str(january.amount),
                    },
                ).id
            _split_over_org(work, target_id, weights)
        found[key] = amount
    return found


class Weights(NamedTuple):
    """How a target is shared over the organisation: by the reps' strength (a rep's, a
    team's or a region's reps' together); other departments and people carry none."""

    departments: dict[int, Decimal]
    reps: dict[int, Decimal]

    def of(self, level: str, department: int | None, member: int | None) -> Decimal:
        if level == "rep":
            return self.reps.get(member or 0, Decimal(0))
        return self.departments.get(department or 0, Decimal(0))


def _org_weights(departments: dict[str, int], staff: list[Person]) -> Weights:
    # managers weigh a rep's target only half by their record: strong reps overachieve,
    # weak ones trail, as in any team
    reps = {p.id: (1 + Decimal(str(p.strength))) / 2 for p in staff if p.kind == "rep"}
    by_department: dict[int, Decimal] = {}
    regions = dict(REGIONS)
    for i, (title, region, _) in enumerate(TEAMS):
        team = sum((reps[p.id] for p in staff if p.kind == "rep" and p.team == i), Decimal(0))
        by_department[departments[title]] = team
        above = departments[regions[region]]
        by_department[above] = by_department.get(above, Decimal(0)) + team
    return Weights(by_department, reps)


def _split_over_org(work: Work, target_id: int, weights: Weights) -> None:
    """Split a target over the departments below its own, those over theirs and so on to
    the reps (``targets.decompose`` by org, with custom weights); the children that carry
    nothing — finance and HR under the company, a manager among their team's members —
    are deleted, so every target left has somebody selling to it."""
    loaded = targets.target_form(work)
    waiting = [target_id]
    while waiting:
        node = targets.load(work, waiting.pop(0))
        shares = [
            weights.of(child.level, child.department, child.member)
            for child in targets.org_children(work, node)
        ]
        made = targets.decompose(work, node.id, by="org", method="custom", weights=shares)
        for child in made.children:
            if not weights.of(child.level, child.department, child.member):
                records.delete(work, loaded, child.id)
            elif child.level != "rep":
                waiting.append(child.id)


def _submit(work: Work, period: Period, staff: list[Person], now: dt.datetime) -> int:
    """Send each team's :data:`SUBMITTED_PER_TEAM` largest rep statements for approval,
    in the hours before now (so their reminders are still ahead); how many were sent."""
    started = work.now
    team_of = {p.id: p.team for p in staff if p.kind == "rep"}
    drafts = [
        s
        for s in statements.list_statements(work, period.key)
        if s["status"] == "draft" and s["member"] in team_of
    ]
    chosen = []
    for team in range(len(TEAMS)):
        mine = [s for s in drafts if team_of[s["member"]] == team]
        mine.sort(key=lambda s: (-Decimal(str(s["total"] or 0)), s["member"]))
        chosen += mine[:SUBMITTED_PER_TEAM]
    chosen.sort(key=lambda s: s["id"])
    for k, statement in enumerate(chosen):
        work.now = max(started, now - dt.timedelta(minutes=20 * (len(chosen) - k)))
        statements.submit(work, statement["id"])
    return len(chosen)


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
    follow_ups = plan.forms["follow_up"]
    return {
        "grades": dict(sorted(grades.items())),
        "follow_ups_due_soon": due,
        "follow_ups_overdue": overdue_follow_ups,
        "follow_ups_on_time": sum(row.values["on_time"] for row in follow_ups),
        "follow_ups_rated": sum("satisfaction" in row.values for row in follow_ups),
        "quotations": dict(Counter(row.values["status"] for row in plan.forms["quotation"])),
        "contracts": dict(Counter(row.values["status"] for row in plan.forms["contract"])),
        "contracts_split": sum("team" in row.values for row in plan.forms["contract"]),
        "payments_overdue": overdue_payments,
    }


def _logins(staff: list[Person]) -> list[tuple[str, Person, str]]:
    first = {
        kind: next(p for p in staff if p.kind == kind)
        for kind in ("rep", "manager", "director", "vp", "finance", "hr")
    }
    team = TEAMS[first["rep"].team or 0][0]
    return [
        ("rep", first["rep"], f"销售，{team}，看自己的目标、考核与奖金"),
        (
            "manager",
            first["manager"],
            f"{TEAMS[first['manager'].team or 0][0]}经理，报价与奖金审批待办在 /approvals/",
        ),
        ("director", first["director"], "华东大区总监"),
        ("sales VP", first["vp"], "销售副总裁，看全部数据"),
        ("finance", first["finance"], "财务，看合同、回款与奖金单"),
        ("HR", first["hr"], "人力资源，看全部考核结果与奖金单，会签奖金"),
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
        "2 regional directors, a sales VP, finance, HR)"
    )
    yield f"  products       {c['product']:>7,}"
    yield f"  customers      {c['customer']:>7,}  (grades {grades})"
    yield f"  contacts       {c['contact']:>7,}"
    yield (
        f"  follow-ups     {c['follow_up']:>7,}  (next follow-up of {d['follow_ups_due_soon']:,} "
        f"customers in the coming two weeks, {d['follow_ups_overdue']:,} overdue; "
        f"{d['follow_ups_on_time'] / max(1, c['follow_up']):.0%} on time, "
        f"{d['follow_ups_rated']:,} rated by the customer)"
    )
    yield f"  opportunities  {c['opportunity']:>7,}"
    yield f"  quotations     {c['quotation']:>7,}  ({quotes})"
    outcomes = [
        f"{d['contracts'][status]:,} {status}"
        for status in ("cancelled", "refunded")
        if d["contracts"].get(status)
    ]
    outcomes.append(f"{d['contracts_split']:,} with the credit shared by two reps")
    yield f"  contracts      {c['contract']:>7,}  ({', '.join(outcomes)})"
    yield f"  payments       {c['payment']:>7,}  ({d['payments_overdue']:,} overdue)"
    p = d["performance"]
    last, current = p["months"]
    company = " · ".join(f"{label} {p['company_targets'][key]:,.0f}" for key, label in TARGETED)
    yield (
        f"  targets        {c['sales_target']:>7,}  ({p['year']} company: {company}; "
        f"{last} and {current} split to every rep)"
    )
    grades = " · ".join(f"{g} {n}" for g, n in p["grades"].items())
    yield f"  scorecards     {c['kpi_result']:>7,}  ({last} published: {grades})"
    yield (
        f"  bonus statements {c['bonus_statement']:>5,}  ({last}, {p['bonus_total']:,.2f} yuan "
        f"in all; {p['in_approval']} waiting for their manager's approval)"
    )
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
