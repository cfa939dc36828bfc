package results

import (
	"encoding/json"
	"io"
	"math"

	"github.com/mailsim/mailsim/results/stats"
)

// jsonNum is a float that encodes NaN and ±Inf as null, which JSON has
// no number for.
type jsonNum float64

func (f jsonNum) MarshalJSON() ([]byte, error) {
	v := float64(f)
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return []byte("null"), nil
	}
	return json.Marshal(v)
}

type jsonInterval struct {
	N    int     `json:"n"`
	Mean jsonNum `json:"mean"`
	Lo   jsonNum `json:"lo"`
	Hi   jsonNum `json:"hi"`
}

func toJSONInterval(iv stats.Interval) jsonInterval {
	return jsonInterval{N: iv.N, Mean: jsonNum(iv.Mean), Lo: jsonNum(iv.Lo), Hi: jsonNum(iv.Hi)}
}

type jsonCell struct {
	Strategy string `json:"strategy"`
	jsonInterval
	// Diff is the difference from the baseline, absent for the baseline.
	Diff *jsonDiff `json:"diff,omitempty"`
}

type jsonDiff struct {
	jsonInterval
	RelMean     jsonNum `json:"rel_mean"`
	Paired      bool    `json:"paired"`
	Significant bool    `json:"significant"`
}

type jsonMetric struct {
	Name   string     `json:"name"`
	Unit   string     `json:"unit"`
	Group  Group      `json:"group"`
	Better Better     `json:"better"`
	Doc    string     `json:"doc"`
	Cells  []jsonCell `json:"strategies"`
}

type jsonPoint struct {
	Point    map[string]string `json:"point"`
	Replicas int               `json:"replicas"`
	Metrics  []jsonMetric      `json:"metrics"`
}

type jsonStatement struct {
	Metric     string   `json:"metric"`
	Kind       Kind     `json:"kind"`
	Strategies []string `json:"strategies,omitempty"`
	Text       string   `json:"text"`
}

type jsonComparison struct {
	Experiment string          `json:"experiment"`
	Baseline   string          `json:"baseline"`
	Level      float64         `json:"level"`
	Strategies []string        `json:"strategies"`
	Answer     []jsonStatement `json:"answer"`
	Points     []jsonPoint     `json:"points"`
}

// WriteJSON writes the comparison as one JSON object for scripts: the
// answer's statements, then per sweep point and metric each strategy's
// mean with its interval and its difference from the baseline (absolute,
// with interval, and relative to the baseline's mean). Values are in the
// metrics' stored units (seconds, fractions); a value that does not exist
// is null.
func (c *Comparison) WriteJSON(w io.Writer) error {
	out := jsonComparison{Experiment: c.Experiment, Baseline: c.Baseline, Level: c.Level, Strategies: c.Strategies,
		Answer: []jsonStatement{}, Points: []jsonPoint{}}
	for _, st := range c.Answer(0) {
		out.Answer = append(out.Answer, jsonStatement{Metric: st.Metric.Name, Kind: st.Kind, Strategies: st.Strategies, Text: st.Text})
	}
	for _, pc := range c.Points {
		jp := jsonPoint{Point: map[string]string{}, Replicas: pc.Replicas, Metrics: []jsonMetric{}}
		for _, kv := range pc.Point {
			jp.Point[kv.Key] = kv.Value
		}
		for _, row := range pc.Rows {
			jm := jsonMetric{Name: row.Metric.Name, Unit: row.Metric.Unit, Group: GroupOf(row.Metric.Name), Better: row.Metric.Better, Doc: row.Metric.Doc}
			for i, st := range c.Strategies {
				cell := jsonCell{Strategy: st, jsonInterval: toJSONInterval(row.Cells[i])}
				if st != c.Baseline {
					d := row.Diffs[i]
					cell.Diff = &jsonDiff{jsonInterval: toJSONInterval(d.Abs), RelMean: jsonNum(d.Rel.Mean), Paired: d.Paired, Significant: d.Significant()}
				}
				jm.Cells = append(jm.Cells, cell)
			}
			jp.Metrics = append(jp.Metrics, jm)
		}
		out.Points = append(out.Points, jp)
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}
