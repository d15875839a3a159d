"""The Python seed's README example, run with the seed (atomic-dict 0.5.0).

A table of 1 Mi capacity, a fork Pool of 8 workers, 16 tasks of 32 Ki
iterations; each iteration is the README's two lines, unchanged:

    idx = dict[1].add(1)
    dict[100 + idx] = id

Only the work phase is timed, as examples/tickets.js times its own: every
worker waits at a barrier before its first task (so all start together), each
task reads CLOCK_MONOTONIC (time.monotonic, which every process reads alike)
at its start and end, and the work phase runs from the earliest start to the
latest end. Then the result is checked exactly (by iterating the table, which
inserts nothing): the counter is 16 * 32 Ki, the keys are exactly 1 and
100 .. 100 + 16 * 32 Ki - 1, and each task's id was recorded 32 Ki times (the
tickets are distinct, so every ticket was recorded once).

Prints one JSON line. Run: python3 benchmark/seed-tickets.py [workers tasks iterations]
(run.js runs it, several times, in the same run as the Node example).
"""

import json
import multiprocessing
import sys
import time
from collections import Counter

import atomic_dict
from atomic_dict import AtomicDict

WORKERS, TASKS, ITERATIONS = ([int(a) for a in sys.argv[1:4]] + [8, 16, 32 * 1024][len(sys.argv[1:4]):])

dict = AtomicDict(1024 * 1024)  # noqa: A001 - the README's name
barrier = None  # made before the pool forks, inherited by the workers
first_task = True  # per process: wait at the barrier before the first task only


def worker(id: int) -> tuple[float, float]:  # noqa: A002 - the README's name
    global first_task
    if first_task:
        first_task = False
        # Each worker blocks here inside its first task, so it takes no
        # other task before all WORKERS hold one: with 16 tasks for 8 workers
        # (chunksize 1) every worker gets there.
        barrier.wait(timeout=120)
    start = time.monotonic()
    for _ in range(ITERATIONS):
        idx = dict[1].add(1)  # also: sub, bor, bxor, band, swap, cas(expected, replacement)
        dict[100 + idx] = id
    return start, time.monotonic()


def main() -> None:
    global barrier
    context = multiprocessing.get_context("fork")
    barrier = context.Barrier(WORKERS)
    # chunksize 1 is what Pool.map picks for 16 tasks on 8 workers; said here
    # because the barrier above relies on it.
    with context.Pool(WORKERS) as p:
        spans = p.map(worker, range(TASKS), chunksize=1)

    total = TASKS * ITERATIONS
    failures = []
    counter = None
    ids = Counter()
    keys = 0
    for key, value in dict:
        keys += 1
        (k,) = key
        if k == 1:
            counter = value
        elif 100 <= k < 100 + total:
            ids[value] += 1
        else:
            failures.append(f"unexpected key {k}")
    if counter != total:
        failures.append(f"counter is {counter}, expected {total}")
    if keys != total + 1:
        failures.append(f"{keys} keys, expected {total + 1}")
    if ids != Counter({t: ITERATIONS for t in range(TASKS)}):
        failures.append(f"task ids recorded {dict_summary(ids)}, expected each of 0..{TASKS - 1} {ITERATIONS} times")

    seconds = max(e for _, e in spans) - min(s for s, _ in spans)
    ops = 2 * total  # a ticket (add) and a store per iteration
    print(json.dumps({
        "seed": "atomic-dict",
        "version": atomic_dict.__version__,
        "python": sys.version.split()[0],
        "workers": WORKERS,
        "tasks": TASKS,
        "iterations": ITERATIONS,
        "counter": counter,
        "ops": ops,
        "seconds": seconds,
        "opsPerSec": ops / seconds,
        "checked": not failures,
        "failures": failures[:10],
    }))
    if failures:
        sys.exit(1)


def dict_summary(c: Counter) -> str:
    return ", ".join(f"{k}: {v}" for k, v in sorted(c.items())[:20])


if __name__ == "__main__":
    main()
