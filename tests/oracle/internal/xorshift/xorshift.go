// Package xorshift is the random-number generator the goheap workloads share
// with their Python models (goheap.xorshift.XorShift64): Marsaglia's
// xorshift64 with shifts 13, 7, 17 on an unsigned 64-bit state.
//
// Everything is integer arithmetic on uint64, so Go and Python draw exactly
// the same numbers from the same seed.
package xorshift

// DefaultSeed is the seed every workload uses unless told otherwise.
const DefaultSeed uint64 = 88172645463325252

// State is a generator; its zero value is not usable (xorshift needs a non-zero state).
type State struct{ x uint64 }

// New returns a generator started at seed (which must not be 0).
func New(seed uint64) State {
	if seed == 0 {
		panic("xorshift: seed must not be 0")
	}
	return State{x: seed}
}

// Next advances the state and returns it.
func (s *State) Next() uint64 {
	x := s.x
	x ^= x << 13
	x ^= x >> 7
	x ^= x << 17
	s.x = x
	return x
}

// NextSize is churn's size distribution: 70% 16..64 bytes, 25% 65..2048
// bytes, 5% 4 KiB..64 KiB.
func (s *State) NextSize() int {
	u := s.Next() % 100
	switch {
	case u < 70:
		return 16 + int(s.Next()%49)
	case u < 95:
		return 65 + int(s.Next()%1984)
	default:
		return 4096 + int(s.Next()%61441)
	}
}

// NextLarge is large's size distribution: a band [40 KiB<<k, 2x] for k
// uniform in 0..6, capped at 4 MiB, and a size uniform in the band.
func (s *State) NextLarge() int {
	k := s.Next() % 7
	lo := uint64(40960) << k
	hi := min(2*lo, 4194304)
	return int(lo + s.Next()%(hi-lo+1))
}
