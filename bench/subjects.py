"""Subscription matching with thousands of subscriptions: the trie index against a linear scan.

    python bench/subjects.py [--quick] [--json]

The router resolves a subject's subscribers once per (subject, subscription change), so this is
the cost paid after every SUB/UNSUB; the baseline is what a list of patterns would cost.
"""
from __future__ import annotations

import argparse
import json
import random
import time

from carnel.ipc.subjects import SubscriptionIndex, matches

WORDS = ["vehicle", "gps", "nav", "media", "can", "obd", "speed", "rpm", "fix", "route",
         "track", "volume", "door", "seat", "hvac", "tpms", "front", "rear", "left", "right"]


def workload(n_subs: int, n_subjects: int, seed: int = 1):
    rng = random.Random(seed)
    subs = []
    for i in range(n_subs):
        tokens = [rng.choice(WORDS) for _ in range(3)]
        kind = rng.random()
        if kind < 0.2:
            tokens[rng.randrange(3)] = "*"
        elif kind < 0.3:
            tokens = tokens[: rng.randrange(1, 3)] + [">"]
        subs.append((".".join(tokens), i % 200))
    subjects = [".".join(rng.choice(WORDS) for _ in range(3)) for _ in range(n_subjects)]
    return subs, subjects


def token_match(pattern: list[str], tokens: list[str]) -> bool:
    for i, token in enumerate(pattern):
        if token == ">":
            return len(tokens) > i
        if i >= len(tokens) or (token != "*" and token != tokens[i]):
            return False
    return len(pattern) == len(tokens)


def timed(fn, subjects) -> float:
    start = time.perf_counter()
    for subject in subjects:
        fn(subject)
    return (time.perf_counter() - start) / len(subjects) * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer subjects: a few seconds")
    parser.add_argument("--json", action="store_true", help="one JSON object per line")
    opts = parser.parse_args()
    for n_subs in (1_000, 5_000):
        subs, subjects = workload(n_subs, 300 if opts.quick else 2_000)
        index: SubscriptionIndex[int] = SubscriptionIndex()
        for pattern, holder in subs:
            index.add(pattern, holder)

        split = [(pattern.split("."), holder) for pattern, holder in subs]

        def scan(subject: str) -> set[int]:
            # The fair baseline: patterns split once, no validation, the plainest matcher.
            tokens = subject.split(".")
            return {holder for pattern, holder in split if token_match(pattern, tokens)}

        for subject in subjects[:50]:
            assert index.match(subject) == scan(subject)
            assert scan(subject) == {h for p, h in subs if matches(p, subject)}
        trie_us = timed(index.match, subjects)
        scan_us = timed(scan, subjects[: max(20, len(subjects) // 20)])
        result = {"case": "match", "subscriptions": n_subs, "trie_us": round(trie_us, 2),
                  "scan_us": round(scan_us, 1), "ratio": round(scan_us / trie_us, 1)}
        if opts.json:
            print(json.dumps(result))
        else:
            print(f"{n_subs:>6} subscriptions: trie {trie_us:.2f} us/match, linear scan "
                  f"{scan_us:.1f} us/match: {scan_us / trie_us:.0f}x")


if __name__ == "__main__":
    main()
