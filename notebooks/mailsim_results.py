"""Load mailsim result sets into pandas for exploration.

A result set is the folder that ``mailsim run`` writes (results/FORMAT.md
describes it file by file): manifest.json, spec.toml and
spec.expanded.toml, runs.csv, summary.csv, one runs/<id>.json per run and
provenance.json. This module reads those files as they are, and rebuilds
what the notebooks need from them:

* the scalar metrics of every run (runs.csv) and their means with 95%
  Student-t confidence intervals (summary.csv, or recomputed here with
  pandas and numpy alone, see :func:`mean_ci`);
* latency histograms in the fixed log-scale buckets of Go's package
  mailsim/model/hist, with its quantile definition, so that a percentile
  or a CDF drawn here is the one mailsim reports;
* per-run time series and events on one time axis: seconds since the end
  of warm-up, the clock that a spec's ``[[faults]] at`` uses.

Nothing here depends on scipy; only the standard library, numpy and pandas.
"""

import json
import math
import os
import tomllib

import numpy as np
import pandas as pd

# Histogram layout, as in mailsim/model/hist: BUCKETS_PER_DECADE buckets per
# power of ten from HIST_MIN up to HIST_MAX, an underflow bucket (index 0)
# below HIST_MIN and an overflow bucket (the last index) from HIST_MAX up.
HIST_MIN = 1e-6
HIST_MAX = 1e4
BUCKETS_PER_DECADE = 20
DECADES = 10
NUM_BUCKETS = DECADES * BUCKETS_PER_DECADE + 2

# Metrics the notebooks show first, when a set has them.
KEY_METRICS = [
    "imap.latency.p99",
    "nfs.ops_per_s",
    "cache.hit_ratio",
    "stale_reads",
    "dovecot.errors.total",
    "load_imbalance",
]

# Time-series columns of a run that the failure timeline shows; result
# sets written before logins_ok and logins_failed existed call the failed
# logins failed_logins.
TIMELINE_COLUMNS = ["stale_reads", "dovecot_errors", "logins_failed", "failed_logins", "connections"]

# Time-series columns that are levels read at the end of each sample
# interval; the others count events during the interval.
GAUGE_COLUMNS = {"connections"}
# Column-name prefixes of more levels: a director's user table per backend
# and its users assigned to no backend or to one that is not serving.
GAUGE_PREFIXES = ("director_users",)

# Histograms that mailsim leaves out of its IMAP latency: IDLE connections'
# periodic checks are not client commands, and LMTP is a delivery.
NON_IMAP_HISTOGRAMS = ("latency/IDLE", "latency/LMTP")


# 10**(j/20) for j = 0..19 to 17 significant digits, and the first bound
# of each decade: model/hist builds every bound as one product of the two,
# rounded once, so the same product here gives the same bits.
_MANTISSAS = [
    1,
    1.1220184543019634,
    1.2589254117941672,
    1.4125375446227543,
    1.5848931924611135,
    1.7782794100389228,
    1.9952623149688796,
    2.2387211385683396,
    2.5118864315095801,
    2.8183829312644538,
    3.1622776601683793,
    3.5481338923357546,
    3.9810717055349725,
    4.4668359215096312,
    5.0118723362727229,
    5.6234132519034908,
    6.3095734448019325,
    7.0794578438413791,
    7.9432823472428150,
    8.9125093813374553,
]
_DECADE_START = [1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1.0, 1e1, 1e2, 1e3]


def _upper_bounds():
    u = [HIST_MIN]
    for i in range(1, NUM_BUCKETS - 1):
        if i == NUM_BUCKETS - 2:
            u.append(HIST_MAX)
        else:
            u.append(_DECADE_START[i // BUCKETS_PER_DECADE] * _MANTISSAS[i % BUCKETS_PER_DECADE])
    u.append(math.inf)
    return np.array(u, dtype=float)


_UPPER = _upper_bounds()
_UPPER.setflags(write=False)


def upper_bound(i):
    """Return the exclusive upper bound of bucket i (inf for the overflow bucket)."""
    return float(_UPPER[i])


def lower_bound(i):
    """Return the inclusive lower bound of bucket i (0 for the underflow bucket)."""
    return 0.0 if i == 0 else float(_UPPER[i - 1])


def bucket_bounds():
    """Return (lower, upper): numpy arrays of every bucket's bounds."""
    lower = np.concatenate(([0.0], _UPPER[:-1]))
    return lower, _UPPER.copy()


def bucket_index(v):
    """Return the bucket that holds v, as model/hist's Index does."""
    if not v >= HIST_MIN:  # also NaN
        return 0
    if v >= HIST_MAX:
        return NUM_BUCKETS - 1
    i = int(math.floor(math.log10(v / HIST_MIN) * BUCKETS_PER_DECADE)) + 1
    i = max(1, min(i, NUM_BUCKETS - 2))
    while i > 1 and v < _UPPER[i - 1]:
        i -= 1
    while i < NUM_BUCKETS - 1 and v >= _UPPER[i]:
        i += 1
    return i


def parse_num(v):
    """Return a result-set number as a float.

    Finite numbers are JSON numbers; NaN and the infinities are the strings
    "NaN", "+Inf" and "-Inf". An empty CSV cell (a metric the run did not
    report) is NaN too.
    """
    if isinstance(v, str):
        s = v.strip()
        if s in ("", "NaN"):
            return math.nan
        if s == "+Inf":
            return math.inf
        if s == "-Inf":
            return -math.inf
        return float(s)
    if v is None:
        return math.nan
    return float(v)


_DURATION_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "μs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}


def parse_duration(s):
    """Return Go duration text such as "1m30s", "250ms" or "-2s" in seconds."""
    text = s.strip()
    if text in ("0", "+0", "-0"):
        return 0.0
    sign = 1.0
    if text and text[0] in "+-":
        sign = -1.0 if text[0] == "-" else 1.0
        text = text[1:]
    if not text:
        raise ValueError(f"mailsim_results: bad duration {s!r}")
    total, i = 0.0, 0
    while i < len(text):
        j = i
        while j < len(text) and (text[j].isdigit() or text[j] == "."):
            j += 1
        k = j
        while k < len(text) and not (text[k].isdigit() or text[k] == "."):
            k += 1
        number, unit = text[i:j], text[j:k]
        if not number or unit not in _DURATION_UNITS:
            raise ValueError(f"mailsim_results: bad duration {s!r}")
        total += float(number) * _DURATION_UNITS[unit]
        i = k
    return sign * total


class Histogram:
    """A distribution in model/hist's fixed buckets, with its exact count,
    sum, minimum and maximum."""

    def __init__(self, name="", unit="", counts=None, n=0, total=0.0, vmin=0.0, vmax=0.0):
        self.name = name
        self.unit = unit
        self.counts = np.zeros(NUM_BUCKETS, dtype=np.uint64) if counts is None else np.asarray(counts, dtype=np.uint64)
        self.n = int(n)
        self.sum = float(total)
        self.min = float(vmin)
        self.max = float(vmax)

    @classmethod
    def from_json(cls, d):
        """Build a histogram from its entry in a run file."""
        counts = np.zeros(NUM_BUCKETS, dtype=np.uint64)
        for index, count in d["buckets"]:
            if not 0 <= index < NUM_BUCKETS:
                raise ValueError(f"mailsim_results: histogram {d['name']}: bucket {index} out of range")
            counts[index] += count
        h = cls(d["name"], d["unit"], counts, d["n"], parse_num(d["sum"]), parse_num(d["min"]), parse_num(d["max"]))
        if int(counts.sum()) != h.n:
            raise ValueError(f"mailsim_results: histogram {h.name}: buckets hold {int(counts.sum())} observations, n is {h.n}")
        return h

    def copy(self):
        """Return an independent copy."""
        return Histogram(self.name, self.unit, self.counts.copy(), self.n, self.sum, self.min, self.max)

    def merge(self, other):
        """Add other's observations to this histogram, as model/hist's Merge does."""
        if other.n == 0:
            return self
        self.counts = self.counts + other.counts
        if self.n == 0 or other.min < self.min:
            self.min = other.min
        if self.n == 0 or other.max > self.max:
            self.max = other.max
        self.n += other.n
        self.sum += other.sum
        return self

    def mean(self):
        """Return the exact mean of the observations, NaN when empty."""
        return math.nan if self.n == 0 else self.sum / self.n

    def quantile(self, q):
        """Return the q-quantile by model/hist's definition.

        The target rank is q·n (at least 1); the bucket holding it is found
        from cumulative counts and the value interpolated linearly in the
        bucket, whose bounds are clamped to the observed minimum and maximum.
        """
        if self.n == 0 or math.isnan(q):
            return math.nan
        if q <= 0:
            return self.min
        if q >= 1:
            return self.max
        r = max(q * self.n, 1.0)
        cum = 0.0
        for i, c in enumerate(self.counts):
            if c == 0:
                continue
            nxt = cum + float(c)
            if nxt >= r:
                lo, hi = max(lower_bound(i), self.min), min(upper_bound(i), self.max)
                frac = (r - cum) / float(c)
                return lo + (hi - lo) * frac
            cum = nxt
        return self.max

    def cdf(self):
        """Return the empirical CDF at the bucket edges as a DataFrame.

        Columns: value (the upper edge of each non-empty bucket, the last
        one clamped to the observed maximum) and fraction (the share of
        observations below it). The first row is the observed minimum at 0.
        """
        if self.n == 0:
            return pd.DataFrame({"value": [], "fraction": []})
        idx = np.nonzero(self.counts)[0]
        values = np.minimum(_UPPER[idx], self.max)
        fractions = np.cumsum(self.counts[idx].astype(float)) / self.n
        return pd.DataFrame({"value": np.concatenate(([self.min], values)), "fraction": np.concatenate(([0.0], fractions))})


def merge_histograms(histograms, name=None):
    """Return one histogram holding the observations of all histograms."""
    hs = list(histograms)
    out = Histogram(name if name is not None else (hs[0].name if hs else ""), hs[0].unit if hs else "")
    for h in hs:
        out.merge(h)
    return out


# Student's t distribution, for confidence intervals without scipy.


def _betacf(a, b, x):
    # Continued fraction of the regularized incomplete beta function,
    # evaluated with the modified Lentz method.
    tiny = 1e-300
    qab, qap, qam = a + b, a + 1.0, a - 1.0
    c, d = 1.0, 1.0 - qab * x / qap
    d = tiny if abs(d) < tiny else d
    d = 1.0 / d
    h = d
    for m in range(1, 10000):
        m2 = 2 * m
        aa = m * (b - m) * x / ((qam + m2) * (a + m2))
        d = 1.0 + aa * d
        d = tiny if abs(d) < tiny else d
        c = 1.0 + aa / c
        c = tiny if abs(c) < tiny else c
        d = 1.0 / d
        h *= d * c
        aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2))
        d = 1.0 + aa * d
        d = tiny if abs(d) < tiny else d
        c = 1.0 + aa / c
        c = tiny if abs(c) < tiny else c
        d = 1.0 / d
        delta = d * c
        h *= delta
        if abs(delta - 1.0) < 1e-16:
            break
    return h


def reg_inc_beta(a, b, x):
    """Return the regularized incomplete beta function I_x(a, b)."""
    if x <= 0:
        return 0.0
    if x >= 1:
        return 1.0
    lbt = math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x)
    if x < (a + 1.0) / (a + b + 2.0):
        return math.exp(lbt) * _betacf(a, b, x) / a
    return 1.0 - math.exp(lbt) * _betacf(b, a, 1.0 - x) / b


def t_cdf(t, df):
    """Return P(T ≤ t) for Student's t distribution with df degrees of freedom."""
    if math.isnan(t):
        return math.nan
    if math.isinf(t):
        return 1.0 if t > 0 else 0.0
    tail = 0.5 * reg_inc_beta(df / 2.0, 0.5, df / (df + t * t))
    return 1.0 - tail if t > 0 else tail


def t_quantile(p, df):
    """Return the p-quantile of Student's t distribution with df degrees of freedom.

    The CDF is inverted by bisection down to adjacent floating-point
    numbers, so the result is as exact as the CDF.
    """
    if not 0 < p < 1 or not df > 0:
        raise ValueError(f"mailsim_results: t_quantile({p}, {df}) wants 0 < p < 1 and df > 0")
    if p == 0.5:
        return 0.0
    if p < 0.5:
        return -t_quantile(1 - p, df)
    lo, hi = 0.0, 1.0
    while t_cdf(hi, df) < p:
        lo, hi = hi, hi * 2
    for _ in range(2000):
        mid = (lo + hi) / 2
        if mid <= lo or mid >= hi:
            break
        if t_cdf(mid, df) < p:
            lo = mid
        else:
            hi = mid
    return hi


def mean_ci(values, level=0.95):
    """Return (n, mean, lo, hi): the mean of values and its two-sided Student-t
    confidence interval, mean ± t(1−(1−level)/2, n−1)·s/√n.

    NaN values (a metric a run could not measure) are left out. With one
    value the bounds are NaN, as in mailsim's own tables.
    """
    xs = np.asarray([float(v) for v in values], dtype=float)
    xs = xs[~np.isnan(xs)]
    n = len(xs)
    if n == 0:
        return 0, math.nan, math.nan, math.nan
    mean = float(xs.mean())
    if n == 1:
        return 1, mean, math.nan, math.nan
    sd = float(xs.std(ddof=1))
    if math.isinf(mean) or math.isnan(sd):
        return n, mean, math.nan, math.nan
    h = t_quantile(1 - (1 - level) / 2, n - 1) * sd / math.sqrt(n)
    return n, mean, mean - h, mean + h


def paired_diff(a, b, level=0.95):
    """Return (n, mean, lo, hi) for the mean of the per-replica differences
    a[i] − b[i], with its confidence interval.

    a and b hold the same replicas in the same order: replica k of every
    strategy at a sweep point sees the same workload, so pairing removes
    the workload's own variance.
    """
    a, b = list(a), list(b)
    if len(a) != len(b):
        raise ValueError(f"mailsim_results: paired samples of different lengths {len(a)} and {len(b)}")
    return mean_ci([x - y for x, y in zip(a, b)], level)


def _numeric_or_text(values):
    """Return sweep values as numbers when every one is a number, else as text."""
    out = []
    for v in values:
        try:
            f = float(v)
        except (TypeError, ValueError):
            return list(values)
        out.append(int(f) if f.is_integer() and "." not in str(v) and "e" not in str(v).lower() else f)
    return out


class Run:
    """One run of a result set, read from runs/<id>.json.

    Attributes: id, strategy, replica, seed, point (list of (key, value)
    text pairs), metrics (a Series of floats by metric name), units (by
    metric name), histograms (a dict of :class:`Histogram` by name),
    backends (a DataFrame: one row per backend, one column per vector),
    series (a DataFrame indexed by t, seconds since the end of warm-up at
    the start of each sample interval; counts such as stale_reads are over
    [t, t + series_interval), levels in GAUGE_COLUMNS are read at its end;
    None when the run has none) and events (a DataFrame with columns t,
    kind, detail; t on the same clock as the series). Run files time both
    from the start of the run; with the warm-up known from the spec, t
    counts from the end of warm-up instead, the clock of a spec's faults.
    """

    def __init__(self, d, warmup=None):
        self.raw = d
        self.id = d["id"]
        self.strategy = d["strategy"]
        self.replica = int(d["replica"])
        self.seed = int(d["seed"])
        self.point = [(k, v) for k, v in (d.get("point") or [])]
        self.metrics = pd.Series({m["name"]: parse_num(m["value"]) for m in d["metrics"]}, dtype=float)
        self.units = {m["name"]: m["unit"] for m in d["metrics"]}
        self.histograms = {h["name"]: Histogram.from_json(h) for h in d["histograms"]}
        self.backends = pd.DataFrame({v["name"]: [parse_num(x) for x in v["values"]] for v in d["backends"]})
        self.backends.index.name = "backend"
        self.series = None
        self.series_interval = None
        s = d.get("series")
        if s is not None:
            start = parse_duration(s["start"])
            interval = parse_duration(s["interval"])
            offset = start - warmup if warmup is not None else start
            n = max((len(c["values"]) for c in s["columns"]), default=0)
            cols = {}
            for c in s["columns"]:
                vals = [parse_num(x) for x in c["values"]]
                cols[c["name"]] = vals + [math.nan] * (n - len(vals))
            self.series = pd.DataFrame(cols, index=pd.Index(offset + interval * np.arange(n), name="t"))
            self.series_interval = interval
        # Event times, like series times, count from the start of the run.
        self.events = pd.DataFrame(
            {
                "t": [parse_duration(e["at"]) - (warmup or 0.0) for e in d["events"]],
                "kind": [e["kind"] for e in d["events"]],
                "detail": [e["detail"] for e in d["events"]],
            }
        )

    def imap_latency(self):
        """Return the merged histogram of client IMAP commands, the one
        behind a run's imap.latency.* metrics (every latency/* histogram but
        IDLE checks and LMTP deliveries)."""
        hs = [h for name, h in sorted(self.histograms.items()) if name.startswith("latency/") and name not in NON_IMAP_HISTOGRAMS]
        return merge_histograms(hs, "imap")


class ResultSet:
    """A result set folder, loaded.

    Attributes:
      path, manifest (the parsed manifest.json), experiment, description,
      seed;
      source: where the runs come from, "model" or "testbed" (real
        kernels and real Dovecot, 'mailsim testbed run');
      metrics: DataFrame indexed by metric name with unit, better, doc;
      sweep_keys: the swept parameters in plan order ([] without a sweep);
      strategies: strategy names in plan order;
      points: sweep points in plan order, tuples of values (text);
      plan: DataFrame of planned runs (id, strategy, replica, seed, one
        column per sweep key);
      runs: runs.csv as a DataFrame (sweep columns numeric when every value
        is a number, metric columns float, strategy an ordered categorical);
      reported: a boolean DataFrame like runs, False where runs.csv has an
        empty cell (a metric the run did not report, unlike "NaN");
      summary: summary.csv likewise, or None when the set has none;
      spec: spec.expanded.toml parsed, or {} when absent;
      warmup: seconds of warm-up from the spec, or None.
    """

    def __init__(self, path):
        self.path = os.fspath(path)
        with open(os.path.join(self.path, "manifest.json"), encoding="utf-8") as f:
            self.manifest = json.load(f)
        if self.manifest.get("format") not in (1, 2):
            raise ValueError(f"mailsim_results: {self.path}: result-set format {self.manifest.get('format')}, this module reads formats 1 and 2")
        self.experiment = self.manifest["experiment"]
        self.description = self.manifest["description"]
        self.seed = int(self.manifest["seed"])
        self.source = (self.manifest.get("source") or {}).get("kind", "model")
        self.metrics = pd.DataFrame(self.manifest["metrics"], columns=["name", "unit", "better", "doc"]).set_index("name")
        plan = self.manifest["plan"]
        keys = []
        for p in plan:
            for k, _ in p["point"] or []:
                if k not in keys:
                    keys.append(k)
        self.sweep_keys = keys
        self.strategies = list(dict.fromkeys(p["strategy"] for p in plan))
        rows = []
        for p in plan:
            pt = dict(p["point"] or [])
            rows.append([p["id"], p["strategy"], int(p["replica"]), int(p["seed"])] + [pt.get(k, "") for k in keys])
        self.plan = pd.DataFrame(rows, columns=["id", "strategy", "replica", "seed"] + keys)
        self.points = list(dict.fromkeys(tuple(r[4:]) for r in rows))
        # Sweep values as the spec wrote them, and what they become in the
        # tables: numbers when every value of the key is one, else ordered
        # categories in plan order.
        self._sweep_map = {}
        for k in keys:
            text = list(dict.fromkeys(self.plan[k]))
            self._sweep_map[k] = dict(zip(text, _numeric_or_text(text)))
        for k in keys:
            self.plan[k] = self._sweep_column(k, self.plan[k])
        self.plan["strategy"] = self._strategy_column(self.plan["strategy"])
        spec_path = os.path.join(self.path, "spec.expanded.toml")
        self.spec = {}
        if os.path.exists(spec_path):
            with open(spec_path, "rb") as f:
                self.spec = tomllib.load(f)
        w = self.spec.get("run", {}).get("warmup")
        self.warmup = parse_duration(w) if isinstance(w, str) else None
        self.runs = self._read_table("runs.csv", text_columns=["id", "strategy", "seed"])
        self.reported = self._last_reported
        if "replica" in self.runs:
            self.runs["replica"] = self.runs["replica"].astype(int)
        summary_path = os.path.join(self.path, "summary.csv")
        self.summary = None
        if os.path.exists(summary_path):
            self.summary = self._read_table("summary.csv", text_columns=["strategy", "metric", "unit"])
            self.summary["n"] = self.summary["n"].astype(int)
        self._run_cache = {}

    def _strategy_column(self, col):
        return pd.Categorical(col, categories=self.strategies, ordered=True)

    def _sweep_column(self, key, col):
        mapping = self._sweep_map[key]
        values = list(mapping.values())
        if values and isinstance(values[0], str):
            return pd.Categorical(col, categories=values, ordered=True)
        return col.map(mapping)

    def _restore_columns(self, df):
        # Give long tables built row by row the runs table's column types,
        # so that they sort in plan order.
        df["strategy"] = self._strategy_column(df["strategy"])
        for k in self.sweep_keys:
            values = list(self._sweep_map[k].values())
            if values and isinstance(values[0], str):
                df[k] = pd.Categorical(df[k], categories=values, ordered=True)

    def _read_table(self, name, text_columns):
        df = pd.read_csv(os.path.join(self.path, name), dtype=str, keep_default_na=False)
        # An empty cell is a metric the run did not report; "NaN" is one it
        # reported but could not measure. Both read as NaN, so remember which.
        self._last_reported = df != ""
        for c in df.columns:
            if c in self.sweep_keys:
                df[c] = self._sweep_column(c, df[c])
            elif c == "strategy":
                df[c] = self._strategy_column(df[c])
            elif c in text_columns or c == "replica" or c == "n":
                continue
            else:
                df[c] = df[c].map(parse_num).astype(float)
        if "seed" in df:
            df["seed"] = df["seed"].map(int)
        return df

    def __repr__(self):
        return f"<ResultSet {self.experiment!r}: {len(self.runs)} runs, strategies {self.strategies}, sweep {self.sweep_keys or 'none'}>"

    @property
    def metric_names(self):
        """Scalar metrics in table order: the manifest's, then any others runs.csv holds."""
        names = list(self.metrics.index)
        fixed = {"id", "strategy", "replica", "seed", *self.sweep_keys}
        names += [c for c in self.runs.columns if c not in fixed and c not in names]
        return names

    def unit(self, metric):
        """Return the unit of metric ("" when it has none or is unknown)."""
        return self.metrics["unit"].get(metric, "") or ""

    def label(self, metric):
        """Return "metric [unit]" for axis labels."""
        u = self.unit(metric)
        return f"{metric} [{u}]" if u else metric

    def run(self, run_id):
        """Return the :class:`Run` with this id (read once, then cached)."""
        if run_id not in self._run_cache:
            with open(os.path.join(self.path, "runs", run_id + ".json"), encoding="utf-8") as f:
                self._run_cache[run_id] = Run(json.load(f), self.warmup)
        return self._run_cache[run_id]

    def finished_ids(self):
        """Return the ids of runs that have a run file, in plan order."""
        return [i for i in self.plan["id"] if os.path.exists(os.path.join(self.path, "runs", i + ".json"))]

    def recompute_summary(self, metrics=None, level=0.95):
        """Return the summary table recomputed from runs.csv.

        Same rows and columns as summary.csv (sweep keys, strategy, metric,
        unit, n, mean, ci95_lo, ci95_hi) plus half_width, computed here
        with :func:`mean_ci`.
        """
        metrics = self.metric_names if metrics is None else list(metrics)
        rows = []
        by = self.sweep_keys + ["strategy"]
        grouper = by if len(by) > 1 else by[0]
        for keys, g in self.runs.groupby(grouper, observed=True, sort=True):
            keys = keys if isinstance(keys, tuple) else (keys,)
            for m in metrics:
                if m not in g:
                    continue
                if not self.reported.loc[g.index, m].any():
                    continue
                # Like summary.csv, a metric the runs reported only as NaN
                # gets a row with n = 0.
                n, mean, lo, hi = mean_ci(g[m], level)
                rows.append(list(keys) + [m, self.unit(m), n, mean, lo, hi])
        out = pd.DataFrame(rows, columns=by + ["metric", "unit", "n", "mean", "ci95_lo", "ci95_hi"])
        out["half_width"] = (out["ci95_hi"] - out["ci95_lo"]) / 2
        return out

    def table(self, metrics=None, point=None):
        """Return a wide table "mean ± half-width (n)" by metric (rows) and
        strategy (columns), from summary.csv when present, at one sweep
        point (a dict of key: value; required when the set has a sweep)."""
        s = self.summary if self.summary is not None else self.recompute_summary()
        s = self.at_point(s, point)
        metrics = self.metric_names if metrics is None else list(metrics)
        s = s[s["metric"].isin(metrics)]

        def cell(r):
            if math.isnan(r["ci95_lo"]):
                return f"{r['mean']:.4g} (n={r['n']})"
            return f"{r['mean']:.4g} ± {(r['ci95_hi'] - r['ci95_lo']) / 2:.2g} (n={r['n']})"

        cells = s.assign(cell=s.apply(cell, axis=1))
        wide = cells.pivot(index="metric", columns="strategy", values="cell")
        wide = wide.reindex([m for m in metrics if m in set(s["metric"])])
        wide.insert(0, "unit", [self.unit(m) for m in wide.index])
        wide.columns.name = None
        return wide

    def at_point(self, df, point):
        """Return the rows of a table (runs, summary, series, events) at a
        sweep point, a dict of key: value; df itself without a sweep."""
        if not self.sweep_keys:
            return df
        if point is None:
            raise ValueError(f"mailsim_results: the set sweeps {self.sweep_keys}: name a point")
        mask = np.ones(len(df), dtype=bool)
        for k, v in point.items():
            mask &= (df[k] == v).to_numpy()
        return df[mask]

    def point_dicts(self):
        """Return the sweep points in plan order as dicts of key: value
        (converted like the tables' sweep columns); [{}] without a sweep."""
        if not self.sweep_keys:
            return [{}]
        return [{k: self._sweep_map[k][v] for k, v in zip(self.sweep_keys, pt)} for pt in self.points]

    def point_label(self, point):
        """Return a point dict as "key=value key=value" ("(none)" when empty)."""
        return " ".join(f"{k}={v}" for k, v in point.items()) or "(none)"

    def runs_at(self, point=None, strategy=None):
        """Return the rows of runs.csv at a sweep point (dict) and strategy."""
        df = self.runs
        if point:
            df = self.at_point(df, point)
        if strategy is not None:
            df = df[df["strategy"] == strategy]
        return df

    def merged_histogram(self, name, strategy, point=None):
        """Return histogram name merged over the replicas of strategy at a
        point ("imap" for the client IMAP latency that imap.latency.*
        report). Percentiles of several replicas come from such a merge,
        never from averaging percentiles."""
        hs = []
        for run_id in self.runs_at(point, strategy)["id"]:
            r = self.run(run_id)
            if name == "imap":
                hs.append(r.imap_latency())
            elif name in r.histograms:
                hs.append(r.histograms[name])
        return merge_histograms(hs, name) if hs else Histogram(name)

    def histogram_names(self):
        """Return the histogram names that the set's runs hold, sorted."""
        names = set()
        for run_id in self.finished_ids():
            names.update(self.run(run_id).histograms)
        return sorted(names)

    def series(self, columns=None):
        """Return every run's time series in long form.

        Columns: id, strategy, replica, the sweep keys, t (seconds since
        the end of warm-up at the start of the sample), column, value.
        """
        frames = []
        for _, row in self.runs.iterrows():
            r = self.run(row["id"])
            if r.series is None:
                continue
            s = r.series if columns is None else r.series[[c for c in columns if c in r.series]]
            long = s.reset_index().melt(id_vars="t", var_name="column", value_name="value")
            for k in ["id", "strategy", "replica"] + self.sweep_keys:
                long[k] = row[k]
            frames.append(long)
        if not frames:
            return pd.DataFrame(columns=["id", "strategy", "replica"] + self.sweep_keys + ["t", "column", "value"])
        out = pd.concat(frames, ignore_index=True)
        self._restore_columns(out)
        return out[["id", "strategy", "replica"] + self.sweep_keys + ["t", "column", "value"]]

    def faults(self):
        """Return the faults that the spec schedules for every run
        (columns t, kind, backend, factor; t in seconds since the end of
        warm-up), empty when there are none."""
        rows = []
        for f in self.spec.get("faults", []) or []:
            rows.append({"t": parse_duration(f.get("at", "0s")), "kind": f.get("kind", ""), "backend": f.get("backend"), "factor": f.get("factor")})
        return pd.DataFrame(rows, columns=["t", "kind", "backend", "factor"])

    def events(self):
        """Return every run's events in long form (id, strategy, replica,
        sweep keys, t, kind, detail, source="run").

        Runs that recorded no events (sets from mailsim versions that did
        not record them) get the spec's scheduled faults instead
        (source="spec"): a fault happens at the same time in every run,
        whatever the strategy. Event kinds are the spec's fault kinds
        ("crash", "hang", ...) and, for health-monitor actions,
        "monitor.<action>".
        """
        faults = self.faults()
        frames = []
        for _, row in self.runs.iterrows():
            r = self.run(row["id"])
            if len(r.events):
                ev = r.events.assign(source="run")
            else:
                detail = [f"backend {b}" if k != "nfs-slow" else "" for k, b in zip(faults["kind"], faults["backend"])]
                ev = pd.DataFrame({"t": faults["t"], "kind": faults["kind"], "detail": detail, "source": "spec"})
            for k in ["id", "strategy", "replica"] + self.sweep_keys:
                ev[k] = row[k]
            frames.append(ev)
        cols = ["id", "strategy", "replica"] + self.sweep_keys + ["t", "kind", "detail", "source"]
        if not frames:
            return pd.DataFrame(columns=cols)
        out = pd.concat(frames, ignore_index=True)[cols]
        self._restore_columns(out)
        return out


def _locate(path, env, default, marker, what, command):
    """path, else $env, else default; it must hold the file marker."""
    if path is None:
        path = os.environ.get(env) or default
    if not os.path.exists(os.path.join(path, marker)):
        raise FileNotFoundError(f"mailsim_results: no {what} at {path!r} (no {marker}); run `{command}` or set {env}")
    return path


def load(path=None, default="../out/default"):
    """Load the result set at path, else at $MAILSIM_RESULTS, else at default."""
    return ResultSet(_locate(path, "MAILSIM_RESULTS", default, "manifest.json", "result set", "mailsim run"))


class Plan:
    """A capacity plan written by ``mailsim plan``: its plan.json as tables.

    * ``answer``: one row per strategy: found, backends, nfs_threads,
      cache_bytes, binding, probes, runs.
    * ``checks``: one row per probe, scenario and objective: strategy,
      backends, nfs_threads, cache_bytes, passed (the probe's verdict),
      overloaded, objective, metric, limit, scenario, n, mean, lower,
      upper, verdict.
    """

    def __init__(self, path):
        self.path = path
        with open(os.path.join(path, "plan.json")) as f:
            raw = json.load(f)
        self.raw = raw
        self.users = raw["users"]
        self.confidence = raw["confidence"]
        self.failure = raw["survive_backend_failure"]
        self.objectives = pd.DataFrame(raw["objectives"] or [], columns=["name", "metric", "unit", "limit"]).rename(
            columns={"name": "objective"}
        )
        limits = {o["name"]: (o["metric"], o["limit"]) for o in raw["objectives"] or []}
        answer, checks = [], []
        for sp in raw["strategies"] or []:
            ch = sp["chosen"]
            answer.append(
                {
                    "strategy": sp["strategy"],
                    "found": sp["found"],
                    "backends": ch["backends"] if sp["found"] else None,
                    "nfs_threads": ch["nfs_threads"] if sp["found"] else None,
                    "cache_bytes": ch["cache_bytes"] if sp["found"] else None,
                    "binding": sp["binding"],
                    "probes": len(sp["probes"] or []),
                    "runs": sp["runs"],
                }
            )
            for p in sp["probes"] or []:
                for c in p["checks"] or []:
                    metric, limit = limits.get(c["objective"], (None, float("nan")))
                    checks.append(
                        {
                            "strategy": sp["strategy"],
                            "backends": p["backends"],
                            "nfs_threads": p["nfs_threads"],
                            "cache_bytes": p["cache_bytes"],
                            "passed": p["pass"],
                            "overloaded": p.get("overloaded", ""),
                            "objective": c["objective"],
                            "metric": metric,
                            "limit": limit,
                            "scenario": c["scenario"],
                            "n": c["n"],
                            "mean": c["mean"],
                            "lower": c["lower"],
                            "upper": c["upper"],
                            "verdict": c["verdict"],
                        }
                    )
        self.answer = pd.DataFrame(answer)
        self.checks = pd.DataFrame(checks)

    def __repr__(self):
        return f"<mailsim capacity plan for {self.users:,} users at {self.path}: {len(self.answer)} strategies>"


def load_plan(path=None, default="../out/isp-1m-plan"):
    """Load the capacity plan at path, else at $MAILSIM_PLAN, else at default."""
    return Plan(_locate(path, "MAILSIM_PLAN", default, "plan.json", "capacity plan", "mailsim plan SPEC"))
