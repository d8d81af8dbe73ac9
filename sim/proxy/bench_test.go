package proxy_test

import (
	"fmt"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/orrery-sim/orrery/sim/proxy"
)

// BenchmarkTraffic: one minute of 10,000 req/s (Poisson, random clients) over 10 nodes
// and 20 pods, one of which stops serving halfway; reports the cost per request.
func BenchmarkTraffic(b *testing.B) {
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		c := cluster(b, 10, proxy.Options{DelayJitter: time.Second},
			proxy.Stream{Service: "default/web", Rate: 10000, Start: 30 * time.Second, Stop: 90 * time.Second, Arrivals: proxy.ArrivalsPoisson, Clients: proxy.ClientsRandom})
		c.Apply(service("web", corev1.ServiceTypeClusterIP))
		for p := 0; p < 20; p++ {
			profile := ""
			if p == 0 {
				profile = "readinessFailsAfter: 60s"
			}
			c.Apply(webPod(fmt.Sprintf("p%d", p), fmt.Sprintf("n%d", p%10+1), profile))
		}
		c.RunFor(30 * time.Second)
		b.StartTimer()
		c.RunFor(time.Minute)
		s := c.Traffic().Stats()[0]
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(uint64(i+1)*s.Requests), "ns/request")
	}
}
