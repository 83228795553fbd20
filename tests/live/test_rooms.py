"""Frame building of the per-process room hub."""

from __future__ import annotations

from live.rooms import sample_comments


def test_a_comment_storm_is_sampled_fairly_and_keeps_host_lines() -> None:
    storm = [
        {"cid": f"s{i}", "author_id": 1, "role": "viewer", "text": "spam", "at": i}
        for i in range(100)
    ]
    others = [
        {"cid": f"o{i}", "author_id": 10 + i, "role": "viewer", "text": "hi", "at": 100 + i}
        for i in range(10)
    ]
    host_line = [{"cid": "h", "author_id": 99, "role": "host", "text": "deal!", "at": 50.5}]
    sample, left_out = sample_comments(storm + others + host_line, 20)
    authors = [c["author_id"] for c in sample]
    assert (len(sample), left_out) == (20, 91)
    assert 99 in authors
    assert set(range(10, 20)) <= set(authors)  # every other author got a line in
    assert authors.count(1) == 9
    assert [c["at"] for c in sample] == sorted(c["at"] for c in sample)
