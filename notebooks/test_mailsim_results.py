"""Tests of mailsim_results.

Run from this folder with ``python3 -m unittest -v test_mailsim_results``.
Two environment variables point the tests at Go's own output:

* MAILSIM_RESULTS: a result set written by ``mailsim run``; the helper's
  recomputed intervals and histogram percentiles are checked against the
  values mailsim wrote into it.
* MAILSIM_PLAN: a capacity plan written by ``mailsim plan``; the helper's
  tables are checked against its answer and against the runs it used.
* MAILSIM_HIST_BOUNDS: the output of ``go run ./notebooks/testdata/histbounds``;
  the helper's bucket bounds are checked against Go's.

Tests that need one of them are skipped when it is not set; .ci/notebooks.sh
sets them all.
"""

import math
import os
import statistics
import struct
import unittest

import numpy as np

import mailsim_results as mr


def _from_bits(hexbits):
    return struct.unpack(">d", bytes.fromhex(hexbits))[0]


class ParseTest(unittest.TestCase):
    def test_parse_duration(self):
        cases = [
            ("0s", 0.0),
            ("0", 0.0),
            ("10s", 10.0),
            ("1m0s", 60.0),
            ("1h2m3.5s", 3723.5),
            ("250ms", 0.25),
            ("1.5µs", 1.5e-6),
            ("7ns", 7e-9),
            ("-2m", -120.0),
        ]
        for text, want in cases:
            with self.subTest(text=text):
                self.assertAlmostEqual(mr.parse_duration(text), want, delta=1e-15 * max(1.0, abs(want)))

    def test_parse_duration_rejects_garbage(self):
        for text in ["", "5", "1x", "s", "1m-2s"]:
            with self.subTest(text=text), self.assertRaises(ValueError):
                mr.parse_duration(text)

    def test_parse_num(self):
        cases = [("1.5", 1.5), (2, 2.0), ("+Inf", math.inf), ("-Inf", -math.inf), ("-3e-7", -3e-7)]
        for v, want in cases:
            with self.subTest(v=v):
                self.assertEqual(mr.parse_num(v), want)
        for v in ["NaN", "", None]:
            with self.subTest(v=v):
                self.assertTrue(math.isnan(mr.parse_num(v)))


class BucketTest(unittest.TestCase):
    def test_layout(self):
        lower, upper = mr.bucket_bounds()
        self.assertEqual(len(upper), mr.NUM_BUCKETS)
        self.assertEqual(lower[0], 0.0)
        self.assertEqual(upper[0], mr.HIST_MIN)
        self.assertEqual(upper[-1], math.inf)
        self.assertEqual(upper[-2], mr.HIST_MAX)
        np.testing.assert_array_equal(lower[1:], upper[:-1])
        ratios = upper[1:-1] / lower[1:-1]
        np.testing.assert_allclose(ratios, 10 ** (1 / mr.BUCKETS_PER_DECADE), rtol=1e-12)

    def test_index_agrees_with_bounds(self):
        for i in range(1, mr.NUM_BUCKETS - 1):
            lo, hi = mr.lower_bound(i), mr.upper_bound(i)
            with self.subTest(i=i):
                self.assertEqual(mr.bucket_index(lo), i)
                self.assertEqual(mr.bucket_index(math.nextafter(hi, 0)), i)
                self.assertEqual(mr.bucket_index(math.sqrt(lo * hi)), i)
        self.assertEqual(mr.bucket_index(0.0), 0)
        self.assertEqual(mr.bucket_index(math.nan), 0)
        self.assertEqual(mr.bucket_index(-1.0), 0)
        self.assertEqual(mr.bucket_index(mr.HIST_MAX), mr.NUM_BUCKETS - 1)
        self.assertEqual(mr.bucket_index(math.inf), mr.NUM_BUCKETS - 1)

    @unittest.skipUnless(os.environ.get("MAILSIM_HIST_BOUNDS"), "MAILSIM_HIST_BOUNDS not set")
    def test_bounds_match_go(self):
        with open(os.environ["MAILSIM_HIST_BOUNDS"], encoding="utf-8") as f:
            lines = [line.split() for line in f if line.strip()]
        self.assertEqual(len(lines), mr.NUM_BUCKETS)
        exact = 0
        for fields in lines:
            i, lo, hi = int(fields[0]), _from_bits(fields[1]), _from_bits(fields[2])
            with self.subTest(i=i):
                for got, want in ((mr.lower_bound(i), lo), (mr.upper_bound(i), hi)):
                    # Both sides build each bound as one rounded product of
                    # the same two constants: the bits agree exactly.
                    self.assertEqual(got, want, f"bucket {i}: {got!r} vs Go's {want!r}")
                    exact += 1
        self.assertEqual(exact, 2 * mr.NUM_BUCKETS)


class HistogramTest(unittest.TestCase):
    def hist(self, values, name="h"):
        h = mr.Histogram(name, "s")
        for v in values:
            h.counts[mr.bucket_index(v)] += 1
        h.n, h.sum = len(values), float(sum(values))
        h.min, h.max = (min(values), max(values)) if values else (0.0, 0.0)
        return h

    def test_empty(self):
        h = mr.Histogram()
        self.assertTrue(math.isnan(h.quantile(0.5)))
        self.assertTrue(math.isnan(h.mean()))
        self.assertEqual(len(h.cdf()), 0)

    def test_quantile_is_close_to_the_order_statistic(self):
        rng = np.random.default_rng(7)
        values = list(rng.lognormal(mean=-5, sigma=1.0, size=2000))
        h = self.hist(values)
        srt = sorted(values)
        self.assertEqual(h.quantile(0), srt[0])
        self.assertEqual(h.quantile(1), srt[-1])
        for q in [0.01, 0.1, 0.5, 0.9, 0.99, 0.999]:
            with self.subTest(q=q):
                exact = srt[max(math.ceil(q * len(srt)), 1) - 1]
                got = h.quantile(q)
                # Same bucket as the order statistic, so within one bucket width.
                self.assertLess(abs(math.log10(got / exact)), 1 / mr.BUCKETS_PER_DECADE)

    def test_single_bucket_interpolates_between_min_and_max(self):
        h = self.hist([0.0101, 0.0102, 0.0103, 0.0104])
        self.assertEqual(np.count_nonzero(h.counts), 1)
        qs = [h.quantile(q) for q in (0.25, 0.5, 0.75)]
        self.assertTrue(0.0101 <= qs[0] < qs[1] < qs[2] <= 0.0104, qs)

    def test_merge_is_order_independent(self):
        a, b, c = self.hist([1e-3, 2e-3]), self.hist([5e-4]), self.hist([0.3, 0.02, 7e-3])
        ab_c = a.copy().merge(b).merge(c)
        c_ba = c.copy().merge(b).merge(a)
        np.testing.assert_array_equal(ab_c.counts, c_ba.counts)
        self.assertEqual((ab_c.n, ab_c.min, ab_c.max), (c_ba.n, c_ba.min, c_ba.max))
        self.assertEqual((ab_c.n, ab_c.min, ab_c.max), (6, 5e-4, 0.3))
        whole = self.hist([1e-3, 2e-3, 5e-4, 0.3, 0.02, 7e-3])
        np.testing.assert_array_equal(ab_c.counts, whole.counts)
        self.assertEqual(ab_c.quantile(0.5), whole.quantile(0.5))

    def test_cdf(self):
        h = self.hist([1e-3, 1e-3, 2e-3, 0.05])
        cdf = h.cdf()
        self.assertEqual(cdf["value"].iloc[0], 1e-3)
        self.assertEqual(cdf["fraction"].iloc[0], 0.0)
        self.assertEqual(cdf["value"].iloc[-1], 0.05)
        self.assertEqual(cdf["fraction"].iloc[-1], 1.0)
        self.assertTrue((np.diff(cdf["fraction"]) > 0).all())
        self.assertTrue((np.diff(cdf["value"]) > 0).all())
        self.assertEqual(list(cdf["fraction"]), [0.0, 0.5, 0.75, 1.0])

    def test_from_json_checks_counts(self):
        d = {"name": "x", "unit": "s", "n": 3, "sum": 0.01, "min": 0.001, "max": 0.005, "buckets": [[61, 1], [74, 1]]}
        with self.assertRaises(ValueError):
            mr.Histogram.from_json(d)
        d["buckets"] = [[61, 1], [74, 2]]
        self.assertEqual(mr.Histogram.from_json(d).n, 3)
        d["buckets"] = [[61, 1], [mr.NUM_BUCKETS, 2]]
        with self.assertRaises(ValueError):
            mr.Histogram.from_json(d)


class StatsTest(unittest.TestCase):
    def test_t_quantile_closed_forms(self):
        for p in [0.6, 0.9, 0.975, 0.995]:
            with self.subTest(p=p):
                self.assertAlmostEqual(mr.t_quantile(p, 1), math.tan(math.pi * (p - 0.5)), delta=1e-12 * math.tan(math.pi * (p - 0.5)))
                two = (2 * p - 1) / math.sqrt(2 * p * (1 - p))
                self.assertAlmostEqual(mr.t_quantile(p, 2), two, delta=1e-12 * two)
                self.assertEqual(mr.t_quantile(1 - p, 5), -mr.t_quantile(p, 5))

    def test_t_quantile_tends_to_normal(self):
        z = statistics.NormalDist().inv_cdf(0.975)
        self.assertAlmostEqual(mr.t_quantile(0.975, 1e7), z, delta=1e-6)
        prev = math.inf
        for df in [1, 2, 3, 5, 10, 30, 100]:
            t = mr.t_quantile(0.975, df)
            self.assertLess(t, prev)
            self.assertGreater(t, z)
            prev = t

    def test_t_cdf_inverts_quantile(self):
        for df in [1, 2, 4, 9, 29]:
            for p in [0.55, 0.8, 0.975]:
                with self.subTest(df=df, p=p):
                    self.assertAlmostEqual(mr.t_cdf(mr.t_quantile(p, df), df), p, delta=1e-14)

    def test_mean_ci(self):
        n, mean, lo, hi = mr.mean_ci([])
        self.assertEqual(n, 0)
        self.assertTrue(math.isnan(mean) and math.isnan(lo) and math.isnan(hi))
        n, mean, lo, hi = mr.mean_ci([3.0, math.nan])
        self.assertEqual((n, mean), (1, 3.0))
        self.assertTrue(math.isnan(lo) and math.isnan(hi))
        self.assertEqual(mr.mean_ci([2.0, 2.0, 2.0]), (3, 2.0, 2.0, 2.0))
        xs = [1.0, 2.0, 4.0, 7.0]
        n, mean, lo, hi = mr.mean_ci(xs)
        h = mr.t_quantile(0.975, 3) * statistics.stdev(xs) / 2
        self.assertEqual(n, 4)
        self.assertEqual(mean, 3.5)
        self.assertAlmostEqual(lo, 3.5 - h, places=12)
        self.assertAlmostEqual(hi, 3.5 + h, places=12)

    def test_paired_diff(self):
        a, b = [10.0, 12.0, 11.0], [9.0, 11.5, 10.0]
        self.assertEqual(mr.paired_diff(a, b), mr.mean_ci([1.0, 0.5, 1.0]))
        with self.assertRaises(ValueError):
            mr.paired_diff([1.0], [1.0, 2.0])


@unittest.skipUnless(os.environ.get("MAILSIM_RESULTS"), "MAILSIM_RESULTS not set")
class ResultSetTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.rs = mr.load(os.environ["MAILSIM_RESULTS"])

    def test_source(self):
        self.assertEqual(self.rs.source, "model")
        # A testbed set names its source in the manifest; the rest reads alike.
        import json, shutil, tempfile
        with tempfile.TemporaryDirectory() as tmp:
            dst = os.path.join(tmp, "set")
            shutil.copytree(self.rs.path, dst)
            path = os.path.join(dst, "manifest.json")
            with open(path, encoding="utf-8") as f:
                m = json.load(f)
            m["source"] = {"kind": "testbed", "detail": ["topology one-kernel"]}
            with open(path, "w", encoding="utf-8") as f:
                json.dump(m, f)
            rs = mr.ResultSet(dst)
            self.assertEqual(rs.source, "testbed")
            self.assertEqual(list(rs.runs["id"]), list(self.rs.runs["id"]))

    def test_runs_follow_the_plan(self):
        rs = self.rs
        self.assertEqual(list(rs.runs["id"]), rs.finished_ids())
        self.assertGreater(len(rs.runs), 0)
        plan = rs.plan.set_index("id")
        for _, row in rs.runs.iterrows():
            with self.subTest(id=row["id"]):
                self.assertEqual(row["strategy"], plan.loc[row["id"], "strategy"])
                self.assertEqual(row["seed"], plan.loc[row["id"], "seed"])
                run = rs.run(row["id"])
                self.assertEqual((run.strategy, run.replica, run.seed), (row["strategy"], row["replica"], row["seed"]))
                for k in rs.sweep_keys:
                    self.assertEqual(row[k], plan.loc[row["id"], k])

    def test_recomputed_summary_matches_mailsim(self):
        rs = self.rs
        self.assertIsNotNone(rs.summary)
        keys = rs.sweep_keys + ["strategy", "metric"]
        mine = rs.recompute_summary()
        both = rs.summary.merge(mine, on=keys, suffixes=("", "_py"), how="outer", indicator=True)
        self.assertTrue((both["_merge"] == "both").all(), both[both["_merge"] != "both"][keys])
        np.testing.assert_array_equal(both["n"], both["n_py"])
        for c in ["mean", "ci95_lo", "ci95_hi"]:
            with self.subTest(column=c):
                scale = np.maximum(np.abs(both["mean"]), 1e-300)
                np.testing.assert_allclose(both[c] / scale, both[c + "_py"] / scale, rtol=0, atol=1e-9, equal_nan=True)

    def test_percentiles_match_mailsim(self):
        rs = self.rs
        checked = 0
        for run_id in rs.finished_ids():
            run = rs.run(run_id)
            imap = run.imap_latency()
            pairs = [("imap.latency.p50", imap.quantile(0.5)), ("imap.latency.p99", imap.quantile(0.99)), ("imap.latency.mean", imap.mean())]
            if "latency/LMTP" in run.histograms:
                pairs.append(("lmtp.latency.p99", run.histograms["latency/LMTP"].quantile(0.99)))
            for name, h in run.histograms.items():
                pairs.append(("latency." + name.split("/", 1)[1] + ".p99", h.quantile(0.99)))
            for metric, mine in pairs:
                if metric not in run.metrics:
                    continue
                with self.subTest(run=run_id, metric=metric):
                    self.assertAlmostEqual(mine, run.metrics[metric], delta=1e-12 * abs(run.metrics[metric]))
                    checked += 1
        self.assertGreater(checked, 0)

    def test_histograms_are_consistent_with_their_buckets(self):
        rs = self.rs
        for run_id in rs.finished_ids()[:4]:
            for name, h in rs.run(run_id).histograms.items():
                with self.subTest(run=run_id, histogram=name):
                    nz = np.nonzero(h.counts)[0]
                    self.assertEqual(mr.bucket_index(h.min), nz[0])
                    self.assertEqual(mr.bucket_index(h.max), nz[-1])
                    # The mean is sum/n, which rounding can put a hair outside.
                    self.assertLessEqual(h.min, h.mean() * (1 + 1e-12))
                    self.assertLessEqual(h.mean(), h.max * (1 + 1e-12))

    def test_series_and_events_share_a_clock(self):
        rs = self.rs
        faults = rs.faults()
        for run_id in rs.finished_ids():
            run = rs.run(run_id)
            if run.series is None:
                continue
            with self.subTest(run=run_id):
                t = run.series.index.to_numpy()
                self.assertEqual(t[0], 0.0)
                np.testing.assert_allclose(np.diff(t), run.series_interval)
                cols = set(run.series.columns)
                self.assertTrue(set(mr.TIMELINE_COLUMNS) - {"logins_failed", "failed_logins"} <= cols)
                self.assertTrue({"logins_failed", "failed_logins"} & cols)
        # Every run has every scheduled fault at the time the spec gives,
        # whether the run file recorded it or the spec filled it in.
        ev = rs.events()
        for run_id in rs.finished_ids():
            mine = ev[ev["id"] == run_id]
            for f in faults.itertuples():
                with self.subTest(run=run_id, fault=f.kind, at=f.t):
                    hit = mine[(mine["kind"] == f.kind) & (mine["t"] == f.t)]
                    self.assertEqual(len(hit), 1, mine)

    def test_table_has_one_column_per_strategy(self):
        rs = self.rs
        point = rs.point_dicts()[0] or None
        t = rs.table(mr.KEY_METRICS, point=point)
        self.assertEqual(list(t.columns), ["unit"] + rs.strategies)
        self.assertEqual(list(t.index), [m for m in mr.KEY_METRICS if m in rs.metric_names])


@unittest.skipUnless(os.environ.get("MAILSIM_PLAN"), "MAILSIM_PLAN is not set")
class PlanTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.plan = mr.load_plan()

    def test_chosen_probe_passed_every_objective(self):
        p, ch = self.plan, self.plan.checks
        for row in p.answer[p.answer["found"]].itertuples():
            mine = ch[
                (ch["strategy"] == row.strategy)
                & (ch["backends"] == row.backends)
                & (ch["nfs_threads"] == row.nfs_threads)
                & (ch["cache_bytes"] == row.cache_bytes)
            ]
            with self.subTest(strategy=row.strategy):
                self.assertFalse(mine.empty)
                self.assertTrue((mine["verdict"] == "pass").all(), mine)
                # Every objective, in every scenario the plan asks for.
                scen = {"normal", "backend-down"} if p.failure else {"normal"}
                self.assertEqual(set(mine["scenario"]), scen)
                self.assertEqual(set(mine["objective"]), set(p.objectives["objective"]))

    def test_means_are_the_runs_means(self):
        # A check's mean is the mean of its runs' metric in the result set.
        rs = mr.load(self.plan.path)
        runs = rs.runs
        ch = self.plan.checks.dropna(subset=["metric"])
        for c in ch.head(20).itertuples():
            sel = runs[
                (runs["strategy"] == c.strategy)
                & (runs["cluster.backends"] == c.backends)
                & (runs["nfs.threads"] == c.nfs_threads)
                & (runs["cluster.cache_bytes"] == c.cache_bytes)
                & (runs["plan.scenario"] == c.scenario)
            ]
            with self.subTest(check=c):
                self.assertEqual(len(sel), c.n)
                vals = sel[c.metric].fillna(0)
                self.assertAlmostEqual(float(vals.mean()), c.mean, delta=1e-9 * max(1, abs(c.mean)))


if __name__ == "__main__":
    result = unittest.main(exit=False).result
    failed = len(result.failures) + len(result.errors) + len(result.unexpectedSuccesses)
    skipped = len(result.skipped)
    print(f"helper: {result.testsRun - failed - skipped} passed, {failed} failed, {skipped} skipped")
    raise SystemExit(0 if result.wasSuccessful() else 1)
