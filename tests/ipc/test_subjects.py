from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from carnel.ipc.subjects import (
    ProviderIndex,
    SubjectError,
    SubscriptionIndex,
    covers,
    matches,
    validate_pattern,
    validate_subject,
)
from carnel.ipc.wire import Kind, WireError, pack_header

NAME_CHARS = "abcXYZ019_-"

# A small pool of tokens makes patterns and subjects collide often enough to match.
tokens = st.one_of(
    st.sampled_from(["a", "b", "nav", "navigation", "route", "x-1", "Z_9"]),
    st.text(alphabet=NAME_CHARS, min_size=1, max_size=3),
)
subjects = st.lists(tokens, min_size=1, max_size=5).map(".".join)
patterns = st.builds(
    lambda body, rest: ".".join(body + [">"] if rest else body) or ">",
    st.lists(st.one_of(tokens, st.just("*")), max_size=5),
    st.booleans(),
)
# Strings near every edge of the byte rules: empty tokens, stray wildcards, non-ASCII, NUL, length.
wire_like = st.one_of(
    st.text(),
    st.text(alphabet="ab_-.*>é\x00 ", max_size=12),
    patterns,
    st.integers(250, 260).map(lambda n: "a" * n),
    st.integers(120, 130).map(lambda n: "a." * n + "b"),
)


def reference_match(pattern: list[str], subject: list[str]) -> bool:
    if not pattern:
        return not subject
    if pattern[0] == ">":
        return len(subject) >= 1
    if not subject:
        return False
    return pattern[0] in ("*", subject[0]) and reference_match(pattern[1:], subject[1:])


def wire_reason(text: str, kind: Kind) -> str | None:
    """The wire's verdict on `text` as a header's subject: None if it packs, else the reason."""
    try:
        pack_header(kind, text)
    except WireError as exc:
        return exc.reason
    return None


def trie_nodes(index: SubscriptionIndex) -> int:
    count, stack = 0, [index._root]
    while stack:
        node = stack.pop()
        count += 1
        stack.extend((node.literals or {}).values())
        if node.star is not None:
            stack.append(node.star)
    return count


# -- validation -----------------------------------------------------------------------------------


@given(wire_like)
def test_validate_subject_accepts_exactly_what_a_publish_header_accepts(text):
    reason = wire_reason(text, Kind.PUB)
    if reason is None:
        assert validate_subject(text) == text
    else:
        with pytest.raises(SubjectError) as caught:
            validate_subject(text)
        assert caught.value.reason == reason
        assert caught.value.subject == text


@given(wire_like)
def test_validate_pattern_accepts_exactly_what_a_subscribe_header_accepts(text):
    reason = wire_reason(text, Kind.SUB)
    if reason is None:
        assert validate_pattern(text) == text
    else:
        with pytest.raises(SubjectError) as caught:
            validate_pattern(text)
        assert caught.value.reason == reason
        assert caught.value.subject == text


def test_wildcard_in_a_concrete_subject_is_refused_as_wildcard():
    with pytest.raises(SubjectError) as caught:
        validate_subject("vehicle.*")
    assert caught.value.reason == "wildcard"
    assert "vehicle.*" in str(caught.value)


def test_rest_wildcard_before_the_last_token_is_refused():
    with pytest.raises(SubjectError) as caught:
        validate_pattern("vehicle.>.speed")
    assert caught.value.reason == "wildcard"
    assert "last" in caught.value.detail


@pytest.mark.parametrize("text", ["", "a..b", ".a", "a.", "a b", "nav.ro*te", "a.>x"])
def test_malformed_subjects_are_refused_as_subject_errors(text):
    with pytest.raises(SubjectError) as caught:
        validate_pattern(text)
    assert caught.value.reason == "subject"


def test_non_ascii_subject_is_refused_with_its_position():
    with pytest.raises(SubjectError) as caught:
        validate_subject("media.café")
    assert caught.value.reason == "subject"
    assert "9" in caught.value.detail


def test_subject_error_is_a_value_error():
    with pytest.raises(ValueError):
        validate_subject("")


def test_longest_accepted_subject_is_255_bytes():
    assert validate_subject("a" * 255)
    with pytest.raises(SubjectError):
        validate_subject("a" * 256)


# -- matches --------------------------------------------------------------------------------------


@given(patterns, subjects)
def test_matches_agrees_with_a_reference_token_matcher(pattern, subject):
    assert matches(pattern, subject) == reference_match(pattern.split("."), subject.split("."))


@pytest.mark.parametrize(
    ("pattern", "subject", "expected"),
    [
        ("vehicle.speed", "vehicle.speed", True),
        ("vehicle.*", "vehicle.speed", True),
        ("vehicle.*", "vehicle.speed.raw", False),
        ("vehicle.*", "vehicle", False),
        ("*.speed", "vehicle.speed", True),
        ("vehicle.>", "vehicle.speed.raw", True),
        ("vehicle.>", "vehicle.speed", True),
        ("vehicle.>", "vehicle", False),
        (">", "vehicle", True),
        ("nav", "navigation", False),
        ("nav.>", "navigation.route", False),
    ],
)
def test_wildcards_match_whole_tokens(pattern, subject, expected):
    assert matches(pattern, subject) is expected


def test_matches_refuses_a_wildcard_subject_and_a_bad_pattern():
    with pytest.raises(SubjectError):
        matches("vehicle.>", "vehicle.*")
    with pytest.raises(SubjectError):
        matches("vehicle..speed", "vehicle.speed")


# -- SubscriptionIndex ----------------------------------------------------------------------------


def test_index_reaches_every_holder_whose_pattern_matches():
    index: SubscriptionIndex[str] = SubscriptionIndex()
    index.add("vehicle.speed", "dash")
    index.add("vehicle.*", "logger")
    index.add("vehicle.>", "recorder")
    index.add("*.speed", "hud")
    index.add("nav.>", "guide")
    assert index.match("vehicle.speed") == {"dash", "logger", "recorder", "hud"}
    assert index.match("vehicle.speed.raw") == {"recorder"}
    assert index.match("vehicle") == set()
    assert index.match("navigation.speed") == {"hud"}


def test_subscribing_twice_is_one_subscription_undone_by_one_remove():
    index: SubscriptionIndex[str] = SubscriptionIndex()
    assert index.add("vehicle.>", "dash") is True
    assert index.add("vehicle.>", "dash") is False
    assert len(index) == 1
    assert index.remove("vehicle.>", "dash") is True
    assert index.match("vehicle.speed") == set()
    assert len(index) == 0


def test_removing_a_subscription_not_held_is_a_no_op():
    index: SubscriptionIndex[str] = SubscriptionIndex()
    index.add("vehicle.speed", "dash")
    assert index.remove("vehicle.speed", "hud") is False
    assert index.remove("vehicle.*", "dash") is False
    assert index.remove("vehicle.speed.raw", "dash") is False
    assert index.match("vehicle.speed") == {"dash"}


def test_remove_holder_drops_all_its_patterns_and_no_one_elses():
    index: SubscriptionIndex[str] = SubscriptionIndex()
    for pattern in ("vehicle.speed", "vehicle.>", "nav.*"):
        index.add(pattern, "dash")
    index.add("vehicle.speed", "hud")
    assert index.remove_holder("dash") == {"vehicle.speed", "vehicle.>", "nav.*"}
    assert index.patterns_of("dash") == frozenset()
    assert index.match("vehicle.speed") == {"hud"}
    assert index.match("nav.route") == set()
    assert index.remove_holder("dash") == frozenset()


def test_match_result_belongs_to_the_caller():
    index: SubscriptionIndex[str] = SubscriptionIndex()
    index.add("vehicle.speed", "dash")
    index.match("vehicle.speed").clear()
    assert index.match("vehicle.speed") == {"dash"}


def test_invalid_pattern_is_refused_and_leaves_the_index_unchanged():
    index: SubscriptionIndex[str] = SubscriptionIndex()
    with pytest.raises(SubjectError):
        index.add("vehicle.>.speed", "dash")
    with pytest.raises(SubjectError):
        index.remove("vehicle..speed", "dash")
    assert len(index) == 0
    assert trie_nodes(index) == 1


def test_churn_leaves_no_empty_nodes_behind():
    index: SubscriptionIndex[int] = SubscriptionIndex()
    for round_ in range(50):
        for holder in range(20):
            index.add(f"vehicle.{round_}.*.{holder}", holder)
            index.add(f"vehicle.{round_}.>", holder)
        for holder in range(20):
            index.remove_holder(holder)
    assert len(index) == 0
    assert trie_nodes(index) == 1


def test_holders_of_names_only_the_exact_pattern():
    index: SubscriptionIndex[str] = SubscriptionIndex()
    index.add("vehicle.>", "dash")
    index.add("vehicle.*", "hud")
    assert index.holders_of("vehicle.>") == {"dash"}
    assert index.holders_of("vehicle.speed") == frozenset()
    assert index.holders_of(">") == frozenset()


HOLDERS = st.sampled_from(["dash", "hud", "nav", "logger"])


class SubscriptionIndexAgainstModel(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.index: SubscriptionIndex[str] = SubscriptionIndex()
        self.model: dict[str, set[str]] = {}

    def held(self) -> list[tuple[str, str]]:
        return sorted((p, h) for p, holders in self.model.items() for h in holders)

    @rule(pattern=patterns, holder=HOLDERS)
    def add(self, pattern, holder):
        fresh = holder not in self.model.get(pattern, set())
        assert self.index.add(pattern, holder) is fresh
        self.model.setdefault(pattern, set()).add(holder)

    @rule(pattern=patterns, holder=HOLDERS)
    def remove_any(self, pattern, holder):
        held = holder in self.model.get(pattern, set())
        assert self.index.remove(pattern, holder) is held
        self._forget(pattern, holder)

    @precondition(lambda self: self.model)
    @rule(data=st.data())
    def remove_held(self, data):
        pattern, holder = data.draw(st.sampled_from(self.held()))
        assert self.index.remove(pattern, holder) is True
        self._forget(pattern, holder)

    @rule(holder=HOLDERS)
    def remove_holder(self, holder):
        expected = {p for p, holders in self.model.items() if holder in holders}
        assert self.index.remove_holder(holder) == expected
        for pattern in expected:
            self._forget(pattern, holder)

    @rule(subject=st.one_of(subjects, st.text(alphabet="ab.*>", max_size=8)))
    def match(self, subject):
        # Any string, valid or not, matches as its dot-separated pieces would.
        expected = {
            h for p, holders in self.model.items()
            if reference_match(p.split("."), subject.split(".")) for h in holders
        }
        assert self.index.match(subject) == expected

    @invariant()
    def counts_and_reverse_lookups_agree(self):
        pairs = self.held()
        assert len(self.index) == len(pairs)
        for holder in ("dash", "hud", "nav", "logger"):
            assert self.index.patterns_of(holder) == {p for p, h in pairs if h == holder}
        for pattern, holders in self.model.items():
            assert self.index.holders_of(pattern) == holders

    @invariant()
    def trie_holds_only_nodes_that_lead_to_a_pattern(self):
        prefixes = set()
        for pattern in self.model:
            path = pattern.split(".")
            if path[-1] == ">":
                path.pop()
            prefixes.update(tuple(path[:k]) for k in range(1, len(path) + 1))
        assert trie_nodes(self.index) == 1 + len(prefixes)

    def _forget(self, pattern, holder):
        holders = self.model.get(pattern)
        if holders is not None:
            holders.discard(holder)
            if not holders:
                del self.model[pattern]


TestSubscriptionIndexAgainstModel = SubscriptionIndexAgainstModel.TestCase


# -- ProviderIndex --------------------------------------------------------------------------------


def test_longest_provided_prefix_answers():
    providers: ProviderIndex[str] = ProviderIndex()
    providers.add("nav", "nav-service")
    providers.add("nav.route", "router")
    assert providers.lookup("nav.route.request") == "router"
    assert providers.lookup("nav.route") == "router"
    assert providers.lookup("nav.position") == "nav-service"
    assert providers.lookup("nav") == "nav-service"


def test_a_prefix_covers_whole_tokens_only():
    providers: ProviderIndex[str] = ProviderIndex()
    providers.add("nav", "nav-service")
    assert providers.lookup("navigation.x") is None
    assert providers.lookup("media.nav") is None


def test_earliest_provider_answers_and_the_next_takes_over_when_it_leaves():
    providers: ProviderIndex[str] = ProviderIndex()
    providers.add("nav", "first")
    providers.add("nav", "second")
    providers.add("nav", "first")
    assert providers.lookup("nav.route") == "first"
    assert providers.remove("nav", "first") is True
    assert providers.lookup("nav.route") == "second"
    assert providers.remove("nav", "first") is False
    assert providers.remove("nav", "second") is True
    assert providers.lookup("nav.route") is None
    assert len(providers) == 0


def test_a_provided_prefix_must_be_concrete():
    providers: ProviderIndex[str] = ProviderIndex()
    with pytest.raises(SubjectError):
        providers.add("nav.*", "nav-service")
    assert len(providers) == 0


def reference_lookup(provided: list[tuple[str, str]], subject: str) -> str | None:
    tokens = subject.split(".")
    best: tuple[int, str] | None = None
    for prefix, holder in provided:
        length = len(prefix.split("."))
        if tokens[:length] == prefix.split(".") and (best is None or length > best[0]):
            best = (length, holder)
    return None if best is None else best[1]


class ProviderIndexAgainstModel(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.providers: ProviderIndex[str] = ProviderIndex()
        self.model: list[tuple[str, str]] = []  # in the order they were first added

    @rule(prefix=subjects, holder=HOLDERS)
    def add(self, prefix, holder):
        fresh = (prefix, holder) not in self.model
        assert self.providers.add(prefix, holder) is fresh
        if fresh:
            self.model.append((prefix, holder))

    @rule(prefix=subjects, holder=HOLDERS)
    def remove_any(self, prefix, holder):
        held = (prefix, holder) in self.model
        assert self.providers.remove(prefix, holder) is held
        if held:
            self.model.remove((prefix, holder))

    @precondition(lambda self: self.model)
    @rule(data=st.data())
    def remove_held(self, data):
        pair = data.draw(st.sampled_from(self.model))
        assert self.providers.remove(*pair) is True
        self.model.remove(pair)

    @rule(subject=subjects)
    def lookup(self, subject):
        assert self.providers.lookup(subject) == reference_lookup(self.model, subject)

    @precondition(lambda self: self.model)
    @rule(data=st.data(), suffix=st.lists(tokens, max_size=3))
    def lookup_under_a_provided_prefix(self, data, suffix):
        prefix, _ = data.draw(st.sampled_from(self.model))
        subject = ".".join([prefix, *suffix])
        assert self.providers.lookup(subject) == reference_lookup(self.model, subject)

    @invariant()
    def length_counts_pairs(self):
        assert len(self.providers) == len(self.model)


TestProviderIndexAgainstModel = ProviderIndexAgainstModel.TestCase


@pytest.mark.parametrize(("allowed", "pattern", "expected"), [
    ("vehicle.>", "vehicle.Speed", True),
    ("vehicle.>", "vehicle.*", True),
    ("vehicle.>", "vehicle.>", True),
    ("vehicle.>", "vehicle", False),
    ("vehicle.>", ">", False),
    ("vehicle.*", "vehicle.Speed", True),
    ("vehicle.*", "vehicle.*", True),
    ("vehicle.*", "vehicle.>", False),
    ("vehicle.*", "vehicle.a.b", False),
    ("vehicle.Speed", "vehicle.*", False),
    ("vehicle.Speed", "vehicle.Speed", True),
    (">", "anything.at.*", True),
])
def test_covers_says_whether_one_pattern_contains_another(
        allowed: str, pattern: str, expected: bool) -> None:
    assert covers(allowed, pattern) is expected


@given(st.data())
def test_a_covered_pattern_matches_nothing_outside_the_cover(data: st.DataObject) -> None:
    allowed = data.draw(patterns, label="allowed")
    pattern = data.draw(patterns, label="pattern")
    subject = data.draw(subjects, label="subject")
    if covers(allowed, pattern) and matches(pattern, subject):
        assert matches(allowed, subject)
