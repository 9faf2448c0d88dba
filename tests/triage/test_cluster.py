from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tests.triage.conftest import LUSHAN_PLEA
from wenzheng.triage import ClusterIndex, TriageInput, triage_batch


def test_forwarded_plea_joins_the_first_message_cluster() -> None:
    index = ClusterIndex()
    assert index.assign("1", LUSHAN_PLEA) == "1"
    assert index.assign("2", "转发：" + LUSHAN_PLEA + " #芦山地震#") == "1"
    assert index.assign("3", "请问怎么捐款？") == "3"
    assert index.size("1") == 2


def test_identical_questions_are_one_cluster_and_a_seen_id_keeps_its_cluster() -> None:
    index = ClusterIndex()
    clusters = {index.assign(str(i), "How do I donate?") for i in range(50)}
    assert clusters == {"0"}
    assert index.assign("7", "completely different text now") == "0"
    assert index.size("0") == 50


def test_different_messages_stay_apart() -> None:
    index = ClusterIndex()
    assert index.assign("a", "我们被困在姚桥镇中学宿舍，房子塌了") != index.assign("b", "建议在学校门口增设红绿灯")


def test_index_forgets_messages_older_than_its_window() -> None:
    index = ClusterIndex(window=timedelta(days=1))
    start = datetime(2013, 4, 20, 8, tzinfo=UTC)
    index.assign("old", LUSHAN_PLEA, start)
    assert index.prune(start + timedelta(days=2)) == 1
    assert len(index) == 0
    assert index.assign("new", LUSHAN_PLEA, start + timedelta(days=2)) == "new"


def test_signatures_are_stable_across_indexes() -> None:
    assert (ClusterIndex().signature(LUSHAN_PLEA) == ClusterIndex().signature(LUSHAN_PLEA)).all()


def test_batch_uses_the_callers_index_across_batches() -> None:
    index = ClusterIndex()
    triage_batch([TriageInput(id="first", text=LUSHAN_PLEA)], cluster_index=index)
    (later,) = triage_batch([TriageInput(id="later", text="扩散！" + LUSHAN_PLEA)], cluster_index=index)
    assert later.cluster == "first"


def test_without_an_index_duplicates_are_found_within_the_batch() -> None:
    results = triage_batch([{"id": "a", "text": LUSHAN_PLEA}, {"id": "b", "text": LUSHAN_PLEA}])
    assert [r.cluster for r in results] == ["a", "a"]


def test_batch_signatures_equal_one_at_a_time() -> None:
    index = ClusterIndex()
    texts = [LUSHAN_PLEA, "a", "", "How do I donate?", "x" * 1000]
    batch = index.signatures(texts)
    assert batch.shape == (5, 64)
    assert all((index.signature(text) == batch[i]).all() for i, text in enumerate(texts))


def test_a_large_batch_is_hashed_in_chunks_with_the_same_signatures() -> None:
    index = ClusterIndex()
    texts = [
        f"第{i}号通报：" + "".join(chr(0x4E00 + (i * 7919 + k * 104729) % 20000) for k in range(400)) for i in range(60)
    ]
    batch = index.signatures(texts)  # ~24,000 shingles: several chunks of hashing
    assert all((index.signature(text) == batch[i]).all() for i, text in enumerate(texts))


def test_shingles_that_differ_in_one_character_hash_apart() -> None:
    index = ClusterIndex()
    first, second = index.signatures(["abababab", "abbabbab"])
    assert (first == second).mean() < 0.5


def test_naive_times_are_taken_as_utc() -> None:
    index = ClusterIndex(window=timedelta(hours=1))
    index.assign("naive", LUSHAN_PLEA, datetime(2013, 4, 20, 8))
    assert index.prune(datetime(2013, 4, 20, 8, 30, tzinfo=UTC)) == 0
    assert index.prune(datetime(2013, 4, 20, 10)) == 1


def test_a_text_written_thousands_of_times_is_compared_with_its_latest_copies_only() -> None:
    """「第1234条：路面塌陷」 3,000 times: one big cluster, found through the newest members of each bucket."""
    from wenzheng.triage import cluster

    index = ClusterIndex()
    texts = [f"第{n}条：幸福路路面塌陷，请尽快派人查看处理" for n in range(2000)]
    signatures = index.signatures(texts)
    compared: list[int] = []
    best_match = index._best_match

    def counting(signature, keys):  # type: ignore[no-untyped-def]
        candidates = {mid for key in keys for mid in index._bucket(key)[-cluster.RECENT_PER_BUCKET :]}
        compared.append(len(candidates))
        return best_match(signature, keys)

    index._best_match = counting  # type: ignore[method-assign]
    clusters = [index.assign(f"m{n}", text, signature=signatures[n]) for n, text in enumerate(texts)]
    main = max(set(clusters), key=clusters.count)
    assert clusters.count(main) >= 1900 and index.size(main) == clusters.count(main)
    assert max(compared) <= cluster.RECENT_PER_BUCKET * index.bands
    assert index.assign("other", "龙门乡青龙场村有三位老人行动不便，需要转移") == "other"


def test_assign_many_is_assign_one_after_another() -> None:
    texts = [LUSHAN_PLEA, "", "How do I donate?", LUSHAN_PLEA + "！！转发", "how do i donate", "龙门乡缺饮用水"] * 300
    messages = [(f"m{i}", text, None) for i, text in enumerate(texts)]  # 1,800: two hashing rounds
    one_by_one, many = ClusterIndex(), ClusterIndex()
    expected = [one_by_one.assign(mid, text) if text else None for mid, text, _ in messages]
    assert many.assign_many(messages) == expected
    assert expected[:6] == ["m0", None, "m2", "m0", "m2", "m5"]
    assert len(many) == len(one_by_one) == 1500  # no entry for an empty text


def test_the_shingled_core_is_the_text_without_what_the_noise_pattern_matches() -> None:
    from wenzheng.triage import cluster

    texts = [
        LUSHAN_PLEA,
        "求转发！！" + LUSHAN_PLEA,
        "扩散 a_b__c // @某人",
        "RT @haiti_news: trapped in Leogane",
        "part @x: hello_world",
        "#河南暴雨# 转 发 救命",
        "ÉCOLE Nº 3 ｜ ①②",
        "",
    ]
    for text in texts:
        assert cluster._core(text) == cluster._NOISE.sub("", text.lower()), text
    assert cluster._core("RT @haiti_news: trapped") == "trapped"


def test_buckets_of_one_member_and_of_many_survive_pruning() -> None:
    """A bucket holds its one member as a string and several as a list; pruning takes them back to one or none."""
    index = ClusterIndex(window=timedelta(days=1))
    start = datetime(2021, 7, 20, 8, tzinfo=UTC)
    index.assign("a", LUSHAN_PLEA + "一", start)
    index.assign("b", LUSHAN_PLEA + "二三四五六七", start + timedelta(hours=20))
    index.assign("c", "建议在学校门口增设红绿灯", start + timedelta(hours=20))
    shared = [
        key for key in index.band_keys(index.signature(LUSHAN_PLEA + "一")[None, :])[0] if len(index._bucket(key)) == 2
    ]
    assert shared, "the two pleas share a band"
    assert index.prune(start + timedelta(days=1, hours=1)) == 1
    assert all(index._bucket(key) == ["b"] for key in shared)
    assert all(isinstance(members, str) for members in index._buckets.values())
    # Found through b, which keeps the cluster it joined (named after a, now forgotten).
    assert index.assign("d", LUSHAN_PLEA + "一", start + timedelta(days=1, hours=2)) == "a"
    assert index.size("a") == 2
    assert index.prune(start + timedelta(days=3)) == 3
    assert index._buckets == {} and len(index) == 0
