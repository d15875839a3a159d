// Types of atomic-dict/metrics, checked by tsc --strict (npm run test:types):
// what must compile does, and each @ts-expect-error line must fail.
import * as client from 'prom-client'
import { MetricsStore, Counter, Gauge, Histogram, type LabelValues } from 'atomic-dict/metrics'

const store = new MetricsStore({ series: 10_000 })
const requests = new store.Counter({ name: 'http_requests_total', help: 'Requests', labelNames: ['route', 'code'] })
const inFlight = new store.Gauge({ name: 'http_requests_in_flight', help: 'In flight', aggregate: 'sum' })
const latency = new store.Histogram({ name: 'http_request_seconds', help: 'Latency', labelNames: ['route'], buckets: [0.01, 0.1, 1] })

// prom-client's registries take them, as its own metrics.
client.register.registerMetric(requests)
client.register.registerMetric(inFlight)
client.register.registerMetric(latency)
new store.Counter({ name: 'c2', help: 'h', registers: [client.register] })

requests.inc({ route: '/api', code: 200 })
requests.inc({ route: '/api' }, 2)
requests.labels('/api', 200).inc()
requests.labels({ code: 500 }).inc(3)
inFlight.inc()
inFlight.dec(2)
inFlight.set(7)
const end = latency.startTimer({ route: '/api' })
const seconds: number = end()
latency.observe({ route: '/x' }, 0.2)
latency.labels('/y').observe(1)
latency.zero({ route: '/z' })

const c: Counter<'route' | 'code'> = requests
const g: Gauge = inFlight
const h: Histogram<'route'> = latency
const labels: LabelValues<'route'> = { route: '/api' }
latency.observe(labels, 1)

async function report(): Promise<string> {
  const data = await requests.get()
  const first: number | undefined = data.values[0]?.value
  console.log(first, seconds, c, g, h)
  return client.register.metrics()
}
void report()

// @ts-expect-error 'rout' is not one of the counter's label names
requests.inc({ rout: '/api' })
// @ts-expect-error a counter's increment is a number
requests.inc({ route: '/api' }, 1n)
// @ts-expect-error histograms need a value
latency.observe({ route: '/api' })
// @ts-expect-error no such aggregate
new store.Gauge({ name: 'g2', help: 'h', aggregate: 'avg' })
// @ts-expect-error exemplars are not supported
requests.inc({ labels: { route: '/api' }, value: 1, exemplarLabels: {} })
// @ts-expect-error the store needs its size
new MetricsStore({})
