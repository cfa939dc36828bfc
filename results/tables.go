package results

import (
	"bytes"
	"encoding/csv"
	"slices"
	"strconv"

	"github.com/mailsim/mailsim/results/stats"
)

func sortStrings(s []string) { slices.Sort(s) }

// formatFloat writes v in its shortest exact form ("NaN", "+Inf" for the
// special values).
func formatFloat(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }

// buildTables rebuilds runs.csv and summary.csv in dir from its run files.
func buildTables(dir string) error {
	s, err := read(dir)
	if err != nil {
		return err
	}
	runs, err := s.RunsCSV()
	if err != nil {
		return err
	}
	if err := writeAtomic(dir, runsCSVFile, runs); err != nil {
		return err
	}
	sum, err := s.SummaryCSV()
	if err != nil {
		return err
	}
	return writeAtomic(dir, summaryCSVFile, sum)
}

// RunsCSV returns the contents of runs.csv: a header, then one row per
// finished run in planned order. Columns: id, strategy, replica, seed, one
// column per sweep key (in order of first appearance in the plan), then
// one column per metric (in the order of [Set.Metrics]). A metric a run
// did not report is an empty cell.
func (s *Set) RunsCSV() ([]byte, error) {
	keys := s.SweepKeys()
	metrics := s.Metrics()
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	head := []string{"id", "strategy", "replica", "seed"}
	head = append(head, keys...)
	for _, m := range metrics {
		head = append(head, m.Name)
	}
	if err := w.Write(head); err != nil {
		return nil, err
	}
	for _, r := range s.Runs {
		row := []string{r.ID, r.Strategy, strconv.Itoa(r.Replica), strconv.FormatUint(r.Seed, 10)}
		for _, k := range keys {
			v, _ := r.Point.Get(k)
			row = append(row, v)
		}
		for _, m := range metrics {
			if v, ok := r.Metric(m.Name); ok {
				row = append(row, formatFloat(v))
			} else {
				row = append(row, "")
			}
		}
		if err := w.Write(row); err != nil {
			return nil, err
		}
	}
	w.Flush()
	return buf.Bytes(), w.Error()
}

// SummaryCSV returns the contents of summary.csv: per sweep point,
// strategy and metric, the number of replicas with a value, their mean and
// its 95% Student-t confidence interval. Rows follow the plan's order of
// points and strategies and [Set.Metrics] order of metrics.
func (s *Set) SummaryCSV() ([]byte, error) {
	keys := s.SweepKeys()
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	head := append(slices.Clone(keys), "strategy", "metric", "unit", "n", "mean", "ci95_lo", "ci95_hi")
	if err := w.Write(head); err != nil {
		return nil, err
	}
	for _, pt := range s.Points() {
		for _, st := range s.Strategies() {
			runs := s.RunsAt(pt, st)
			if len(runs) == 0 {
				continue
			}
			for _, m := range s.Metrics() {
				xs := MetricValues(runs, m.Name)
				if len(xs) == 0 {
					continue
				}
				iv := stats.MeanCI(xs, stats.DefaultLevel)
				row := make([]string, 0, len(head))
				for _, k := range keys {
					v, _ := pt.Get(k)
					row = append(row, v)
				}
				row = append(row, st, m.Name, m.Unit, strconv.Itoa(iv.N), formatFloat(iv.Mean), formatFloat(iv.Lo), formatFloat(iv.Hi))
				if err := w.Write(row); err != nil {
					return nil, err
				}
			}
		}
	}
	w.Flush()
	return buf.Bytes(), w.Error()
}

// MetricValues returns the value of metric name in each run that reports
// it, in the runs' order.
func MetricValues(runs []*Run, name string) []float64 {
	var xs []float64
	for _, r := range runs {
		if v, ok := r.Metric(name); ok {
			xs = append(xs, v)
		}
	}
	return xs
}

// WriteTables rebuilds runs.csv and summary.csv of the set in dir, for
// tools that edited its run files by other means. [Writer.Finalize] and
// [Merge] call it themselves.
func WriteTables(dir string) error { return buildTables(dir) }
