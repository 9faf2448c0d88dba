"""The lexicon: words and phrases that signal danger, needs, intents. Each hit becomes a cue shown to the operator.

Chinese phrasing comes from real pleas (Lushan 2013, Henan 2021); English from the Haiti 2010 SMS and tweets. The
English patterns also carry the commonest Haitian Creole words of those SMS as they were sent (anba dekonb, sekou,
grangou…, written without accents as SMS are): text that is neither Chinese nor English gets the English
patterns, and a Creole plea should not go unexplained.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import ahocorasick_rs

# category → (Chinese pattern, English pattern)
_LEXICON: dict[str, tuple[str, str]] = {
    "danger": (
        r"被困|困在|困住|受困|被埋|埋在|埋了|压在|压住|废墟|坍塌|倒塌|塌了|溺水|落水|被冲走|冲走|漂走|水淹|淹没|淹到|"
        r"齐腰|齐胸|没过|到腰|到胸|到脖子|齐脖|水位.{0,4}(?:上涨|上升)|爬到屋顶|屋顶上|楼顶上|起火|着火|火灾|大火|爆炸|触电|昏迷|不省人事|"
        r"呼吸困难|大出血|流血|骨折|重伤|受伤|伤员|心脏病|脑溢血|抽搐|休克|生命危险|危在旦夕|快不行|撑不住|失温|"
        r"泥石流|山体滑坡|滑坡|出不去|无法撤离|等待救援|难产|大出血|急救",
        r"\btrapped\b|\bstuck\b|\bburied\b|\brubble\b|\bcollapsed?\b|\binjur\w*|\bwounded\b|\bbleeding\b|"
        r"\bbroken (?:leg|arm|bone)s?\b|\bunconscious\b|\bdrown\w*|\bon fire\b|\bburning\b|\bexplosion\b|"
        r"\bheart attack\b|can'?t breathe|\bdying\b|\bcritical\b|\bemergency\b|\bgunshot\b|\bamputat\w*|\bfracture\w*|"
        # Creole: under the rubble / the house, the house fell, trapped, injured, bleeding, dying, caught fire
        r"\banba (?:dekonb|debri|beton|kay|tol|mi)\w*|\bkay la (?:kraze|tonbe)\w*|\bkwense\w*|\bblese\w*|"
        r"\bsenyen\w*|\bap mouri\b|\bpran dife\b|\bpa ka respire\b",
    ),
    "plea": (
        r"救命|求救|救救|快来救|求援|求助|sos|🆘|帮帮|急急急|十万火急|请求支援|请求援救|请求救援|需要救援|急需救援|求救援|"
        r"需要支援|急需支援|请求援助|望救援|盼救援|希望.{0,8}救援|请.{0,6}救援|请求.{0,6}(?:救助|支援|帮助)|请关注|麻烦关注|"
        r"求关注|恳请|恳求|请有关部门|希望有关部门|呼吁政府",
        r"\bhelp us\b|\bplease help\b|\bsave us\b|\brescue (?:us|me|them)\b|\bsos\b|\bsend help\b|\burgent\w*|"
        r"\bhelp me\b|\bneed help\b|"
        # Creole: help (us), save us, please come/help
        r"\bsekou\w*|\bede (?:nou|m|mwen)\b|\bedem\b|\bedenou\b|\bsove (?:nou|m|mwen)\b|"
        r"\btanpri (?:ede|sekou|vin|pote|voye)\w*|\bsouple (?:ede|sekou|vin|pote|voye)\w*|"
        r"\bsilvouple (?:ede|sekou|vin|pote|voye)\w*",
    ),
    "missing": (
        r"失联|联系不上|没有联系上|没联系上|未联系上|失去联系|联系不到|不见踪影|下落不明|失踪|走失|寻人|寻找|找不到|没有消息|没消息|打不通",
        r"\bmissing\b|\blooking for\b|\bsearch(?:ing)? for\b|\blost (?:my|our|his|her)\b|\bwhereabouts\b|"
        r"\bhave(?:n't| not) heard\b|\bno news\b|\bcan'?t find\b|\bcan'?t reach\b|"
        # Creole: disappeared, cannot find, no news of, don't know where
        r"\bdispar\w*|\bpa (?:ka )?jwenn (?:pitit|timoun|manman|papa|fr|se|mari|madanm|fanmi)\w*|"
        r"\bpa gen nouv\w*|\bpa konn kote\b",
    ),
    "medical": (
        r"医生|医院|药品|缺药|药物|急救|救护车|发烧|高烧|透析|胰岛素|氧气|生病|病危|手术|输液|感染",
        r"\bdoctors?\b|\bhospital\w*|\bmedic\w*|\bsurgery\b|\bambulance\b|\bsick\b|\bill\b|\bfever\b|\bdiarrh\w*|"
        r"\bcholera\b|\bwounds?\b|\bpain\b|\btreatment\b|\bclinic\b|\bnurses?\b|\bdialysis\b|\binsulin\b|\bblood\b|"
        # Creole: sick, hospital, doctor, medicine, fever, diarrhoea
        r"\bmalad\w*|\blopital\w*|\bdokt\w*|\bmedikam\w*|\blafy\w*|\bdyare\b|\bkolera\b",
    ),
    "needs": (
        r"缺水|没水|断水|饮用水|缺粮|断粮|没吃的|没有吃的|食物|物资|急需|告急|帐篷|住处|转移|安置|断电|没电|停电|饿|"
        r"充电宝|奶粉|尿不湿|被褥|被子|衣服|缺少|匮乏|短缺|无水|停水",
        r"\bwater\b|\bfood\b|\bhungry\b|\bstarv\w*|\bshelter\b|\btents?\b|\bblankets?\b|\bclothes\b|\bneeds?\b|"
        r"\bnothing to eat\b|\brice\b|\bmilk\b|"
        # Creole: water, food, hungry, shelter, tarpaulin
        r"\bdlo\b|\bmanje\b|\bgrangou\b|\babri\b|\bprela\b",
    ),
    "urgent_need": (
        r"急需|告急|缺水|没水|断水|缺粮|断粮|没吃的|没有吃的|缺药|缺少|匮乏|短缺|没有食物|无水|无食物|停水停电|断水断电|没水没电|"
        r"没吃上|吃不上|缺.{0,3}(?:饮用水|食物|粮食|药|帐篷|被子|衣物)|(?:需要|急需|需|等待|等着|无法|没法)(?:转移|撤离)",
        r"\bnothing to eat\b|\bno (?:food|water)\b|\bhungry\b|\bstarv\w*|\burgently need\b|\bneed (?:food|water)\b|"
        # Creole: hungry, starving, no food / no water
        r"\bgrangou\b|\bmouri grangou\b|\bpa (?:gen|genyen|jwenn) (?:manje|dlo)\b",
    ),
    "offer": (
        r"可以提供|免费提供|提供.{0,6}(?:帮助|住宿|车辆|物资|食物|餐|饮用水)|无偿|有需要的|需要的(?:朋友|人)?(?:请)?(?:随时)?联系|"
        r"可免费|免费(?:住|充电|就餐|领取|发放)|我们可以|可以帮|可来领取|可以来.{0,10}领取|有需求请|如有需要|"
        r"志愿者招募|招募.{0,6}志愿者|急需志愿者|需要志愿者",
        r"\bwe can (?:offer|provide|help)\b|\boffering\b|\bgiving away\b|\bfree (?:food|water|shelter)\b|"
        r"\bvolunteers? (?:needed|wanted)\b",
    ),
    "donation": (
        r"捐赠|捐款|捐物|捐助|爱心|志愿者|驰援|援助",
        r"\bdonat\w*|\bvolunteer\w*|\bcharity\b|\brelief fund\b",
    ),
    "news": (
        r"近日|记者|据悉|据了解|的微博视频|新闻|报道|通报|日电|讯\b|发布会|官方|发布了|消防救援(?:支队|大队)|向.{0,10}捐",
        r"\baccording to\b|\breported\b|\bnews\b|\bofficials? said\b|\bdeath toll\b",
    ),
    "sympathy": (
        r"祈福|祈祷|平安|加油|挺住|保佑|默哀|心疼|众志成城|一方有难|致敬|感动|愿.{0,6}平安|逝者安息",
        r"\bpray\w*|\bthoughts\b|\bcondolence\w*|\brip\b|\bgod bless\b|\bstay strong\b|\bheart goes out\b|"
        r"\bsorry for\b",
    ),
    "consultation": (
        r"请问|咨询|怎么办理|如何|怎么|怎样|能否|可否|是否|吗\?|吗$|哪里可以|什么时候|多久|为何|为什么|何时",
        r"\bhow (?:do|can|to|much|long)\b|\bwhere (?:can|is|are|do)\b|\bwhen will\b|\bis there\b|\bcan i\b|\?",
    ),
    "complaint": (
        r"投诉|举报|反映|不作为|乱收费|扰民|噪音|拖欠|欠薪|违规|违法|违建|污染|臭味|不合理|推诿|不处理|没人管|无人管|"
        r"强烈要求|乱象|霸王|敷衍|克扣|强制|恶劣",
        r"\bcomplain\w*|\bnobody came\b|\bno one came\b|\bignored\b|\bcorrupt\w*|\bstolen\b|\bunfair\b|"
        r"\bhaven'?t received\b|\bhasn'?t received\b|\bnot received\b|\bstealing\b",
    ),
    "suggestion": (
        r"建议|提议|呼吁|希望.{0,12}(?:能|可以|尽快|增加|设置)|应该|能不能.{0,8}(?:增加|设置|开通)",
        r"\bsuggest\w*|\bshould\b|\brecommend\w*|\bpropos\w*",
    ),
    "report": (
        r"据悉|据了解|消息|报道|通报|记者|发布|最新|截至|现场|转发|扩散|震级|级地震|死亡|遇难|伤亡",
        r"\breport\w*|\baccording to\b|\bnews\b|\bupdate\w*|\bconfirmed\b|\bkilled\b|\bdeath toll\b|\bmagnitude\b|"
        r"\bofficials?\b|\bdeaths?\b",
    ),
    "sos": (
        r"救命|求救|救救|快来救|sos|🆘",
        r"\bsos\b|\bhelp us\b|\bsave us\b|\bsend help\b|\bhelp me\b|\bsekou\w*|\bede nou\b|\bsove nou\b",
    ),
    # A letter to officials (尊敬的书记, 反映, 投诉) is casework: a hazard it describes is not an emergency call.
    "casework": (
        r"尊敬的|领导您好|领导:|书记|市长|县长|局长|主任您好|反映|投诉|举报|隐患|烂尾|信访|诉求",
        r"\bdear (?:sir|madam|mayor|officials?)\b|\bcomplain\w*",
    ),
    "self": (
        r"我们|我家|我妈|我爸|我女朋友|我男朋友|我老婆|我老公|家人|我的|父母|爸妈|我",
        r"\bwe\b|\bmy\b|\bour\b|\bi\b|\bme\b|\bus\b|\bfamily\b|\bnou\b|\bmwen\b|\bfanmi\w*",
    ),
}


@dataclass(frozen=True, slots=True)
class Hits:
    """Terms found per category."""

    terms: dict[str, tuple[str, ...]]

    def count(self, category: str) -> int:
        return len(self.terms.get(category, ()))

    def has(self, category: str) -> bool:
        return bool(self.terms.get(category))


_HASHTAG = re.compile(r"#[^#\n]{1,40}#|【#[^#】]{1,40}#】")
_REGEX_SYNTAX = re.compile(r"[.^$*+?{}\[\]\\()|]")


def _top_level_terms(pattern: str) -> list[str]:
    """Split a pattern on the ``|`` that are not inside a group or a character class."""
    terms: list[str] = []
    current: list[str] = []
    depth, escaped = 0, False
    for ch in pattern:
        if escaped:
            escaped = False
        elif ch == "\\":
            escaped = True
        elif ch in "([":
            depth += 1
        elif ch in ")]":
            depth -= 1
        elif ch == "|" and depth == 0:
            terms.append("".join(current))
            current = []
            continue
        current.append(ch)
    return [*terms, "".join(current)]


def _word_start_first(pattern: str) -> re.Pattern[str]:
    r"""The same matches, found about twice as fast: the terms that begin at a word boundary are tried together
    behind one ``\b`` and a look-ahead for their first letters, instead of each alternative at every position."""
    terms = _top_level_terms(pattern)
    bounded = [term[2:] for term in terms if term.startswith(r"\b")]
    others = [term for term in terms if not term.startswith(r"\b")]
    if not bounded:
        return re.compile(pattern)
    firsts = {term[0] for term in bounded}
    lead = r"\b(?=[" + "".join(sorted(firsts)) + "])" if all(c.isalnum() for c in firsts) else r"\b"
    return re.compile("|".join([lead + "(?:" + "|".join(bounded) + ")", *others]))


_COMPILED = {  # applied to lower-cased text
    "zh": {cat: re.compile(pair[0]) for cat, pair in _LEXICON.items()},
    "en": {cat: _word_start_first(pair[1]) for cat, pair in _LEXICON.items()},
}


_LEADING_LITERAL = re.compile(r"(?:\\b)?([a-z' ]+)")
_ESCAPED_MARK = re.compile(r"\\([^\w\s])")


def _stem(term: str) -> str | None:
    """Up to four letters every match of ``term`` begins with (``\\binjur\\w*`` → ``inju``), or None when the term
    does not begin with three such letters. A letter made optional by a following ``?``, ``*`` or ``{`` is left out.
    A term that is one escaped punctuation mark (``\\?``) is its own stem."""
    mark = _ESCAPED_MARK.fullmatch(term)
    if mark:
        return mark.group(1)
    match = _LEADING_LITERAL.match(term)
    if match is None:
        return None
    literal = match.group(1)
    if term[match.end() : match.end() + 1] in ("?", "*", "{"):
        literal = literal[:-1]
    return literal[:4] if len(literal) >= 3 else None


def word_stems(pattern: str) -> tuple[str, ...] | None:
    """One stem per top-level term, or None when a term has none (the category is then always scanned)."""
    stems = [_stem(term) for term in _top_level_terms(pattern)]
    return None if any(stem is None for stem in stems) else tuple(dict.fromkeys(s for s in stems if s))


class Screen:
    """Which categories may have a term in a text, from the literal openings of their terms (``None``: a category
    whose terms do not all begin with a literal, always scanned), all found in one Aho–Corasick pass. A category
    none of whose openings is in the text cannot match, and its regex scan is skipped."""

    def __init__(self, openings: dict[str, tuple[str, ...] | None]) -> None:
        self.always = frozenset(category for category, found in openings.items() if found is None)
        self.literals = sorted({literal for found in openings.values() if found for literal in found})
        self.categories = [
            tuple(category for category, found in openings.items() if found and literal in found)
            for literal in self.literals
        ]
        self.automaton = ahocorasick_rs.AhoCorasick(self.literals) if self.literals else None

    def __call__(self, text: str) -> frozenset[str]:
        if self.automaton is None:
            return self.always
        found = self.automaton.find_matches_as_indexes(text, overlapping=True)
        return self.always.union(*(self.categories[index] for index, _, _ in found))


_REGEX_META = ".^$*+?{}[]\\()|"


def _literal_opening(term: str) -> str:
    """The literal characters every match of ``term`` begins with (without one made optional by ``?*{``)."""
    end = next((i for i, ch in enumerate(term) if ch in _REGEX_META), len(term))
    return term[: end - 1] if term[end : end + 1] in ("?", "*", "{") else term[:end]


def _group_end(term: str) -> int:
    """Where the group that opens ``term`` closes."""
    depth = 0
    for index, ch in enumerate(term):
        depth += (ch == "(") - (ch == ")")
        if depth == 0:
            return index
    return len(term) - 1


def _openings(pattern: str) -> tuple[str, ...] | None:
    """The literal openings of a pattern's top-level terms; a term opening with a group has its alternatives'."""
    openings: list[str] = []
    for term in _top_level_terms(pattern):
        if term.startswith("(?:"):
            close = _group_end(term)
            if term[close + 1 : close + 2] in ("?", "*", "{"):
                return None  # an optional group: the term may open with what follows it
            openings += [_literal_opening(alternative) for alternative in _top_level_terms(term[3:close])]
        else:
            openings.append(_literal_opening(term))
    return None if not all(openings) else tuple(dict.fromkeys(openings))


# A cheap substring test per English category before its regex scan: most categories have no term in a message.
_EN_STEMS = {category: word_stems(pair[1]) for category, pair in _LEXICON.items()}
_EN_SCREEN = Screen(_EN_STEMS)


def _chinese_matchers() -> tuple[
    ahocorasick_rs.AhoCorasick, list[tuple[str, tuple[str, ...]]], dict[str, re.Pattern[str]]
]:
    """Literal Chinese terms go into one Aho–Corasick automaton (one pass for every category); the few terms
    that need a regex stay in small per-category patterns."""
    literal: dict[str, list[str]] = {}
    residual: dict[str, re.Pattern[str]] = {}
    for category, (pattern, _) in _LEXICON.items():
        terms = _top_level_terms(pattern)
        for term in terms:
            if not _REGEX_SYNTAX.search(term):
                literal.setdefault(term.lower(), []).append(category)
        rest = [term for term in terms if _REGEX_SYNTAX.search(term)]
        if rest:
            residual[category] = re.compile("|".join(rest))
    entries = [(term, tuple(categories)) for term, categories in literal.items()]
    automaton = ahocorasick_rs.AhoCorasick([term for term, _ in entries])  # every match, overlapping ones too
    return automaton, entries, residual


_ZH_AUTOMATON, _ZH_TERMS, _ZH_RESIDUAL = _chinese_matchers()
_ZH_SCREEN = Screen({category: _openings(pattern.pattern) for category, pattern in _ZH_RESIDUAL.items()})


def find_cues(text: str, lang: str) -> Hits:
    """Distinct lexicon terms per category, in the message's language (English patterns for ``other``).

    Hashtags (#河南暴雨救援#) are topic labels every post carries, not what this post says, so they are skipped.
    """
    if "#" in text:
        text = _HASHTAG.sub(" ", text)
    text = text.lower()
    found: dict[str, dict[str, None]] = {}
    if lang == "zh":
        for index, _start, _end in _ZH_AUTOMATON.find_matches_as_indexes(text, overlapping=True):
            term, categories = _ZH_TERMS[index]
            for category in categories:
                found.setdefault(category, {})[term] = None
        possible = _ZH_SCREEN(text)
        for category, pattern in _ZH_RESIDUAL.items():
            if category not in possible:
                continue
            for term in pattern.findall(text):
                found.setdefault(category, {})[term] = None
    else:
        possible = _EN_SCREEN(text)
        for category, pattern in _COMPILED["en"].items():
            if category not in possible:
                continue  # none of the category's terms can be in the text: skip its regex scan
            for term in pattern.findall(text):
                found.setdefault(category, {})[term] = None
    return Hits({category: tuple(terms) for category, terms in found.items()})
