package coldstart

import (
	"math"
	"math/rand/v2"
	"slices"
)

// percentile returns the nearest-rank p-th percentile (0 < p <= 100) of xs.
func percentile(xs []float64, p float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	rank := int(math.Ceil(p / 100 * float64(len(s))))
	return s[max(rank, 1)-1]
}

// median is the middle value, or the mean of the two middle values.
func median(xs []float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// bootstrapMedian returns a 95% percentile-bootstrap interval of the median
// of xs (2,000 resamples, fixed seed so that a run's report is repeatable).
func bootstrapMedian(xs []float64) (lo, hi float64) {
	if len(xs) == 0 {
		return math.NaN(), math.NaN()
	}
	r := rand.New(rand.NewPCG(1, 2))
	const n = 2000
	meds := make([]float64, n)
	re := make([]float64, len(xs))
	for i := range meds {
		for j := range re {
			re[j] = xs[r.IntN(len(xs))]
		}
		meds[i] = median(re)
	}
	slices.Sort(meds)
	return meds[n*25/1000], meds[n*975/1000-1]
}
