package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"image/color"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
)

// replot draws the plots of a results.json again (after a change of the
// plots' code, without running the benchmark again).
//
//	imbench plot [--out DIR] RESULTS.json
func replot(args []string) error {
	fs := flag.NewFlagSet("imbench plot", flag.ContinueOnError)
	out := fs.String("out", "", "output `DIR` (default: the directory of RESULTS.json)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return errors.New("plot: want one results.json")
	}
	b, err := os.ReadFile(fs.Arg(0))
	if err != nil {
		return err
	}
	var r Results
	if err := json.Unmarshal(b, &r); err != nil {
		return fmt.Errorf("%s: %w", fs.Arg(0), err)
	}
	dir := *out
	if dir == "" {
		dir = filepath.Dir(fs.Arg(0))
	}
	var errs []error
	if len(r.CDFs) > 0 {
		errs = append(errs, plotLatencyCDF(r.CDFs, filepath.Join(dir, "latency_cdf.png")))
	}
	if len(r.Memory) > 0 {
		errs = append(errs, plotMemory(r.Memory, 10, filepath.Join(dir, "memory_per_conn.png")))
	}
	return errors.Join(errs...)
}

// isBaseline tells the baselines' curves (dashed) from the server's.
func isBaseline(name string) bool {
	return strings.Contains(name, "bare") || strings.Contains(name, "hub") || strings.Contains(name, "gorilla")
}

// plotLatencyCDF draws the latency distributions on a log scale: the CDF
// (left) and its tail (right, 1 − F on a log scale, so that p99 and p999
// are readable).
func plotLatencyCDF(series []Series, path string) error {
	body := plot.New()
	body.Title.Text = "Latency CDF"
	body.Y.Label.Text = "fraction of samples ≤ latency"
	body.Y.Min, body.Y.Max = 0, 1
	tail := plot.New()
	tail.Title.Text = "Tail (imstatusd solid, bare gorilla baselines dashed)"
	tail.Y.Label.Text = "percentile"
	tail.Y.Scale = plot.LogScale{}
	tail.Y.Tick.Marker = tailTicks{}
	tail.Legend.Top = false
	tail.Legend.Left = true
	tail.Legend.XOffs = vg.Millimeter * 3
	tail.Legend.YOffs = vg.Millimeter * 3
	tail.Legend.TextStyle.Font.Size = vg.Points(9)
	minTail := 1.0
	for _, p := range []*plot.Plot{body, tail} {
		p.X.Label.Text = "latency (µs, log scale)"
		p.X.Scale = plot.LogScale{}
		p.X.Tick.Marker = logTicks{}
		p.Add(plotter.NewGrid())
	}
	groups := map[string]int{}
	for _, s := range series {
		var cdf, ccdf plotter.XYs
		for _, pt := range s.Points {
			if pt.X <= 0 {
				continue
			}
			cdf = append(cdf, plotter.XY{X: pt.X, Y: pt.F})
			if q := 1 - pt.F; q > 1e-9 {
				ccdf = append(ccdf, plotter.XY{X: pt.X, Y: q})
				minTail = min(minTail, q)
			}
		}
		if len(cdf) < 2 || len(ccdf) < 2 {
			continue
		}
		for _, pl := range []struct {
			p   *plot.Plot
			xys plotter.XYs
		}{{body, cdf}, {tail, ccdf}} {
			l, err := plotter.NewLine(pl.xys)
			if err != nil {
				return err
			}
			l.LineStyle.Color = seriesColor(groups, s.Name)
			l.LineStyle.Width = vg.Points(1.6)
			if isBaseline(s.Name) {
				l.LineStyle.Dashes = []vg.Length{vg.Points(5), vg.Points(3)}
			}
			pl.p.Add(l)
			if pl.p == tail {
				tail.Legend.Add(s.Name, l)
			}
		}
	}
	tail.Y.Max = 1
	tail.Y.Min = math.Pow(10, math.Floor(math.Log10(minTail)))
	img := vgimg.New(16*vg.Inch, 6.5*vg.Inch)
	dc := draw.New(img)
	tiles := draw.Tiles{Rows: 1, Cols: 2, PadX: vg.Millimeter * 6, PadTop: vg.Millimeter * 2,
		PadBottom: vg.Millimeter * 2, PadLeft: vg.Millimeter * 2, PadRight: vg.Millimeter * 2}
	plots := [][]*plot.Plot{{body, tail}}
	canvases := plot.Align(plots, tiles, dc)
	body.Draw(canvases[0][0])
	tail.Draw(canvases[0][1])
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := (vgimg.PngCanvas{Canvas: img}).WriteTo(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// palette is distinct colours for the curves; a server's curve and its
// baseline's share one (solid and dashed).
var palette = []color.Color{
	color.RGBA{R: 0x1f, G: 0x77, B: 0xb4, A: 255}, // blue
	color.RGBA{R: 0x2c, G: 0xa0, B: 0x2c, A: 255}, // green
	color.RGBA{R: 0xff, G: 0x7f, B: 0x0e, A: 255}, // orange
	color.RGBA{R: 0x94, G: 0x67, B: 0xbd, A: 255}, // purple
	color.RGBA{R: 0xd6, G: 0x27, B: 0x28, A: 255}, // red
	color.RGBA{R: 0x8c, G: 0x56, B: 0x4b, A: 255}, // brown
	color.RGBA{R: 0xe3, G: 0x77, B: 0xc2, A: 255}, // pink
	color.RGBA{R: 0x17, G: 0xbe, B: 0xcf, A: 255}, // cyan
}

// seriesColor gives the echo baseline black and pairs "X: imstatusd …"
// with "X: bare hub …".
func seriesColor(groups map[string]int, name string) color.Color {
	if strings.Contains(name, "echo") {
		return color.Black
	}
	key := strings.NewReplacer("imstatusd ", "", "bare hub ", "").Replace(name)
	i, ok := groups[key]
	if !ok {
		i = len(groups)
		groups[key] = i
	}
	return palette[i%len(palette)]
}

// niceStep rounds v up to 1, 2 or 5 times a power of ten.
func niceStep(v float64) float64 {
	if v <= 0 {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 5, 10} {
		if m*p >= v {
			return m * p
		}
	}
	return 10 * p
}

// stepTicks labels every multiple of its step.
type stepTicks float64

func (s stepTicks) Ticks(lo, hi float64) []plot.Tick {
	var ticks []plot.Tick
	for v := math.Ceil(lo/float64(s)) * float64(s); v <= hi; v += float64(s) {
		ticks = append(ticks, plot.Tick{Value: v, Label: strconv.FormatFloat(v, 'f', -1, 64)})
	}
	return ticks
}

// logTicks labels 1, 2 and 5 of every decade.
type logTicks struct{}

func (logTicks) Ticks(lo, hi float64) []plot.Tick {
	var ticks []plot.Tick
	for d := math.Floor(math.Log10(lo)); d <= math.Ceil(math.Log10(hi)); d++ {
		base := math.Pow(10, d)
		for m := 1; m <= 9; m++ {
			v := float64(m) * base
			if v < lo || v > hi {
				continue
			}
			t := plot.Tick{Value: v}
			if m == 1 || m == 2 || m == 5 {
				t.Label = strconv.FormatFloat(v, 'f', -1, 64)
			}
			ticks = append(ticks, t)
		}
	}
	return ticks
}

// tailTicks labels 1 − F as percentiles: 0.1 is p90, 0.01 p99 …
type tailTicks struct{}

func (tailTicks) Ticks(lo, hi float64) []plot.Tick {
	var ticks []plot.Tick
	for d := math.Floor(math.Log10(lo)); d <= 0; d++ {
		v := math.Pow(10, d)
		if v < lo*0.999 || v > hi*1.001 {
			continue
		}
		prec := max(0, int(-d)-2)
		label := "p0"
		if d < 0 {
			label = "p" + strconv.FormatFloat(100-100*v, 'f', prec, 64)
		}
		ticks = append(ticks, plot.Tick{Value: v, Label: label})
		if v5 := 5 * v; d < 0 && v5 <= hi {
			ticks = append(ticks, plot.Tick{Value: v5, Label: "p" + strconv.FormatFloat(100-100*v5, 'f', prec, 64)})
		}
	}
	return ticks
}

// plotMemory draws the RSS per connection against the number of connections.
func plotMemory(points []MemPoint, goalKiB float64, path string) error {
	p := plot.New()
	p.Title.Text = "Server RSS growth per idle connection"
	p.X.Label.Text = "connections"
	p.Y.Label.Text = "KiB per connection"
	p.Y.Min = 0
	p.Legend.Top = false
	p.Legend.Left = false
	p.Legend.XOffs = -vg.Millimeter * 3
	p.Legend.YOffs = vg.Millimeter * 3
	p.Add(plotter.NewGrid())
	byServer := map[string]plotter.XYs{}
	var servers []string
	maxX, maxY := 0.0, goalKiB
	for _, m := range points {
		if _, ok := byServer[m.Server]; !ok {
			servers = append(servers, m.Server)
		}
		byServer[m.Server] = append(byServer[m.Server], plotter.XY{X: float64(m.Conns), Y: m.PerConnKiB})
		maxX, maxY = max(maxX, float64(m.Conns)), max(maxY, m.PerConnKiB)
	}
	for i, s := range servers {
		xys := byServer[s]
		slices.SortFunc(xys, func(a, b plotter.XY) int { return int(a.X - b.X) })
		l, pts, err := plotter.NewLinePoints(xys)
		if err != nil {
			return err
		}
		l.LineStyle.Color = plotutil.Color(i)
		l.LineStyle.Width = vg.Points(1.6)
		pts.Color = plotutil.Color(i)
		pts.Shape = plotutil.Shape(i)
		if isBaseline(s) {
			l.LineStyle.Dashes = []vg.Length{vg.Points(5), vg.Points(3)}
		}
		p.Add(l, pts)
		p.Legend.Add(s, l, pts)
	}
	if maxX > 0 {
		g, err := plotter.NewLine(plotter.XYs{{X: 0, Y: goalKiB}, {X: maxX, Y: goalKiB}})
		if err != nil {
			return err
		}
		g.LineStyle.Color = color.Gray{Y: 120}
		g.LineStyle.Dashes = []vg.Length{vg.Points(2), vg.Points(2)}
		p.Add(g)
		p.Legend.Add(fmt.Sprintf("goal: %g KiB", goalKiB), g)
	}
	p.X.Min = 0
	p.X.Max = maxX * 1.05
	p.Y.Max = maxY * 1.15
	p.X.Tick.Marker = stepTicks(niceStep(p.X.Max / 5))
	p.Y.Tick.Marker = stepTicks(niceStep(p.Y.Max / 6))
	return p.Save(8*vg.Inch, 5*vg.Inch, path)
}
