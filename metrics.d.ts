// Type definitions for atomic-dict/metrics: prom-client's Counter, Gauge and
// Histogram kept in shared memory (docs/METRICS.md).
/// <reference types="node" />
import type { ShareDescriptor, AtomicDict } from './index'

/**
 * Label values by label name, as prom-client takes them. Values are printed
 * as strings (`200` and `'200'` are the same series).
 */
export type LabelValues<T extends string> = Partial<Record<T, string | number>>

/**
 * Mirrors prom-client's declaration of a metric's `type`, so that prom-client
 * registries accept these metrics (`registry.registerMetric(counter)`). At
 * run time the field holds the string `'counter'`, `'gauge'` or
 * `'histogram'`, as prom-client's own metrics do. Not exported: a type only.
 */
declare enum MetricType {
  Counter,
  Gauge,
  Histogram,
  Summary,
}

/** prom-client's aggregators (kept for its AggregatorRegistry; not used by the store). */
export type Aggregator = 'omit' | 'sum' | 'first' | 'min' | 'max' | 'average'

/** One value of a metric as `get()` gives it. */
export interface MetricValue<T extends string> {
  value: number
  labels: LabelValues<T>
}

/** A histogram's values also say which line (`_bucket`, `_sum`, `_count`) they are. */
export interface MetricValueWithName<T extends string> extends MetricValue<T> {
  metricName?: string
}

/** What `get()` resolves to: prom-client's metric object (values of every process). */
export interface MetricObjectWithValues<V extends MetricValue<string>> {
  name: string
  help: string
  type: MetricType
  aggregator: Aggregator
  /** As in prom-client's declaration; the object does not carry it at run time. */
  collect: (this: unknown) => void | Promise<void>
  values: V[]
}

/** A prom-client registry, or anything with its `registerMetric`. */
export interface Registry {
  registerMetric(metric: unknown): void
}

/** Options every metric takes (prom-client's, without exemplars). */
export interface MetricConfiguration<T extends string> {
  /** A Prometheus metric name. */
  name: string
  /** The help text printed with it. */
  help: string
  /** Its label names; values are given per observation and need not be declared. */
  labelNames?: readonly T[]
  /**
   * Registries to register the metric in (default: none; unlike prom-client
   * there is no global default registry: pass `[client.register]`, or call
   * `registerMetric`).
   */
  registers?: readonly Registry[]
  /** prom-client's cluster aggregator (kept, not used). */
  aggregator?: Aggregator
}

export interface CounterConfiguration<T extends string> extends MetricConfiguration<T> {
  /** Called (with the metric as `this`) before each `get()`. */
  collect?: (this: Counter<T>) => void | Promise<void>
}

/** How a gauge combines the values of the processes that set it. */
export type GaugeAggregate = 'sum' | 'max' | 'min' | 'last'

export interface GaugeConfiguration<T extends string> extends MetricConfiguration<T> {
  /**
   * 'sum' (default): each process (store object) keeps its own contribution
   * and the gauge is their sum over the processes alive now (a process that
   * dies, SIGKILL included, drops out at once); 'max' / 'min': the largest /
   * smallest of them; 'last': one value shared by every process (set() by
   * anyone replaces it, and it stays after the setter exits).
   */
  aggregate?: GaugeAggregate
  collect?: (this: Gauge<T>) => void | Promise<void>
}

export interface HistogramConfiguration<T extends string> extends MetricConfiguration<T> {
  /** Upper bounds, increasing (default prom-client's: 0.005 to 10 seconds); +Inf is always added. */
  buckets?: readonly number[]
  collect?: (this: Histogram<T>) => void | Promise<void>
}

/** A counter shared by every process: increments from any process add up. */
export declare class Counter<T extends string = string> {
  readonly name: string
  readonly help: string
  readonly type: 'counter'
  readonly labelNames: readonly T[]
  /** Adds `value` (default 1, finite, >= 0) to the series of `labels`. */
  inc(labels: LabelValues<T>, value?: number): void
  /** Adds `value` (default 1) to the series of no labels. */
  inc(value?: number): void
  /** (prom-client's exemplar form: not supported; present so registries accept the type) */
  inc(exemplar: never): void
  /** The values of every process. */
  get(): Promise<MetricObjectWithValues<MetricValue<T>>>
  /** A child bound to one series (by label values in labelNames order, or a labels object). */
  labels(...values: (string | number)[]): Counter.Internal
  labels(labels: LabelValues<T>): Counter.Internal
  /** Removes every series (in every process) until observed again; a counter without labels goes to 0. */
  reset(): void
  /** Removes one series (in every process) until observed again. */
  remove(...values: (string | number)[]): void
  remove(labels: LabelValues<T>): void
}

export declare namespace Counter {
  interface Internal {
    inc(value?: number): void
  }
}

/** A gauge shared by every process, combined as its `aggregate` says. */
export declare class Gauge<T extends string = string> {
  readonly name: string
  readonly help: string
  readonly type: 'gauge'
  readonly labelNames: readonly T[]
  readonly aggregate: GaugeAggregate
  inc(labels: LabelValues<T>, value?: number): void
  inc(value?: number): void
  dec(labels: LabelValues<T>, value?: number): void
  dec(value?: number): void
  set(labels: LabelValues<T>, value: number): void
  set(value: number): void
  get(): Promise<MetricObjectWithValues<MetricValue<T>>>
  setToCurrentTime(labels?: LabelValues<T>): void
  /** Returns a function that sets the gauge to the seconds elapsed since (and returns them). */
  startTimer(labels?: LabelValues<T>): (labels?: LabelValues<T>) => number
  labels(...values: (string | number)[]): Gauge.Internal<T>
  labels(labels: LabelValues<T>): Gauge.Internal<T>
  reset(): void
  remove(...values: (string | number)[]): void
  remove(labels: LabelValues<T>): void
}

export declare namespace Gauge {
  interface Internal<T extends string> {
    inc(value?: number): void
    dec(value?: number): void
    set(value: number): void
    setToCurrentTime(): void
    startTimer(): (labels?: LabelValues<T>) => number
  }
}

/** A histogram shared by every process: observations from any process add up. */
export declare class Histogram<T extends string = string> {
  readonly name: string
  readonly help: string
  readonly type: 'histogram'
  readonly labelNames: readonly T[]
  readonly upperBounds: readonly number[]
  observe(value: number): void
  observe(labels: LabelValues<T>, value: number): void
  /** (prom-client's exemplar form: not supported; present so registries accept the type) */
  observe(exemplar: never): void
  get(): Promise<MetricObjectWithValues<MetricValueWithName<T>>>
  /** Returns a function that observes the seconds elapsed since (and returns them). */
  startTimer(labels?: LabelValues<T>): (labels?: LabelValues<T>) => number
  reset(): void
  /** Lists the series of `labels` with zero counts. */
  zero(labels: LabelValues<T>): void
  labels(...values: (string | number)[]): Histogram.Internal<T>
  labels(labels: LabelValues<T>): Histogram.Internal<T>
  remove(...values: (string | number)[]): void
  remove(labels: LabelValues<T>): void
}

export declare namespace Histogram {
  interface Internal<T extends string> {
    observe(value: number): void
    startTimer(): (labels?: LabelValues<T>) => number
  }
}

/** Options of a new store. */
export interface MetricsStoreOptions {
  /**
   * Series the store has room for: a counter or 'last' gauge series is 1,
   * a histogram series buckets + 2 (the +Inf bucket and the sum), a
   * per-process gauge series 1 for each process that set it. Observations
   * of series beyond it are dropped (counted; a warning once).
   */
  series: number
  /** Store objects that may keep per-process gauge values at once (default 1024, at most 4096). */
  processes?: number
  /** Bytes of the string area for label values (default 64 KiB + 128 a series). */
  strings?: number
}

/** Options of `MetricsStore.open`: given size options must match an existing store. */
export interface MetricsStoreOpenOptions extends Partial<MetricsStoreOptions> {
  /** Create the file when absent (default true); creating needs `series`. */
  create?: boolean
  /** Permission bits of a new file (default 0o600). */
  mode?: number
  /** Open a file another user owns or group/others may write (default false). */
  allowInsecure?: boolean
}

/** What `store.stats()` reports. */
export interface MetricsStoreStats {
  /** Series (rows) in the store. */
  series: number
  /** Series it has room for. */
  seriesLimit: number
  /** Observations dropped because the store had no room (every process). */
  dropped: number
  /** Bytes of the string area, and those in use. */
  stringBytes: number
  stringBytesUsed: number
  /** Contributor slots, and this object's (-1 until it keeps per-process values). */
  processes: number
  contributor: number
}

/** A metric-like object of the store's own figures (for a prom-client registry). */
export interface StoreMetric {
  readonly name: string
  readonly help: string
  readonly type: 'counter' | 'gauge'
  get(): Promise<MetricObjectWithValues<MetricValue<string>>>
  reset(): void
}

/**
 * Prometheus metrics in shared memory: every process (cluster workers, pm2
 * workers, children, worker threads) updates them and any process reports
 * the totals of all, through prom-client's registry.
 */
export declare class MetricsStore {
  /** A new store (a memfd): share it with `spawn`/`fork` `share`, `shareWithCluster`, or `share()`. */
  constructor(options: MetricsStoreOptions)
  /** The store in the file at `path` (pm2, unrelated processes), created when absent. */
  static open(path: string, options?: MetricsStoreOpenOptions): MetricsStore
  /** The store a parent shared as `name`. */
  static inherit(name: string): MetricsStore
  /** The store a `share()` descriptor names, in a worker thread. */
  static attach(descriptor: ShareDescriptor): MetricsStore
  /** Removes a store's file. */
  static unlink(path: string): void
  /** prom-client's Counter, kept in this store. */
  readonly Counter: new <T extends string = string>(config: CounterConfiguration<T>) => Counter<T>
  /** prom-client's Gauge, kept in this store, with `aggregate`. */
  readonly Gauge: new <T extends string = string>(config: GaugeConfiguration<T>) => Gauge<T>
  /** prom-client's Histogram, kept in this store. */
  readonly Histogram: new <T extends string = string>(config: HistogramConfiguration<T>) => Histogram<T>
  /** A descriptor for `MetricsStore.attach` in worker threads of this process. */
  share(): ShareDescriptor
  /** Whether this object created the store's memory. */
  readonly created: boolean
  /** The table underneath. */
  readonly table: AtomicDict<bigint, [bigint, number]>
  /** The metric of this store object named `name`. */
  getSingleMetric(name: string): Counter | Gauge | Histogram | undefined
  stats(): MetricsStoreStats
  /** Registers the store's own figures (series, limit, dropped observations, string bytes) in `register`. */
  collectStoreMetrics(options: { register: Registry; prefix?: string }): StoreMetric[]
  /** Releases this object's mapping and contributor slot. */
  close(): void
  /** `close()`, for `using store = new MetricsStore(...)`. */
  [Symbol.dispose](): void
  readonly [Symbol.toStringTag]: 'MetricsStore'
}
