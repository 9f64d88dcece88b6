"""The result cache on its own: LRU by entries and bytes, TTL, the off switch."""

from __future__ import annotations

import threading

from quarry.cache.results import ResultCache, ResultCacheConfig


class Clock:
    """A settable monotonic clock, so a TTL can be crossed without sleeping."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_least_recently_used_goes_first() -> None:
    cache = ResultCache(ResultCacheConfig(max_entries=2))
    cache.put("a", b"1")
    cache.put("b", b"2")
    assert cache.get("a") == b"1"  # a is now the most recent
    cache.put("c", b"3")
    assert cache.get("b") is None and cache.get("a") == b"1" and cache.get("c") == b"3"
    assert cache.stats().entries == 2


def test_the_byte_budget_bounds_memory() -> None:
    cache = ResultCache(ResultCacheConfig(max_entries=100, max_bytes=1000))
    for i in range(10):
        cache.put(i, bytes(200))
    stats = cache.stats()
    assert stats.bytes <= 1000 and stats.entries == 5
    assert [cache.get(i) is not None for i in range(10)] == [False] * 5 + [True] * 5
    cache.put("huge", bytes(600))  # over a quarter of the budget: not kept, nothing evicted for it
    assert cache.get("huge") is None and cache.stats().entries == 5


def test_replacing_a_key_keeps_the_byte_count_exact() -> None:
    cache = ResultCache(ResultCacheConfig(max_bytes=10_000))
    cache.put("k", bytes(100))
    cache.put("k", bytes(30))
    assert cache.stats().bytes == 30 and cache.get("k") == bytes(30)


def test_entries_expire_after_the_ttl() -> None:
    clock = Clock()
    cache = ResultCache(ResultCacheConfig(ttl_s=60), clock=clock)
    cache.put(("c", 1, "q"), b"hits")
    clock.now += 59
    assert cache.get(("c", 1, "q")) == b"hits"
    clock.now += 2
    assert cache.get(("c", 1, "q")) is None
    assert cache.stats().entries == 0  # the expired entry was dropped, not just hidden


def test_a_zero_ttl_never_serves() -> None:
    clock = Clock()
    cache = ResultCache(ResultCacheConfig(ttl_s=0), clock=clock)
    cache.put("k", b"v")
    clock.now += 0.001
    assert cache.get("k") is None
    assert (cache.stats().hits, cache.stats().misses) == (0, 1)


def test_off_switch() -> None:
    for config in (ResultCacheConfig(enabled=False), ResultCacheConfig(max_entries=0)):
        cache = ResultCache(config)
        cache.put("k", b"v")
        assert not cache.enabled and cache.get("k") is None and cache.stats().entries == 0


def test_keys_that_differ_in_any_part_are_separate() -> None:
    cache = ResultCache(ResultCacheConfig())
    base = ("scifact", 7, "query", 10, "hybrid", False, "AnyOf(...)", False)
    cache.put(base, b"owner")
    for position, other in enumerate([("x",), (8,), ("query2",), (9,), ("bm25",), (True,), ("None",), (True,)]):
        variant = base[:position] + other + base[position + 1 :]
        assert cache.get(variant) is None, position
    assert cache.get(base) == b"owner"


def test_concurrent_use_keeps_the_bounds() -> None:
    cache = ResultCache(ResultCacheConfig(max_entries=50, max_bytes=4000))

    def work(offset: int) -> None:
        for i in range(2000):
            cache.put((offset, i % 80), bytes(i % 90))
            cache.get((offset, (i * 7) % 80))

    threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    stats = cache.stats()
    assert stats.entries <= 50 and stats.bytes <= 4000
    assert stats.bytes == sum(len(v) for _, v in cache._entries.values())
