"""Single-process figures of the Python seed (atomic-dict 0.5.0), for the
side-by-side table of benchmark/run.js.

Each figure is the time of a plain Python loop over N operations divided by
N (the loop's own cost included: it is what a Python user pays), the best
of PASSES passes:

- seen:   `d[k].add(1)` on 1024 keys inserted before (cycled);
- handle: `v.add(1)` on a handle kept from `v = d[1]`;
- first:  `d[k].add(1)` on 256 Ki keys of a full 2 Mi-key table, each once
          (the seed has no per-object cache: this is every lookup's cost in
          a table far beyond the caches);
- insert: `d[k] = 1` of new keys into a 1 Mi-capacity table, from empty to
          full (a fresh table per pass).

Prints one JSON line. Run: python3 benchmark/seed-single.py [passes] [scale]
(scale < 1 shortens the loops, for --quick).
"""

import json
import sys
import time

import atomic_dict
from atomic_dict import AtomicDict

PASSES = int(sys.argv[1]) if len(sys.argv) > 1 else 3
SCALE = float(sys.argv[2]) if len(sys.argv) > 2 else 1.0
MI = 1 << 20
HOT = 1024
now = time.perf_counter


def best(f, passes=PASSES):
    return min(f() for _ in range(passes))


def seen() -> float:
    d = AtomicDict(1 << 16)
    keys = list(range(1, HOT + 1))
    for k in keys:
        d[k].add(0)
    rounds = max(1, int(1000 * SCALE))

    def one() -> float:
        t = now()
        for _ in range(rounds):
            for k in keys:
                d[k].add(1)
        return (now() - t) * 1e9 / (rounds * HOT)

    return best(one)


def handle() -> float:
    d = AtomicDict(1024)
    v = d[1]
    n = max(HOT, int(MI * SCALE))
    r = range(n)

    def one() -> float:
        t = now()
        for _ in r:
            v.add(1)
        return (now() - t) * 1e9 / n

    return best(one)


def first() -> tuple[float, float]:
    n = 2 * MI
    d = AtomicDict(n)
    t = now()
    for k in range(1, n + 1):
        d[k] = 1
    fill = (now() - t) * 1e9 / n
    # A sample of the keys (they hash all over the table): one cache miss each.
    m = max(HOT, int(MI // 4 * SCALE))
    keys = list(range(1, m + 1))

    def one() -> float:
        t = now()
        for k in keys:
            d[k].add(1)
        return (now() - t) * 1e9 / m

    return best(one), fill


def insert() -> float:
    n = max(HOT, int(MI * SCALE))

    def one() -> float:
        d = AtomicDict(MI)
        keys = range(1, n + 1)
        t = now()
        for k in keys:
            d[k] = 1
        return (now() - t) * 1e9 / n

    return best(one)


def main() -> None:
    first_ns, fill_ns = first()
    print(json.dumps({
        "seed": "atomic-dict",
        "version": atomic_dict.__version__,
        "python": sys.version.split()[0],
        "passes": PASSES,
        "scale": SCALE,
        "nsPerOp": {
            "seen": seen(),
            "handle": handle(),
            "first": first_ns,
            "insert": insert(),
        },
        "fill2miNsPerKey": fill_ns,
    }))


if __name__ == "__main__":
    main()
