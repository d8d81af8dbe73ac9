package store

import (
	"fmt"
	"testing"
)

// benchKeys returns n pod-like keys spread over 10 namespaces.
func benchKeys(n int) []string {
	keys := make([]string, n)
	for i := range keys {
		keys[i] = fmt.Sprintf("/registry/pods/ns-%d/pod-%07d", i%10, i)
	}
	return keys
}

func BenchmarkCreate(b *testing.B) {
	keys := benchKeys(b.N)
	s := New()
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		if _, err := s.Create(keys[i], i); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkCreateWithWatchers(b *testing.B) {
	for _, n := range []int{1, 10, 100} {
		for _, matching := range []bool{false, true} {
			name := fmt.Sprintf("watchers=%d/disjoint", n)
			if matching {
				name = fmt.Sprintf("watchers=%d/matching", n)
			}
			b.Run(name, func(b *testing.B) {
				keys := benchKeys(b.N)
				s := New()
				delivered := 0
				for i := range n {
					prefix := "/registry/pods/"
					if !matching {
						prefix = fmt.Sprintf("/registry/kind-%03d/", i)
					}
					if _, err := s.Watch(prefix, 0, func(Event) { delivered++ }); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportAllocs()
				b.ResetTimer()
				for i := range b.N {
					if _, err := s.Create(keys[i], i); err != nil {
						b.Fatal(err)
					}
				}
				b.StopTimer()
				want := 0
				if matching {
					want = n * b.N
				}
				if delivered != want {
					b.Fatalf("delivered %d events, want %d", delivered, want)
				}
			})
		}
	}
}

func BenchmarkUpdate(b *testing.B) {
	const n = 10000
	keys := benchKeys(n)
	s := New()
	for _, k := range keys {
		if _, err := s.Create(k, 0); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		k := keys[i%n]
		kv, _ := s.Get(k)
		if _, err := s.Update(k, i, kv.ModRevision); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkRange1000(b *testing.B) {
	// 10 namespaces x 1000 pods; range one namespace, with nodes around it.
	s := New()
	for _, k := range benchKeys(10000) {
		if _, err := s.Create(k, nil); err != nil {
			b.Fatal(err)
		}
	}
	for i := range 1000 {
		if _, err := s.Create(fmt.Sprintf("/registry/nodes/node-%04d", i), nil); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		n := 0
		s.Range("/registry/pods/ns-3/", func(KeyValue) bool { n++; return true })
		if n != 1000 {
			b.Fatalf("ranged %d keys, want 1000", n)
		}
	}
}
