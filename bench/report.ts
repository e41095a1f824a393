// The markdown report: machine, method, and one table per question asked
// (throughput and CPU at saturation, latency at half of it, memory, ratios).
// Every cell is the median over passes, with the min-max spread when there
// is more than one pass.

export const WORKLOADS = ['hot', 'large', 'mixed', 'cold'] as const;
export type Workload = (typeof WORKLOADS)[number];

/** One pass of one workload against one server. */
export interface Sample {
  /** Saturation: answered queries per second. */
  qps: number;
  /** Saturation: server CPU (user+sys) per answered query, µs. */
  cpuUs: number;
  /** Saturation: server CPU time / elapsed time (1 = one core busy). */
  core: number;
  satLost: number;
  satSent: number;
  /** Latency run: the open-loop rate asked for (half of qps), and the one dnsperf achieved. */
  rate: number;
  achieved: number;
  p50: number;
  p99: number;
  p999: number;
  latLost: number;
  latSent: number;
}

export interface Memory {
  before: number;
  after: number;
  /** (after - before) / names, bytes. */
  perName: number;
}

export interface TargetResult {
  key:
    | 'bare'
    | 'forwarder'
    | 'dnscache'
    | 'rules'
    | 'workers'
    | 'routed'
    | 'unbound'
    | 'dnsdist'
    | 'iterative'
    | 'curve'
    | 'curve-plain';
  label: string;
  samples: Partial<Record<Workload, Sample[]>>;
  memory: Memory[];
}

export interface ReportData {
  title: string;
  machine: Array<[string, string]>;
  method: string[];
  targets: TargetResult[];
  passes: number;
  notes: string[];
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

function fmt(x: number, digits: number): string {
  if (!Number.isFinite(x)) return 'n/a';
  return x.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

/** "median (min-max)" of the values, or the single value. */
function cell(xs: number[], digits = 0): string {
  if (xs.length === 0) return '-';
  const m = fmt(median(xs), digits);
  if (xs.length === 1) return m;
  return `${m} (${fmt(Math.min(...xs), digits)}-${fmt(Math.max(...xs), digits)})`;
}

/** A markdown table: the first `left` columns are labels, the rest right-aligned numbers. */
function table(header: string[], rows: string[][], left = 2): string[] {
  return [
    `| ${header.join(' | ')} |`,
    `| ${header.map((_, i) => (i < left ? '---' : '---:')).join(' | ')} |`,
    ...rows.map((r) => `| ${r.join(' | ')} |`),
  ];
}

/** Per-pass ratios a/b of a metric (both measured in the same pass). */
function ratios(a: Sample[] | undefined, b: Sample[] | undefined, f: (s: Sample) => number): number[] {
  if (!a || !b) return [];
  return a.slice(0, b.length).map((s, i) => f(s) / f(b[i]!));
}

export function renderReport(r: ReportData): string {
  const by = (k: TargetResult['key']): TargetResult | undefined => r.targets.find((t) => t.key === k);
  const rows = (f: (t: TargetResult, w: Workload, ss: Sample[]) => string[]): string[][] =>
    WORKLOADS.flatMap((w) => r.targets.filter((t) => t.samples[w]).map((t) => f(t, w, t.samples[w]!)));
  const lost = (ss: Sample[], k: 'sat' | 'lat'): string =>
    cell(
      ss.map((s) => (100 * (k === 'sat' ? s.satLost : s.latLost)) / (k === 'sat' ? s.satSent : s.latSent)),
      2,
    );

  const out: string[] = [
    `# ${r.title}`,
    '',
    '## Machine',
    '',
    ...table(
      ['what', 'value'],
      r.machine.map(([k, v]) => [k, v]),
    ),
    '',
    '## Method',
    '',
    ...r.method.map((m) => `- ${m}`),
    '',
  ];
  const spread = r.passes > 1 ? ` Cells: median over ${r.passes} passes (min-max).` : ' One pass (no spread).';

  out.push('## Throughput at saturation', '', `Closed loop.${spread}`, '');
  out.push(
    ...table(
      ['workload', 'server', 'queries/s', 'CPU µs / answer', 'server CPU (cores)', 'lost %'],
      rows((t, w, ss) => [
        w,
        t.label,
        cell(ss.map((s) => s.qps)),
        cell(
          ss.map((s) => s.cpuUs),
          1,
        ),
        cell(
          ss.map((s) => s.core),
          2,
        ),
        lost(ss, 'sat'),
      ]),
    ),
    '',
  );

  out.push('## Latency at 50% of the saturated rate', '', `Open loop, µs.${spread}`, '');
  out.push(
    ...table(
      ['workload', 'server', 'rate (q/s)', 'achieved (q/s)', 'p50', 'p99', 'p99.9', 'lost %'],
      rows((t, w, ss) => [
        w,
        t.label,
        cell(ss.map((s) => s.rate)),
        cell(ss.map((s) => s.achieved)),
        cell(ss.map((s) => s.p50)),
        cell(ss.map((s) => s.p99)),
        cell(ss.map((s) => s.p999)),
        lost(ss, 'lat'),
      ]),
    ),
    '',
  );

  const withMem = r.targets.filter((t) => t.memory.length > 0);
  if (withMem.length > 0) {
    out.push(
      '## Memory after caching 100,000 names',
      '',
      `VmRSS before warm-up, after it, and the growth per name.${spread}`,
      '',
    );
    out.push(
      ...table(
        ['server', 'RSS before (MB)', 'RSS after (MB)', 'bytes / name'],
        withMem.map((t) => [
          t.label,
          cell(
            t.memory.map((m) => m.before / 1e6),
            1,
          ),
          cell(
            t.memory.map((m) => m.after / 1e6),
            1,
          ),
          cell(t.memory.map((m) => m.perName)),
        ]),
        1,
      ),
      '',
    );
  }

  const against = (dc: TargetResult | undefined, base: TargetResult | undefined): void => {
    if (!dc || !base) return;
    out.push(
      `## ${dc.label} / ${base.label}`,
      '',
      `Ratios of the two measured in the same pass (> 1: ${dc.label} needs more, or for queries/s, does more).${spread}`,
      '',
    );
    const rrows = WORKLOADS.filter((w) => dc.samples[w] && base.samples[w]).map((w) => {
      const q = (f: (s: Sample) => number): string => cell(ratios(dc.samples[w], base.samples[w], f), 2);
      return [w, q((s) => s.qps), q((s) => s.cpuUs), q((s) => s.p50), q((s) => s.p99), q((s) => s.p999)];
    });
    out.push(...table(['workload', 'queries/s', 'CPU µs / answer', 'p50', 'p99', 'p99.9'], rrows, 1));
    if (dc.memory.length > 0 && base.memory.length > 0) {
      const m = dc.memory.slice(0, base.memory.length).map((d, i) => d.perName / base.memory[i]!.perName);
      out.push('', `RSS growth per cached name, ${dc.label} / ${base.label}: ${cell(m, 2)}`);
    }
    out.push('');
  };
  const againstUnbound = (dc: TargetResult | undefined): void => against(dc, by('unbound'));
  againstUnbound(by('dnscache'));
  againstUnbound(by('rules'));
  againstUnbound(by('workers'));
  against(by('dnscache'), by('dnsdist'));

  const floor = (key: TargetResult['key'], w: Workload, title: string, what: string): void => {
    const base = by(key)?.samples[w];
    if (!base) return;
    out.push(`## ${title}`, '', `${what}${spread}`, '');
    const rows = r.targets
      .filter((t) => t.samples[w])
      .map((t) => {
        const ss = t.samples[w]!;
        return [
          t.label,
          cell(ss.map((s) => s.qps)),
          cell(
            ratios(ss, base, (s) => s.qps),
            2,
          ),
          cell(
            ss.map((s) => s.cpuUs),
            1,
          ),
          cell(
            ratios(ss, base, (s) => s.cpuUs),
            2,
          ),
        ];
      });
    out.push(...table(['server', 'queries/s', '× floor', 'CPU µs / answer', '× floor'], rows, 1), '');
  };
  floor(
    'bare',
    'hot',
    'Against the bare Node.js responder (hot workload)',
    'The floor for a Node resolver answering from memory with node:dgram: a syscall and a JavaScript call per datagram, no DNS work. dnscache-ts reads and writes UDP in batches through its addon (native/udpbatch.c), so it can go below it.',
  );
  floor(
    'forwarder',
    'cold',
    'Against the bare Node.js forwarder (cold workload)',
    'The floor for a miss in a Node resolver on node:dgram with a fresh random-port socket per upstream query: socket, bind, connect, send, receive, close and the reply relayed, no DNS work.',
  );

  const curve = by('curve')?.samples.cold;
  const curvePlain = by('curve-plain')?.samples.cold;
  if (curve && curvePlain) {
    out.push(
      '## DNSCurve: an encrypted miss against a plain one (cold workload)',
      '',
      `The same dnscache-ts, the same path (CurveDNS in front of NSD); only whether the query is sealed differs. Target: at most 1.25×.${spread}`,
      '',
      ...table(
        ['', 'queries/s', 'CPU µs / answer'],
        [
          [
            'encrypted (streamlined)',
            cell(curve.map((s) => s.qps)),
            cell(
              curve.map((s) => s.cpuUs),
              1,
            ),
          ],
          [
            'plain',
            cell(curvePlain.map((s) => s.qps)),
            cell(
              curvePlain.map((s) => s.cpuUs),
              1,
            ),
          ],
          [
            'encrypted / plain',
            cell(
              ratios(curve, curvePlain, (s) => s.qps),
              2,
            ),
            cell(
              ratios(curve, curvePlain, (s) => s.cpuUs),
              2,
            ),
          ],
        ],
        1,
      ),
      '',
    );
  }

  if (r.notes.length > 0) out.push('## Notes', '', ...r.notes.map((n) => `- ${n}`), '');
  return out.join('\n');
}
