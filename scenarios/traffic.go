package scenarios

import (
	"fmt"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/orrery-sim/orrery/model"
	"github.com/orrery-sim/orrery/sim"
	"github.com/orrery-sim/orrery/sim/proxy"
)

// Traffic is one synthetic request stream to a Service (spec.traffic[]); the run then
// has kube-proxy on every node, and counts what happens to every request.
type Traffic struct {
	// Service is namespace/name, or name in namespace default.
	Service string `yaml:"service"`
	// Port is the Service port's name or number; empty is its first port.
	Port string `yaml:"port"`
	// Rate is requests per second.
	Rate float64 `yaml:"rate"`
	// Start and Stop bound the stream in virtual time; no stop runs to the end.
	Start *Duration `yaml:"start"`
	Stop  *Duration `yaml:"stop"`
	// Via is ClusterIP (in-cluster clients; the default), NodePort or LoadBalancer.
	Via string `yaml:"via"`
	// Arrivals is uniform (evenly spaced; the default) or poisson.
	Arrivals string `yaml:"arrivals"`
	// Clients is roundRobin (the default) or random: how requests spread over nodes.
	Clients string `yaml:"clients"`
	// Latency is the service time of a served request: base plus an exponential draw of
	// mean mean.
	Latency *struct {
		Base *Duration `yaml:"base"`
		Mean *Duration `yaml:"mean"`
	} `yaml:"latency"`
}

// stream is the traffic entry as the proxy package's stream.
func (t Traffic) stream() proxy.Stream {
	s := proxy.Stream{Service: t.Service, Port: t.Port, Rate: t.Rate, Via: proxy.Via(t.Via), Arrivals: proxy.Arrivals(t.Arrivals), Clients: proxy.Clients(t.Clients)}
	if !strings.Contains(s.Service, "/") {
		s.Service = metav1.NamespaceDefault + "/" + s.Service
	}
	if t.Start != nil {
		s.Start = t.Start.Duration
	}
	if t.Stop != nil {
		s.Stop = t.Stop.Duration
	}
	if l := t.Latency; l != nil {
		// An explicit 0 means none (the proxy package reads 0 as its default).
		if l.Base != nil {
			s.LatencyBase = zeroAsNone(l.Base.Duration)
		}
		if l.Mean != nil {
			s.LatencyMean = zeroAsNone(l.Mean.Duration)
		}
	}
	return s
}

func zeroAsNone(d time.Duration) time.Duration {
	if d == 0 {
		return -1
	}
	return d
}

// validateTraffic checks spec.traffic.
func (s *Scenario) validateTraffic() model.ErrorList {
	var errs model.ErrorList
	for i, t := range s.Spec.Traffic {
		field := fmt.Sprintf("spec.traffic[%d]", i)
		svc := t.Service
		if ns, name, ok := strings.Cut(svc, "/"); svc == "" || ok && (ns == "" || name == "" || strings.Contains(name, "/")) {
			errs = append(errs, s.errorf(field+".service", "Invalid value: %q: want a Service as namespace/name or name", svc))
		}
		if !(t.Rate > 0) {
			errs = append(errs, s.errorf(field+".rate", "Invalid value: %v: requests per second, must be greater than 0", t.Rate))
		}
		if t.Start != nil && t.Stop != nil && t.Stop.Duration <= t.Start.Duration {
			errs = append(errs, s.errorf(field+".stop", "Invalid value: %v: must be after start (%v)", t.Stop.Duration, t.Start.Duration))
		}
		for _, e := range []struct{ name, value string }{
			{"via", t.Via}, {"arrivals", t.Arrivals}, {"clients", t.Clients},
		} {
			if e.value == "" {
				continue
			}
			var allowed []string
			switch e.name {
			case "via":
				allowed = []string{string(proxy.ViaClusterIP), string(proxy.ViaNodePort), string(proxy.ViaLoadBalancer)}
			case "arrivals":
				allowed = []string{string(proxy.ArrivalsUniform), string(proxy.ArrivalsPoisson)}
			case "clients":
				allowed = []string{string(proxy.ClientsRoundRobin), string(proxy.ClientsRandom)}
			}
			ok := false
			for _, a := range allowed {
				ok = ok || a == e.value
			}
			if !ok {
				errs = append(errs, s.errorf(field+"."+e.name, "Unsupported value: %q: supported values: %q", e.value, allowed))
			}
		}
	}
	return errs
}

// trafficConfig is the run's traffic: nil (no kube-proxy at all) without spec.traffic.
func (s *Scenario) trafficConfig() *sim.TrafficConfig {
	if len(s.Spec.Traffic) == 0 {
		return nil
	}
	cfg := &sim.TrafficConfig{}
	for _, t := range s.Spec.Traffic {
		cfg.Streams = append(cfg.Streams, t.stream())
	}
	return cfg
}
