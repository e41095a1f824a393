// Prometheus text exposition format 0.0.4: `# HELP` and `# TYPE` lines,
// then one `name{label="value"} number` line per sample. Built as a string
// at scrape time from counters that the serving path keeps as plain
// numbers; nothing here runs per packet.

import { HistogramData } from '../stats/histogram';

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
