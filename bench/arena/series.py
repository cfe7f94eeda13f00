"""The samples behind a results file: one gzipped JSON file per scenario,
contender and configuration, in the directory beside it (latest.json:
latest-series/), each holding that group's cells by name
(SCENARIO.CONTENDER.CONFIG.REP).

Split so that a sitting of some contenders rewrites only their files: a
single file of every cell was rewritten whole by each sitting, 6.6 MB more
in the repository's history every time. Written with no timestamp, and
not at all when unchanged, so an untouched group stays the same blob.
Results of before the split keep their single -series.json.gz, which
load() still reads."""
import gzip
import json
import os


def directory(results_path):
    return os.path.splitext(results_path)[0] + "-series"


def legacy_path(results_path):
    return directory(results_path) + ".json.gz"


def group_of(name):
    return name.rsplit(".", 1)[0]


def load(results_path):
    """Every cell's samples: {cell name: {"rows": ..., ...}}; {} when none
    were kept."""
    d = directory(results_path)
    if os.path.isdir(d):
        cells = {}
        for n in sorted(os.listdir(d)):
            if n.endswith(".json.gz"):
                cells.update(json.load(gzip.open(os.path.join(d, n), "rt")))
        return cells
    if os.path.exists(legacy_path(results_path)):
        return json.load(gzip.open(legacy_path(results_path), "rt"))
    return {}


def save(results_path, keep, fresh):
    """Keeps the stored cells named in KEEP, adds FRESH ({name: samples}),
    drops the rest; rewrites only the groups whose cells changed."""
    merged = {k: v for k, v in load(results_path).items() if k in keep}
    merged.update(fresh)
    groups = {}
    for name, cell in merged.items():
        groups.setdefault(group_of(name), {})[name] = cell
    d = directory(results_path)
    os.makedirs(d, exist_ok=True)
    for group, cells in groups.items():
        path = os.path.join(d, group + ".json.gz")
        data = json.dumps(dict(sorted(cells.items())), separators=(",", ":")).encode()
        if os.path.exists(path):
            with gzip.open(path, "rb") as f:
                if f.read() == data:
                    continue
        with open(path, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as f:
            f.write(data)
    for n in os.listdir(d):
        if n.endswith(".json.gz") and n[:-len(".json.gz")] not in groups:
            os.remove(os.path.join(d, n))
    if os.path.exists(legacy_path(results_path)):
        os.remove(legacy_path(results_path))
