"""The full Guandu demo data, generated deterministically from a seed with no database: branches, members,
alliance organisations, dual registrations and their reports, star ratings, four-list items and accounts.

`generate(seed, as_of)` returns a `DemoData` of frozen dataclasses; the same seed and date give identical data.
Nothing here is a real person: names are drawn from word lists (names.yaml), ID numbers are valid in format
(18 characters, Kunming region codes, GB 11643 check digit) but invented, and every member carries
`demo=True`; phones come from the range 19900000000-19900999999, which the demo keeps for itself.

Records and their fields (ids are UUIDv5 under `kit.demo_tree.DEMO_NAMESPACE`, so they are stable across loads;
dates are `datetime.date`; `*_path` are org paths such as `/gd/liujia/c01/br1/`):

Branch (党支部, ~1,000)            id, code, name, org_path, parent_path, host (community | area |
                                   working_committee | big_party_committee), street_code, community_path
                                   (None under a working committee), rating (none | standard | city_4_star |
                                   city_5_star | provincial_demo)
Member (党员, 20,000+)             id, name, gender (male | female), ethnicity, birth_date, id_number, phone,
                                   branch_id, branch_path, street_code, branch_role (secretary |
                                   deputy_secretary | committee_member | member; one secretary per branch),
                                   joined_party_on, full_member_on (None while probationary), in_service,
                                   work_unit (in-service members only), demo (always True)
AllianceOrganisation (700+)        id, name, kind (agency | school | enterprise | two_new), street_code
AllianceMembership                 id, organisation_id, body_id, body_path, body_level (alliance: a street's
                                   党建联盟 | big_party_committee: a community's 大党委), street_code, joined_on,
                                   left_on (None while in), commitments (texts signed on joining)
DualRegistration (双报到)           id, registrant (organisation | member), organisation_id, member_id (one of
                                   the two), community_id, community_path, street_code, registered_on
ServiceReport (双报告, monthly)     id, registration_id, period (YYYY-MM), services, hours (multiple of 0.5),
                                   reported_on, confirmed_on, confirmed_by (community secretary's username);
                                   some registrations have no report for the current period (as_of's month)
StarRatingChange                   id, branch_id, from_rating, to_rating, changed_on, evidence, decided_by;
                                   each rated branch's history in date order, ending at its current rating
FourListItem (四张清单)             id, list_kind (responsibility | project | problem | rectification),
                                   owner_level (district | street | community), owner_org_id, owner_org_path,
                                   owner_username, street_code, title, created_on, due_on, status (open |
                                   in_progress | done | cancelled), closed_on, progress (ProgressNote: on, text);
                                   `overdue` is open/in_progress and due before as_of
DemoAccount                        username, display_name, role (branch_secretary | member | resident),
                                   org_id, org_path, member_id; one per branch secretary, plus demo.member
                                   and demo.resident
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from datetime import date, timedelta
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from kit.demo_tree import Community, Street, demo_uid, load_tree, node_id, streets
from organization.domain.members import id_checksum

DEFAULT_SEED = 20190301
# The demo's "today" unless the loader passes its own: dates are laid out relative to it.
DEFAULT_AS_OF = date(2026, 11, 20)
WORDS = Path(__file__).parent / "names.yaml"

# The source's figures: about 1,000 branches, 993 of them up to standard, among which these are rated higher.
TOTAL_BRANCHES = 1012
UP_TO_STANDARD = 993
RATED = {"provincial_demo": 4, "city_5_star": 35, "city_4_star": 58}
RATING_LADDER = ("none", "standard", "city_4_star", "city_5_star", "provincial_demo")
DECIDED_BY = {
    "standard": "官渡区委组织部",
    "city_4_star": "昆明市委组织部",
    "city_5_star": "昆明市委组织部",
    "provincial_demo": "云南省委组织部",
}
TOTAL_MEMBERS = 21000
ALLIANCE_ORGANISATIONS = {"agency": 180, "school": 110, "enterprise": 300, "two_new": 130}
MEMBER_DUAL_REGISTRATIONS = 1800
REPORT_MONTHS = 3  # the two months before as_of's month and as_of's month (the current period)
ITEMS_PER_OWNER = 8
FOUR_LIST_STATES = ("open", "in_progress", "done", "cancelled")
PHONE_PREFIX = "19900"  # 19900000000-19900999999: kept for demo data
FOUNDED = date(2019, 3, 1)  # when the alliances were founded: no membership starts before it


# -- records ----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Branch:
    id: str
    code: str
    name: str
    org_path: str
    parent_path: str
    host: str
    street_code: str
    community_path: str | None
    rating: str


@dataclass(frozen=True)
class Member:
    id: str
    name: str
    gender: str
    ethnicity: str
    birth_date: date
    id_number: str
    phone: str
    branch_id: str
    branch_path: str
    street_code: str
    branch_role: str
    joined_party_on: date
    full_member_on: date | None
    in_service: bool
    work_unit: str | None
    demo: bool = True


@dataclass(frozen=True)
class AllianceOrganisation:
    id: str
    name: str
    kind: str
    street_code: str


@dataclass(frozen=True)
class AllianceMembership:
    id: str
    organisation_id: str
    body_id: str
    body_path: str
    body_level: str
    street_code: str
    joined_on: date
    left_on: date | None
    commitments: tuple[str, ...]


@dataclass(frozen=True)
class DualRegistration:
    id: str
    registrant: str
    organisation_id: str | None
    member_id: str | None
    community_id: str
    community_path: str
    street_code: str
    registered_on: date


@dataclass(frozen=True)
class ServiceReport:
    id: str
    registration_id: str
    period: str
    services: str
    hours: float
    reported_on: date
    confirmed_on: date | None
    confirmed_by: str | None


@dataclass(frozen=True)
class StarRatingChange:
    id: str
    branch_id: str
    from_rating: str
    to_rating: str
    changed_on: date
    evidence: str
    decided_by: str


@dataclass(frozen=True)
class ProgressNote:
    on: date
    text: str


@dataclass(frozen=True)
class FourListItem:
    id: str
    list_kind: str
    owner_level: str
    owner_org_id: str
    owner_org_path: str
    owner_username: str
    street_code: str
    title: str
    created_on: date
    due_on: date
    status: str
    closed_on: date | None
    progress: tuple[ProgressNote, ...]
    as_of: date = field(compare=False, repr=False)

    @property
    def overdue(self) -> bool:
        return self.status in ("open", "in_progress") and self.due_on < self.as_of


@dataclass(frozen=True)
class DemoAccount:
    username: str
    display_name: str
    role: str
    org_id: str
    org_path: str
    member_id: str | None


@dataclass(frozen=True)
class DemoData:
    seed: int
    as_of: date
    branches: tuple[Branch, ...]
    members: tuple[Member, ...]
    alliance_organisations: tuple[AllianceOrganisation, ...]
    alliance_memberships: tuple[AllianceMembership, ...]
    dual_registrations: tuple[DualRegistration, ...]
    service_reports: tuple[ServiceReport, ...]
    star_ratings: tuple[StarRatingChange, ...]
    four_list_items: tuple[FourListItem, ...]
    accounts: tuple[DemoAccount, ...]

    def as_dicts(self) -> dict[str, list[dict[str, Any]]]:
        """Every record as a plain dict, per kind (dates stay `date`)."""
        out: dict[str, list[dict[str, Any]]] = {}
        for name in self.__dataclass_fields__:
            value = getattr(self, name)
            if isinstance(value, tuple):
                out[name] = [asdict(record) for record in value]
        return out


@cache
def _words() -> dict[str, Any]:
    words: dict[str, Any] = yaml.safe_load(WORDS.read_text("utf-8"))
    return words


def cn_number(n: int) -> str:
    """1 → 一, 10 → 十, 12 → 十二, 21 → 二十一 (up to 99)."""
    digits = "零一二三四五六七八九"
    if not 0 < n < 100:
        raise ValueError(n)
    tens, ones = divmod(n, 10)
    if tens == 0:
        return digits[ones]
    return ("" if tens == 1 else digits[tens]) + "十" + (digits[ones] if ones else "")


# -- generation -------------------------------------------------------------------------------------------
def generate(seed: int = DEFAULT_SEED, as_of: date = DEFAULT_AS_OF, tree: dict[str, Any] | None = None) -> DemoData:
    g = _Generator(seed, as_of, streets(tree or load_tree()))
    organisations, memberships = g.alliances()
    branches = g.branches(memberships, {o.id: o for o in organisations})
    members = g.members(branches, organisations)
    registrations, reports = g.dual_registrations(organisations, members)
    ratings = g.star_ratings(branches)
    return DemoData(
        seed=seed,
        as_of=as_of,
        branches=tuple(ratings[0]),
        members=tuple(members),
        alliance_organisations=tuple(organisations),
        alliance_memberships=tuple(memberships),
        dual_registrations=tuple(registrations),
        service_reports=tuple(reports),
        star_ratings=tuple(ratings[1]),
        four_list_items=tuple(g.four_lists()),
        accounts=tuple(g.accounts(ratings[0], members)),
    )


class _Generator:
    def __init__(self, seed: int, as_of: date, tree: list[Street]) -> None:
        self.seed = seed
        self.as_of = as_of
        self.streets = tree
        self.words = _words()

    def rng(self, section: str) -> random.Random:
        # One stream per section: a change to one kind of record does not reshuffle the others.
        return random.Random(f"{self.seed}:{section}")

    def day_between(self, rng: random.Random, start: date, end: date) -> date:
        return start + timedelta(days=rng.randint(0, max(0, (end - start).days)))

    def communities(self) -> Iterator[Community]:
        for street in self.streets:
            yield from street.communities

    # -- alliances and big party committees ---------------------------------------------------------------
    def alliances(self) -> tuple[list[AllianceOrganisation], list[AllianceMembership]]:
        rng = self.rng("alliances")
        w = self.words
        names: set[str] = set()
        communities = list(self.communities())
        organisations: list[AllianceOrganisation] = []
        memberships: list[AllianceMembership] = []

        def unique(make: Any) -> str:
            while True:
                name: str = make()
                if name not in names:
                    names.add(name)
                    return name

        makers = {
            "agency": lambda: f"官渡{rng.choice(w['agencies'])}{rng.choice(w['agency_units'])}",
            "school": lambda: f"官渡区{rng.choice(w['school_words'])}{rng.choice(w['school_kinds'])}",
            "enterprise": lambda: (
                f"云南{rng.choice(w['enterprise_words'])}{rng.choice(w['enterprise_trades'])}"
                f"{rng.choice(w['enterprise_forms'])}"
            ),
            "two_new": lambda: f"官渡区{rng.choice(w['two_new_words'])}{rng.choice(w['two_new_kinds'])}",
        }
        for kind, count in ALLIANCE_ORGANISATIONS.items():
            for n in range(count):
                org_id = demo_uid("alliance_org", f"{kind}:{n}")
                # Agencies and schools mostly join a street's alliance, enterprises and social organisations
                # mostly a community's big party committee; one in ten joins both.
                street_first = rng.random() < (0.6 if kind in ("agency", "school") else 0.2)
                community = rng.choice(communities)
                organisations.append(AllianceOrganisation(org_id, unique(makers[kind]), kind, community.street_code))
                bodies = [("alliance", f"/gd/{community.street_code}/alliance/")]
                bodies.append(("big_party_committee", f"{community.path}bpc/"))
                chosen = bodies if rng.random() < 0.1 else [bodies[0] if street_first else bodies[1]]
                for level, path in chosen:
                    joined = self.day_between(rng, FOUNDED, self.as_of - timedelta(days=60))
                    left = None
                    if rng.random() < 0.04:
                        left = self.day_between(rng, joined + timedelta(days=180), self.as_of - timedelta(days=1))
                        left = left if left > joined else None
                    commitments = tuple(rng.sample(w["commitments"][kind], rng.randint(2, 3)))
                    memberships.append(
                        AllianceMembership(
                            id=demo_uid("alliance_membership", f"{org_id}:{path}"),
                            organisation_id=org_id,
                            body_id=node_id(path),
                            body_path=path,
                            body_level=level,
                            street_code=community.street_code,
                            joined_on=joined,
                            left_on=left,
                            commitments=commitments,
                        )
                    )
        return organisations, memberships

    # -- branches -----------------------------------------------------------------------------------------
    def branches(
        self, memberships: Sequence[AllianceMembership], organisations: dict[str, AllianceOrganisation]
    ) -> list[Branch]:
        rng = self.rng("branches")
        # host path -> (host kind, how many branches); minimums first, then the rest spread by weight.
        hosts: dict[str, list[Any]] = {}
        for street in self.streets:
            hosts[f"{street.path}wc/"] = ["working_committee", 3, street, None]
            for c in street.communities:
                hosts[c.path] = ["community", 2, street, c]  # br1 and br2 exist since the first demo tree
                for area in c.areas:
                    hosts[area] = ["area", 1, street, c]
                hosts[f"{c.path}bpc/"] = ["big_party_committee", 1, street, c]
        weights = {"community": 6.0, "area": 1.5, "big_party_committee": 2.0, "working_committee": 1.0}
        paths = list(hosts)
        spare = TOTAL_BRANCHES - sum(h[1] for h in hosts.values())
        for path in rng.choices(paths, weights=[weights[hosts[p][0]] for p in paths], k=spare):
            hosts[path][1] += 1
        # A big party committee's branches are mostly those of the enterprises and social organisations in it.
        member_units: dict[str, list[str]] = {}
        for m in memberships:
            kind = organisations[m.organisation_id].kind
            if m.body_level == "big_party_committee" and kind in ("enterprise", "two_new"):
                member_units.setdefault(m.body_path, []).append(organisations[m.organisation_id].name)
        out = []
        for path, (host, count, street, community) in hosts.items():
            units = list(member_units.get(path, []))
            for n in range(1, count + 1):
                if host == "working_committee":
                    name = f"{street.short}街道机关第{cn_number(n)}党支部"
                elif host == "community":
                    name = f"{community.name}社区第{cn_number(n)}党支部"
                elif host == "area":
                    area_no = int(path.rstrip("/").rsplit("/a", 1)[1])
                    suffix = "" if n == 1 else f"第{cn_number(n)}"
                    name = f"{community.name}社区第{cn_number(area_no)}居民小组{suffix}党支部"
                else:
                    name = f"{units.pop(0)}党支部" if units else f"{community.name}社区大党委第{cn_number(n)}联合党支部"
                org_path = f"{path}br{n}/"
                out.append(
                    Branch(
                        id=node_id(org_path),
                        code=f"br{n}",
                        name=name,
                        org_path=org_path,
                        parent_path=path,
                        host=host,
                        street_code=street.code,
                        community_path=community.path if community else None,
                        rating="none",
                    )
                )
        return out

    # -- star ratings -------------------------------------------------------------------------------------
    def star_ratings(self, branches: list[Branch]) -> tuple[list[Branch], list[StarRatingChange]]:
        rng = self.rng("star_ratings")
        order = list(range(len(branches)))
        rng.shuffle(order)
        current: dict[int, str] = {}
        position = 0
        for rating, count in RATED.items():
            for i in order[position : position + count]:
                current[i] = rating
            position += count
        for i in order[position:UP_TO_STANDARD]:
            current[i] = "standard"
        changes: list[StarRatingChange] = []
        rated: list[Branch] = []
        for i, branch in enumerate(branches):
            rating = current.get(i, "none")
            rated.append(Branch(**{**asdict(branch), "rating": rating}))
            steps = RATING_LADDER[1 : RATING_LADDER.index(rating) + 1]
            when = self.day_between(rng, date(2018, 6, 1), date(2021, 12, 31))
            previous = "none"
            for step in steps:
                changes.append(
                    StarRatingChange(
                        id=demo_uid("star_rating", f"{branch.org_path}:{step}"),
                        branch_id=branch.id,
                        from_rating=previous,
                        to_rating=step,
                        changed_on=when,
                        evidence=rng.choice(self.words["evidence"]),
                        decided_by=DECIDED_BY[step],
                    )
                )
                previous = step
                # Ratings are reviewed yearly: the next step comes one to two years later, never after as_of.
                gap = rng.randint(300, 700)
                when = min(when + timedelta(days=gap), self.as_of - timedelta(days=len(RATING_LADDER)))
        return rated, changes

    # -- members ------------------------------------------------------------------------------------------
    def members(self, branches: list[Branch], organisations: list[AllianceOrganisation]) -> list[Member]:
        rng = self.rng("members")
        w = self.words
        sizes = [8] * len(branches)
        weights = [3.0 if b.host in ("community", "area") else 1.5 for b in branches]
        for i in rng.choices(range(len(branches)), weights=weights, k=TOTAL_MEMBERS - sum(sizes)):
            sizes[i] += 1
        surnames = w["surnames"]
        surname_weights = [1.0 / (1 + i * 0.08) for i in range(len(surnames))]
        ethnicities, ethnicity_weights = zip(*w["ethnicities"].items(), strict=True)
        regions, region_weights = zip(*w["regions"].items(), strict=True)
        work_units = [o.name for o in organisations if o.kind in ("agency", "school")]
        ids: set[str] = set()
        out: list[Member] = []
        for branch, size in zip(branches, sizes, strict=True):
            roles = ["secretary"]
            if rng.random() < 0.4:
                roles.append("deputy_secretary")
            if size >= 15:
                roles += ["committee_member"] * rng.randint(1, 3)
            roles += ["member"] * (size - len(roles))
            for role in roles:
                n = len(out)
                gender = "male" if rng.random() < 0.56 else "female"
                pool = w["given_male"] if gender == "male" else w["given_female"]
                given = "".join(rng.choices(pool, k=1 if rng.random() < 0.3 else 2))
                # A secretary has been a party member for years; others from 18 to 90 years old.
                age = rng.randint(30, 62) if role != "member" else rng.randint(19, 90)
                birth = self.as_of - timedelta(days=age * 365 + rng.randint(0, 364))
                earliest_join = birth + timedelta(days=18 * 366)
                latest_join = self.as_of - timedelta(days=4 * 365 if role != "member" else 20)
                joined = self.day_between(rng, earliest_join, max(earliest_join, latest_join))
                full = joined + timedelta(days=365)
                in_service = age < 60 and rng.random() < 0.45
                region = rng.choices(regions, weights=region_weights)[0]
                id_number = ""
                while not id_number or id_number in ids:
                    # The 17th digit is odd for men, even for women.
                    parity = (1, 3, 5, 7, 9) if gender == "male" else (0, 2, 4, 6, 8)
                    sequence = rng.randint(0, 99) * 10 + rng.choice(parity)
                    first17 = f"{region}{birth:%Y%m%d}{sequence:03d}"
                    id_number = first17 + id_checksum(first17)
                ids.add(id_number)
                out.append(
                    Member(
                        id=demo_uid("member", n),
                        name=rng.choices(surnames, weights=surname_weights)[0] + given,
                        gender=gender,
                        ethnicity=rng.choices(ethnicities, weights=ethnicity_weights)[0],
                        birth_date=birth,
                        id_number=id_number,
                        phone=f"{PHONE_PREFIX}{n:06d}",
                        branch_id=branch.id,
                        branch_path=branch.org_path,
                        street_code=branch.street_code,
                        branch_role=role,
                        joined_party_on=joined,
                        full_member_on=full if full <= self.as_of else None,
                        in_service=in_service,
                        work_unit=rng.choice(work_units) if in_service else None,
                    )
                )
        return out

    # -- dual registration ---------------------------------------------------------------------------------
    def dual_registrations(
        self, organisations: list[AllianceOrganisation], members: list[Member]
    ) -> tuple[list[DualRegistration], list[ServiceReport]]:
        rng = self.rng("dual_registrations")
        communities = list(self.communities())
        by_street: dict[str, list[Community]] = {}
        for c in communities:
            by_street.setdefault(c.street_code, []).append(c)
        registrations: list[DualRegistration] = []
        for org in organisations:
            if org.kind == "agency":
                community = rng.choice(by_street[org.street_code])
                registrations.append(self._registration(rng, "organisation", org.id, None, community))
        in_service = [m for m in members if m.in_service]
        for member in rng.sample(in_service, min(MEMBER_DUAL_REGISTRATIONS, len(in_service))):
            # In-service members report in where they live: usually in their own street.
            pool = by_street[member.street_code] if rng.random() < 0.8 else communities
            registrations.append(self._registration(rng, "member", None, member.id, rng.choice(pool)))
        secretaries = {c.path: _community_username(c.path) for c in communities}
        periods = _months_back(self.as_of, REPORT_MONTHS)
        reports: list[ServiceReport] = []
        for reg in registrations:
            for back, (year, month) in enumerate(periods):
                start = date(year, month, 1)
                if start < reg.registered_on.replace(day=1):
                    continue
                current = back == 0
                if rng.random() < (0.35 if current else 0.06):
                    continue  # not reported (yet) this period
                last = self.as_of if current else _month_end(year, month)
                reported = self.day_between(rng, start, last)
                confirmed = None
                if rng.random() < (0.3 if current else 0.7 if back == 1 else 0.97):
                    confirmed = min(reported + timedelta(days=rng.randint(1, 10)), self.as_of)
                reports.append(
                    ServiceReport(
                        id=demo_uid("service_report", f"{reg.id}:{year}-{month:02d}"),
                        registration_id=reg.id,
                        period=f"{year}-{month:02d}",
                        services="；".join(rng.sample(self.words["services"], rng.randint(1, 3))),
                        hours=rng.randint(2, 24) / 2,
                        reported_on=reported,
                        confirmed_on=confirmed,
                        confirmed_by=secretaries[reg.community_path] if confirmed else None,
                    )
                )
        return registrations, reports

    def _registration(
        self, rng: random.Random, registrant: str, org_id: str | None, member_id: str | None, c: Community
    ) -> DualRegistration:
        return DualRegistration(
            id=demo_uid("dual_registration", f"{org_id or member_id}:{c.path}"),
            registrant=registrant,
            organisation_id=org_id,
            member_id=member_id,
            community_id=node_id(c.path),
            community_path=c.path,
            street_code=c.street_code,
            registered_on=self.day_between(rng, date(2020, 1, 1), self.as_of - timedelta(days=90)),
        )

    # -- four lists ---------------------------------------------------------------------------------------
    def four_lists(self) -> list[FourListItem]:
        rng = self.rng("four_lists")
        owners = [("district", "/gd/", "district.admin", "district")]
        for street in self.streets:
            owners.append(("street", street.path, f"{street.code}.secretary", street.code))
            owners += [("community", c.path, _community_username(c.path), c.street_code) for c in street.communities]
        kinds = list(self.words["four_lists"])
        items: list[FourListItem] = []
        for level, path, username, street_code in owners:
            for n in range(ITEMS_PER_OWNER):
                kind = kinds[n % len(kinds)]
                # Every state in every owner's lists, the rest drawn; due dates either side of as_of.
                status = FOUR_LIST_STATES[n] if n < len(FOUR_LIST_STATES) else rng.choice(FOUR_LIST_STATES)
                created = self.day_between(rng, self.as_of - timedelta(days=300), self.as_of - timedelta(days=30))
                # Open work is mostly due ahead; finished work was due whenever.
                ahead = status in ("open", "in_progress")
                due = self.as_of + timedelta(days=rng.randint(1, 180)) if ahead else created + timedelta(days=90)
                if n == len(FOUR_LIST_STATES):  # one overdue item per owner
                    status, due = "in_progress", self.as_of - timedelta(days=rng.randint(1, 20))
                closed = None
                if status in ("done", "cancelled"):
                    closed = self.day_between(rng, created + timedelta(days=1), self.as_of)
                notes_until = closed or self.as_of
                progress = tuple(
                    ProgressNote(day, text)
                    for day, text in sorted(
                        (self.day_between(rng, created, notes_until), rng.choice(self.words["progress_notes"]))
                        for _ in range(0 if status == "open" else rng.randint(1, 3))
                    )
                )
                items.append(
                    FourListItem(
                        id=demo_uid("four_list_item", f"{path}:{n}"),
                        list_kind=kind,
                        owner_level=level,
                        owner_org_id=node_id(path),
                        owner_org_path=path,
                        owner_username=username,
                        street_code=street_code,
                        title=rng.choice(self.words["four_lists"][kind]),
                        created_on=created,
                        due_on=due,
                        status=status,
                        closed_on=closed,
                        progress=progress,
                        as_of=self.as_of,
                    )
                )
        return items

    # -- accounts -----------------------------------------------------------------------------------------
    def accounts(self, branches: list[Branch], members: list[Member]) -> list[DemoAccount]:
        secretaries = {m.branch_id: m for m in members if m.branch_role == "secretary"}
        out = [
            DemoAccount(
                username=branch_username(b.org_path),
                display_name=f"{secretaries[b.id].name}（{b.name}书记）",
                role="branch_secretary",
                org_id=b.id,
                org_path=b.org_path,
                member_id=secretaries[b.id].id,
            )
            for b in branches
        ]
        # demo.member: an ordinary member of 六甲's first community's first branch; demo.resident lives there.
        home = "/gd/liujia/c01/"
        member = next(m for m in members if m.branch_path == f"{home}br1/" and m.branch_role == "member")
        out.append(DemoAccount("demo.member", member.name, "member", member.branch_id, member.branch_path, member.id))
        out.append(DemoAccount("demo.resident", "六甲社区居民（演示）", "resident", node_id(home), home, None))
        return out


def branch_username(org_path: str) -> str:
    """`/gd/liujia/c01/a1/br2/` → `liujia.c01.a1.br2.secretary`."""
    return ".".join(org_path.strip("/").split("/")[1:]) + ".secretary"


def _community_username(path: str) -> str:
    return branch_username(path)  # the same shape: liujia.c01.secretary


def _months_back(as_of: date, count: int) -> list[tuple[int, int]]:
    """(year, month) of as_of's month and the `count - 1` months before it, newest first."""
    out, year, month = [], as_of.year, as_of.month
    for _ in range(count):
        out.append((year, month))
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    return out


def _month_end(year: int, month: int) -> date:
    return (date(year + month // 12, month % 12 + 1, 1)) - timedelta(days=1)
