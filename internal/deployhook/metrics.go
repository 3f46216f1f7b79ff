package deployhook

import (
	"net/http"
	"strconv"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// metrics are the hook's Prometheus metrics, in a registry of its own.
type metrics struct {
	reg      *prometheus.Registry
	requests *prometheus.CounterVec
	jobs     *prometheus.GaugeVec
	duration prometheus.Histogram
	// takenOver counts the jobs this replica took over from another whose
	// lease had expired, by the state they were in.
	takenOver *prometheus.CounterVec
	// refusedConns counts connections closed at once, past a cap.
	refusedConns prometheus.Counter
}

func newMetrics() *metrics {
	m := &metrics{
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "deploy_hook_requests_total", Help: "HTTP requests by route and status code.",
		}, []string{"route", "code"}),
		jobs: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "deploy_hook_jobs", Help: "Jobs by state.",
		}, []string{"state"}),
		duration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "deploy_hook_deploy_duration_seconds", Help: "How long a deploy job ran.",
			Buckets: []float64{5, 15, 30, 60, 120, 300, 600, 1200},
		}),
		takenOver: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "deploy_hook_jobs_taken_over_total", Help: "Jobs taken over from a replica whose lease expired, by the state they were in.",
		}, []string{"state"}),
		refusedConns: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "deploy_hook_connections_refused_total", Help: "Connections closed as soon as accepted: past -max-connections, or -max-connections-per-peer from one address.",
		}),
	}
	m.reg.MustRegister(m.requests, m.jobs, m.duration, m.takenOver, m.refusedConns, collectors.NewGoCollector())
	m.takenOver.WithLabelValues(string(StateQueued)).Add(0)
	m.takenOver.WithLabelValues(string(StateRunning)).Add(0)
	for _, s := range []State{StateQueued, StateRunning, StateSucceeded, StateFailed, StateRolledBack, StateSuperseded, StateInterrupted, StateCancelled, StateExpired} {
		m.jobs.WithLabelValues(string(s)).Set(0)
	}
	return m
}

func (m *metrics) jobState(from, to State) {
	if from != "" {
		m.jobs.WithLabelValues(string(from)).Dec()
	}
	m.jobs.WithLabelValues(string(to)).Inc()
}

func (m *metrics) deployDuration(d time.Duration) { m.duration.Observe(d.Seconds()) }

func (m *metrics) handler() http.Handler { return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{}) }

// count counts a request by route pattern and status.
func (m *metrics) count(r *http.Request, code int) {
	route := "unmatched"
	if rc := chi.RouteContext(r.Context()); rc != nil && rc.RoutePattern() != "" {
		route = rc.RoutePattern()
	}
	m.requests.WithLabelValues(route, strconv.Itoa(code)).Inc()
}

type statusRecorder struct {
	http.ResponseWriter
	code int
	// signed: the request proved who sent it (it reached authenticated).
	signed bool
}

func (s *statusRecorder) WriteHeader(code int) {
	s.code = code
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }
