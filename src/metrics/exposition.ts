// Prometheus text exposition format 0.0.4: `# HELP` and `# TYPE` lines,
// then one `name{label="value"} number` line per sample. Built as a string
// at scrape time from counters that the serving path keeps as plain
// numbers; nothing here runs per packet.

export const CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

export type MetricType = 'counter' | 'gauge' | 'histogram';
export type Labels = Readonly<Record<string, string>>;

/** A sample value as the format spells it (NaN, +Inf, -Inf, or a Go-parsable float). */
export function formatValue(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  return String(v);
}

/** Label values escape backslash, double quote and line feed. */
export function escapeLabelValue(s: string): string {
  return s.replace(/[\\"\n]/g, (c) => (c === '\n' ? '\\n' : '\\' + c));
}

/** HELP text escapes backslash and line feed. */
export function escapeHelp(s: string): string {
  return s.replace(/[\\\n]/g, (c) => (c === '\n' ? '\\n' : '\\\\'));
}

function labelText(labels: Labels | undefined): string {
  if (!labels) return '';
  const parts = Object.keys(labels).map((k) => `${k}="${escapeLabelValue(labels[k]!)}"`);
  return parts.length === 0 ? '' : `{${parts.join(',')}}`;
}

/**
 * A histogram with fixed upper bounds (`le`, inclusive). Counts are kept per
 * bucket and made cumulative only when written; the last slot holds what
 * lies above every bound (+Inf adds it).
 */
/** What a histogram holds: a Histogram, or one copied from another process (WORKERS). */
export interface HistogramData {
  readonly bounds: readonly number[];
  readonly counts: Float64Array;
  readonly sum: number;
  readonly count: number;
}

export class Histogram implements HistogramData {
  readonly counts: Float64Array;
  sum = 0;
  count = 0;

  constructor(readonly bounds: readonly number[]) {
    for (let i = 1; i < bounds.length; i++) {
      if (!(bounds[i]! > bounds[i - 1]!)) throw new Error('histogram bounds must increase');
    }
    this.counts = new Float64Array(bounds.length + 1);
  }

  observe(v: number): void {
    if (Number.isNaN(v)) return;
    const bounds = this.bounds;
    let i = 0;
    while (i < bounds.length && v > bounds[i]!) i++;
    this.counts[i]!++;
    this.sum += v;
    this.count++;
  }
}

/** Collects metric families and their samples into the text format. */
export class Exposition {
  private readonly lines: string[] = [];
  private readonly seen = new Set<string>();

  /** Starts a family: its HELP and TYPE lines, once per name. */
  family(name: string, type: MetricType, help: string): this {
    if (this.seen.has(name)) throw new Error(`metric family ${name} written twice`);
    this.seen.add(name);
    this.lines.push(`# HELP ${name} ${escapeHelp(help)}`, `# TYPE ${name} ${type}`);
    return this;
  }

  sample(name: string, value: number, labels?: Labels): this {
    this.lines.push(`${name}${labelText(labels)} ${formatValue(value)}`);
    return this;
  }

  /** A family with one sample. */
  single(name: string, type: 'counter' | 'gauge', help: string, value: number): this {
    return this.family(name, type, help).sample(name, value);
  }

  /** The _bucket (cumulative, +Inf last), _sum and _count samples of one histogram series. */
  histogram(name: string, h: HistogramData, labels: Labels = {}): this {
    let cumulative = 0;
    for (let i = 0; i < h.bounds.length; i++) {
      cumulative += h.counts[i]!;
      this.sample(`${name}_bucket`, cumulative, { ...labels, le: formatValue(h.bounds[i]!) });
    }
    cumulative += h.counts[h.bounds.length]!;
    this.sample(`${name}_bucket`, cumulative, { ...labels, le: '+Inf' });
    this.sample(`${name}_sum`, h.sum, labels);
    this.sample(`${name}_count`, h.count, labels);
    return this;
  }

  text(): string {
    return this.lines.join('\n') + '\n';
  }
}
