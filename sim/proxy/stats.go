package proxy

import (
	"math/bits"
	"time"
)

// Stats are one request stream's outcome so far.
type Stats struct {
	// Stream is the stream's description, defaults applied.
	Stream Stream
	// Requests counts requests sent; Failed those that failed.
	Requests, Failed uint64
	// Samples are the requests and failures per SampleInterval, by arrival time, from the
	// start of the run (empty intervals before the stream starts included).
	Samples []Sample
	// SampleInterval is the width of each sample.
	SampleInterval time.Duration
	// FirstFailure and LastFailure are the arrival times, from the start of the run, of
	// the first and the last failed request (0 if none failed).
	FirstFailure, LastFailure time.Duration

	causes  map[Cause]uint64
	latency histogram
}

// Sample is the traffic of one interval.
type Sample struct {
	// At is the start of the interval, from the start of the run.
	At time.Duration
	// Requests and Failed count the requests that arrived in it.
	Requests, Failed uint64
}

// Availability returns the share of the interval's requests that succeeded (1 if none
// arrived).
func (s Sample) Availability() float64 {
	if s.Requests == 0 {
		return 1
	}
	return float64(s.Requests-s.Failed) / float64(s.Requests)
}

// Availability returns the share of requests that succeeded (1 if none were sent).
func (s *Stats) Availability() float64 {
	return Sample{Requests: s.Requests, Failed: s.Failed}.Availability()
}

// FailedBy returns how many requests failed for cause c.
func (s *Stats) FailedBy(c Cause) uint64 { return s.causes[c] }

// Latency returns the q-quantile (0 < q ≤ 1) of the successful requests' latencies, to
// within 0.2% (0 if none succeeded).
func (s *Stats) Latency(q float64) time.Duration { return s.latency.quantile(q) }

func (s *Stats) record(at time.Duration, cause Cause, latency time.Duration) {
	s.Requests++
	i := int(at / s.SampleInterval)
	for len(s.Samples) <= i {
		s.Samples = append(s.Samples, Sample{At: time.Duration(len(s.Samples)) * s.SampleInterval})
	}
	s.Samples[i].Requests++
	if cause != "" {
		s.Failed++
		s.Samples[i].Failed++
		if s.causes == nil {
			s.causes = map[Cause]uint64{}
		}
		s.causes[cause]++
		if s.Failed == 1 {
			s.FirstFailure = at
		}
		s.LastFailure = at
		return
	}
	s.latency.add(latency)
}

// histogram counts latencies in microseconds: exactly below 1024 µs, above that in
// buckets 1/512 of their value wide (as HDR histograms do with three significant digits).
type histogram struct {
	counts []uint64
	n      uint64
}

const histLinear = 1024

func bucketOf(us uint64) int {
	if us < histLinear {
		return int(us)
	}
	shift := bits.Len64(us) - 10
	mantissa := us >> shift
	return histLinear + (shift-1)*512 + int(mantissa-512)
}

// bucketValue is the middle of bucket i, in microseconds.
func bucketValue(i int) uint64 {
	if i < histLinear {
		return uint64(i)
	}
	shift := (i-histLinear)/512 + 1
	mantissa := uint64((i-histLinear)%512 + 512)
	return mantissa<<shift + (uint64(1)<<shift)/2
}

func (h *histogram) add(d time.Duration) {
	us := uint64(max(d, 0) / time.Microsecond)
	i := bucketOf(us)
	if i >= len(h.counts) {
		h.counts = append(h.counts, make([]uint64, i+1-len(h.counts))...)
	}
	h.counts[i]++
	h.n++
}

func (h *histogram) quantile(q float64) time.Duration {
	if h.n == 0 {
		return 0
	}
	rank := uint64(q*float64(h.n) + 0.999999999)
	rank = min(max(rank, 1), h.n)
	var seen uint64
	for i, c := range h.counts {
		seen += c
		if seen >= rank {
			return time.Duration(bucketValue(i)) * time.Microsecond
		}
	}
	return time.Duration(bucketValue(len(h.counts)-1)) * time.Microsecond
}
