"""Triage speed: messages/s in batches of 256, single-message latency, model load time and resident memory.

    python -m bench.triage [--data ../shared/data] [--messages 4096] [--passes 5] [--country HT]

One core: BLAS/OpenMP threads are pinned to 1 before numpy loads. The baseline is a bare char TF-IDF + linear SVM
(scikit-learn) fitted on the same messages and timed in the same run, so the ratio survives a noisy machine.
Uses the real messages in ../shared/data when present, otherwise a generated mix (and says which). With
``--country``, triage also runs a second time with those countries, whose towns English place names are resolved
against (the town index is built before timing, as a worker builds it once).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

BATCH = 256
_LOAD_PROBE = """
import json, resource, time
started = time.perf_counter()
from wenzheng.triage import load_models, triage, triage_batch
load_models()
triage("我们被困在学校宿舍")  # the first message also opens OpenCC's dictionaries
loaded = time.perf_counter() - started
triage_batch([{"id": str(i), "text": "我们被困在学校宿舍，房子塌了，救命" * (1 + i % 3)} for i in range(256)])
print(json.dumps({"load_s": loaded, "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def main() -> None:
    for variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):  # before numpy loads
        os.environ.setdefault(variable, "1")
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "data")
    parser.add_argument("--messages", type=int, default=4096)
    parser.add_argument("--passes", type=int, default=5, help="passes over the messages, each runner (median shown)")
    parser.add_argument("--country", action="append", default=[], help="also time triage with these countries")
    args = parser.parse_args()
    if args.passes < 1:
        parser.error("--passes must be at least 1")
    texts, source = corpus(args.data, args.messages)
    print(f"triage benchmark: {len(texts)} messages ({source}), batches of {BATCH}, one thread")
    probe = json.loads(subprocess.check_output([sys.executable, "-c", _LOAD_PROBE], env=os.environ.copy()))
    print(f"  model load + first message (fresh process): {probe['load_s']:.2f} s")
    print(f"  peak resident memory after a batch:            {probe['rss_mb']:.0f} MB")
    runners = {"triage": triage_runner()}
    if args.country:
        runners[f"triage, countries {','.join(args.country)}"] = triage_runner(args.country)
    runners["baseline TF-IDF + linear SVM"] = baseline_runner(texts)
    for run in runners.values():
        run(texts[:BATCH])  # warm up
    # Passes alternate between the two, so a slow spell of the machine falls on both; the figure is the median pass.
    rates: dict[str, list[tuple[float, float]]] = {name: [] for name in runners}
    for _ in range(args.passes):
        for name, run in runners.items():
            rates[name].append(throughput(run, texts))
    for name, run in runners.items():
        walls, cpus = sorted(r[0] for r in rates[name]), sorted(r[1] for r in rates[name])
        single = latency(run, texts[:300])
        print(
            f"  {name:<30} {statistics.median(walls):>8,.0f} msg/s ({statistics.median(cpus):,.0f} per CPU second; "
            f"passes {walls[0]:,.0f}–{walls[-1]:,.0f})   "
            f"single message: median {single[0]:.2f} ms, p99 {single[1]:.2f} ms"
        )
    ratios = [ours[1] / base[1] for ours, base in zip(rates["triage"], rates[list(runners)[-1]], strict=True)]
    print(
        f"  triage ÷ baseline per CPU second, pass by pass: median {statistics.median(ratios):.2f} "
        f"({min(ratios):.2f}–{max(ratios):.2f})"
    )


def corpus(data: Path, size: int) -> tuple[list[str], str]:
    """A mix of Chinese pleas, government messages and English disaster messages."""
    real = _real_messages(data)
    if real:
        random.Random(0).shuffle(real)
        return (real * (size // len(real) + 1))[:size], f"real messages from {data}"
    return _generated(size), "generated messages; ../shared/data not found"


def _real_messages(data: Path) -> list[str]:
    sources = [
        (data / "henan-flood-weibo-zh" / "posts_unlabelled.csv", "微博内容"),
        (data / "gov-messages-zh" / "labelled.csv", "留言详情"),
        (data / "disaster-response-en" / "messages_train_validation.csv", "message"),
    ]
    texts: list[str] = []
    for path, column in sources:
        if path.is_file():
            with path.open(encoding="utf-8-sig", newline="") as handle:
                texts += [row[column].strip() for row, _ in zip(csv.DictReader(handle), range(2000), strict=False)]
    return [t for t in texts if t]


def _generated(size: int) -> list[str]:
    rng = random.Random(0)
    places = ["姚桥镇初级中学附属教师职工宿舍", "荥阳市王宗店村文化广场", "A3区杜鹃文苑小区", "Delmas 33", "雨城区"]
    templates = [
        "我们被困在了{p}，房子已经全部坍塌了，求大家救救我们！电话1381234{n:04d}",
        "{p}停水停电两天了，家里有老人和孩子，急需饮用水和食物",
        "请问{p}附近的捐款点在哪里？怎么捐款",
        "{p}门口施工噪音扰民，强烈要求有关部门处理，已经持续{n}天",
        "We are trapped in {p}, {n} people injured, please send help",
        "Praying for everyone in Haiti, stay strong {n}",
        "为雅安祈福，愿平安 {n}",
    ]
    return [rng.choice(templates).format(p=rng.choice(places), n=rng.randrange(10_000)) for _ in range(size)]


def triage_runner(countries: Sequence[str] = ()) -> Callable[[Sequence[str]], object]:
    from wenzheng.triage import load_models, triage_batch
    from wenzheng.triage.world import load_towns

    load_models()
    if countries:
        load_towns(countries)
    return lambda batch: triage_batch([{"id": str(i), "text": t} for i, t in enumerate(batch)], countries=countries)


def baseline_runner(texts: Sequence[str]) -> Callable[[Sequence[str]], object]:
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.pipeline import make_pipeline
    from sklearn.svm import LinearSVC

    labels = [i % 7 for i in range(len(texts))]
    model = make_pipeline(TfidfVectorizer(analyzer="char", ngram_range=(1, 3)), LinearSVC()).fit(texts, labels)
    return lambda batch: model.predict(list(batch))


def throughput(run: Callable[[Sequence[str]], object], texts: Sequence[str]) -> tuple[float, float]:
    """Messages per second of wall-clock time and per second of this process's CPU time (which other load on
    the machine disturbs least)."""
    started, cpu = time.perf_counter(), time.process_time()
    for start in range(0, len(texts), BATCH):
        run(texts[start : start + BATCH])
    return len(texts) / (time.perf_counter() - started), len(texts) / (time.process_time() - cpu)


def latency(run: Callable[[Sequence[str]], object], texts: Sequence[str]) -> tuple[float, float]:
    timings = []
    for text in texts:
        started = time.perf_counter()
        run([text])
        timings.append((time.perf_counter() - started) * 1000)
    timings.sort()
    return statistics.median(timings), timings[int(len(timings) * 0.99) - 1]


if __name__ == "__main__":
    main()
