// Command pacerstreams prints the pseudo-random and sinusoidal input streams
// that the runtime's TestGcPacer scenarios (src/runtime/mgcpacer_test.go)
// draw from, so a port of those scenarios can replay them bit for bit.
//
//	random(amp, seed): ((r.Float64()-0.5)*2)*amp, r = math/rand.New(math/rand.NewSource(seed))
//	oscillate(amp, phase, period): math.Sin(2*Pi*k/period + phase) * amp, k = 0..period-1
//
// Output: JSON {"float64": {seed: [first N r.Float64() values]},
// "sin": {period: [math.Sin(2*Pi*k/period) for k < period]}}. Values are
// printed with the shortest decimal form that round-trips to the same float64.
package main

import (
	"encoding/json"
	"math"
	"math/rand"
	"os"
	"strconv"
)

func main() {
	const n = 128
	seeds := []int64{0x53, 0x1, 0xf, 0xe, 0x0, 0x152}
	out := map[string]map[string][]float64{"float64": {}, "sin": {}}
	for _, s := range seeds {
		r := rand.New(rand.NewSource(s))
		v := make([]float64, n)
		for i := range v {
			v[i] = r.Float64()
		}
		out["float64"][strconv.FormatInt(s, 10)] = v
	}
	for _, period := range []int{8} {
		v := make([]float64, period)
		for k := range v {
			v[k] = math.Sin(float64(k) / float64(period) * 2 * math.Pi)
		}
		out["sin"][strconv.Itoa(period)] = v
	}
	json.NewEncoder(os.Stdout).Encode(out)
}
