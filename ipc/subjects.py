"""Subjects and patterns: validation, matching, and the indexes the router and clients route with.

A subject is dotted tokens of [A-Za-z0-9_-] (`vehicle.speed`). A pattern may also use NATS'
wildcards: `*` stands for exactly one token, `>` for one or more remaining tokens and only as the
last token (`vehicle.>` matches `vehicle.speed` but not `vehicle`). What is valid here is exactly
what `carnel.ipc.wire` accepts in a header: the byte rules live there, once.

Methods that take a subject as the wire delivered it (`SubscriptionIndex.match`,
`ProviderIndex.lookup`) do not validate it again: they sit on the routing path and the header
parser has already checked every subject. Given any other string they still answer without
raising, treating its dot-separated pieces as opaque tokens.
"""
from __future__ import annotations

from collections.abc import Hashable
from typing import Generic, TypeVar

from carnel.ipc.wire import WireError, check_subject

T = TypeVar("T", bound=Hashable)


class SubjectError(ValueError):
    """A subject or pattern the bus would refuse; `reason` is the wire's stable reason string."""

    def __init__(self, subject: str, reason: str, detail: str) -> None:
        super().__init__(f"{subject!r}: {detail}")
        self.subject = subject
        self.reason = reason
        self.detail = detail


def _check(text: str, patterns: bool) -> str:
    try:
        raw = text.encode("ascii")
    except UnicodeEncodeError as exc:
        # The same reason pack_header gives, so counts agree wherever the refusal happens.
        raise SubjectError(text, "subject", f"character {exc.start} is not ASCII") from None
    try:
        check_subject(raw, patterns)
    except WireError as exc:
        raise SubjectError(text, exc.reason, exc.detail) from None
    return text


def validate_subject(subject: str) -> str:
    """Return `subject` if it can be published or requested, else raise SubjectError."""
    return _check(subject, patterns=False)


def validate_pattern(pattern: str) -> str:
    """Return `pattern` if it can be subscribed to or listed in an ACL, else raise SubjectError."""
    return _check(pattern, patterns=True)


def matches(pattern: str, subject: str) -> bool:
    """Whether concrete `subject` falls under `pattern`; raises SubjectError if either is invalid."""
    validate_pattern(pattern)
    validate_subject(subject)
    wanted = pattern.split(".")
    tokens = subject.split(".")
    for index, token in enumerate(wanted):
        if token == ">":
            return len(tokens) > index
        if index >= len(tokens) or (token != "*" and token != tokens[index]):
            return False
    return len(wanted) == len(tokens)


def covers(allowed: str, pattern: str) -> bool:
    """Whether every subject `pattern` matches is also matched by `allowed` (both patterns).

    Access control asks this of a subscription: `vehicle.>` covers `vehicle.*` and
    `vehicle.Speed`, while `vehicle.*` covers neither `vehicle.>` nor `>`.
    """
    validate_pattern(allowed)
    validate_pattern(pattern)
    outer = allowed.split(".")
    inner = pattern.split(".")
    for index, token in enumerate(outer):
        if token == ">":
            return len(inner) > index
        if index >= len(inner):
            return False
        wanted = inner[index]
        if wanted == ">" or (token != "*" and (wanted == "*" or token != wanted)):
            return False
    return len(outer) == len(inner)


class _Node(Generic[T]):
    """One token position in the trie; every field stays None until something needs it."""

    __slots__ = ("literals", "star", "holders", "rest")

    def __init__(self) -> None:
        self.literals: dict[str, _Node[T]] | None = None
        self.star: _Node[T] | None = None
        self.holders: set[T] | None = None  # patterns that end at this node
        self.rest: set[T] | None = None  # patterns that end here with a `>`

    def is_empty(self) -> bool:
        return not (self.literals or self.star or self.holders or self.rest)


class SubscriptionIndex(Generic[T]):
    """Who subscribed to what: patterns to holders, answering which holders a subject reaches.

    A token trie, as NATS' sublist: a lookup walks one node per subject token (fanning out only
    where `*` patterns branch), so its cost follows the subject's length and the wildcards on its
    path, not the number of subscriptions. Subscribing is idempotent: a holder holds a pattern
    or does not, and one `remove` undoes any number of `add`s of the same pair. Nodes left empty
    by a removal are dropped at once, so churn does not grow the trie.
    """

    def __init__(self) -> None:
        self._root: _Node[T] = _Node()
        self._by_holder: dict[T, set[str]] = {}
        self._pairs = 0

    def __len__(self) -> int:
        """The number of (pattern, holder) subscriptions held."""
        return self._pairs

    def add(self, pattern: str, holder: T) -> bool:
        """Subscribe `holder` to `pattern`; False if it already was. Raises SubjectError."""
        validate_pattern(pattern)
        node = self._root
        tokens = pattern.split(".")
        for token in tokens[:-1]:
            node = self._child(node, token)
        if tokens[-1] == ">":
            if node.rest is None:
                node.rest = set()
            bucket = node.rest
        else:
            node = self._child(node, tokens[-1])
            if node.holders is None:
                node.holders = set()
            bucket = node.holders
        if holder in bucket:
            return False
        bucket.add(holder)
        self._by_holder.setdefault(holder, set()).add(pattern)
        self._pairs += 1
        return True

    def remove(self, pattern: str, holder: T) -> bool:
        """Unsubscribe `holder` from `pattern`; False if it was not subscribed. Raises SubjectError."""
        validate_pattern(pattern)
        return self._remove(pattern, holder)

    def remove_holder(self, holder: T) -> frozenset[str]:
        """Drop every subscription of `holder` (it disconnected); returns the patterns dropped."""
        patterns = frozenset(self._by_holder.get(holder, ()))
        for pattern in patterns:
            self._remove(pattern, holder)
        return patterns

    def patterns_of(self, holder: T) -> frozenset[str]:
        """The patterns `holder` is subscribed to."""
        return frozenset(self._by_holder.get(holder, ()))

    def holders_of(self, pattern: str) -> frozenset[T]:
        """The holders subscribed to exactly `pattern` (not to patterns overlapping it)."""
        validate_pattern(pattern)
        bucket = self._bucket(pattern)
        return frozenset(bucket) if bucket else frozenset()

    def match(self, subject: str) -> set[T]:
        """Every holder with a pattern matching `subject`, as a new set the caller owns.

        `subject` is not validated (see the module's docstring).
        """
        found: set[T] = set()
        nodes = [self._root]
        for token in subject.split("."):
            following = []
            for node in nodes:
                if node.rest:
                    found.update(node.rest)
                if node.literals is not None:
                    child = node.literals.get(token)
                    if child is not None:
                        following.append(child)
                if node.star is not None:
                    following.append(node.star)
            if not following:
                return found
            nodes = following
        for node in nodes:
            if node.holders:
                found.update(node.holders)
        return found

    @staticmethod
    def _child(node: _Node[T], token: str) -> _Node[T]:
        if token == "*":
            if node.star is None:
                node.star = _Node()
            return node.star
        if node.literals is None:
            node.literals = {}
        child = node.literals.get(token)
        if child is None:
            child = node.literals[token] = _Node()
        return child

    def _bucket(self, pattern: str) -> set[T] | None:
        node: _Node[T] | None = self._root
        tokens = pattern.split(".")
        for token in tokens[:-1] if tokens[-1] == ">" else tokens:
            if token == "*":
                node = node.star
            else:
                node = node.literals.get(token) if node.literals is not None else None
            if node is None:
                return None
        return node.rest if tokens[-1] == ">" else node.holders

    def _remove(self, pattern: str, holder: T) -> bool:
        held = self._by_holder.get(holder)
        if held is None or pattern not in held:
            return False
        held.discard(pattern)
        if not held:
            del self._by_holder[holder]
        self._pairs -= 1
        tokens = pattern.split(".")
        ends_with_rest = tokens[-1] == ">"
        # The pair is held, so every node on its path exists: walk it, remembering the way back.
        path: list[tuple[_Node[T], str]] = []
        node = self._root
        for token in tokens[:-1] if ends_with_rest else tokens:
            path.append((node, token))
            node = node.star if token == "*" else node.literals[token]
        if ends_with_rest:
            node.rest.discard(holder)
            if not node.rest:
                node.rest = None
        else:
            node.holders.discard(holder)
            if not node.holders:
                node.holders = None
        for parent, token in reversed(path):
            if not node.is_empty():
                break
            if token == "*":
                parent.star = None
            else:
                del parent.literals[token]
                if not parent.literals:
                    parent.literals = None
            node = parent
        return True


class ProviderIndex(Generic[T]):
    """Who answers requests: a request goes to the provider of its longest token-wise prefix.

    A provider of `nav` answers `nav.route.request` unless someone provides `nav.route`; `nav`
    never covers `navigation.x`. When several holders provide the same prefix, the earliest
    still present answers and the others wait behind it in order (as a D-Bus name queues its
    owners), so a lookup's answer does not change while its provider stays. Adding is idempotent.
    """

    def __init__(self) -> None:
        # dict as an insertion-ordered set: O(1) removal, and its first key is the answerer.
        self._by_prefix: dict[str, dict[T, None]] = {}
        self._pairs = 0

    def __len__(self) -> int:
        """The number of (prefix, holder) pairs held."""
        return self._pairs

    def add(self, prefix: str, holder: T) -> bool:
        """Let `holder` provide `prefix`; False if it already did. Raises SubjectError."""
        validate_subject(prefix)
        queue = self._by_prefix.setdefault(prefix, {})
        if holder in queue:
            return False
        queue[holder] = None
        self._pairs += 1
        return True

    def remove(self, prefix: str, holder: T) -> bool:
        """Stop `holder` providing `prefix`; False if it did not. Raises SubjectError."""
        validate_subject(prefix)
        queue = self._by_prefix.get(prefix)
        if queue is None or holder not in queue:
            return False
        del queue[holder]
        if not queue:
            del self._by_prefix[prefix]
        self._pairs -= 1
        return True

    def lookup(self, subject: str) -> T | None:
        """The holder that answers a request to `subject`, or None. `subject` is not validated."""
        key = subject
        while True:
            queue = self._by_prefix.get(key)
            if queue:
                return next(iter(queue))
            cut = key.rfind(".")
            if cut < 0:
                return None
            key = key[:cut]
