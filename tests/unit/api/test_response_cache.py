"""The response cache serves a body only for the stamp it was made at, within its byte budget."""

from prism.api.cache import ResponseCache


def test_a_body_is_served_only_at_its_stamp() -> None:
    cache = ResponseCache()
    cache.put("holdings", 7, b"[1]")
    assert cache.get("holdings", 7) == b"[1]"
    assert cache.get("holdings", 8) is None


def test_least_recently_used_bodies_go_first_when_full() -> None:
    cache = ResponseCache(max_bytes=10)
    cache.put("a", 1, b"aaaa")
    cache.put("b", 1, b"bbbb")
    assert cache.get("a", 1) == b"aaaa"  # now the most recent
    cache.put("c", 1, b"cccc")
    assert cache.get("b", 1) is None
    assert cache.get("a", 1) == b"aaaa"
    cache.put("huge", 1, b"x" * 11)
    assert cache.get("huge", 1) is None
