// A strict reader of the Prometheus text exposition format 0.0.4, for the
// metrics tests: every line must be a HELP, a TYPE or a valid sample of a
// family whose HELP and TYPE came first; histograms must be well formed.
// Throws on the first violation, naming the line.

export interface Sample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

export interface Family {
  readonly name: string;
  type: string;
  help: string;
  readonly samples: Sample[];
}

export type Parsed = Map<string, Family>;

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const TYPES = new Set(['counter', 'gauge', 'histogram', 'summary', 'untyped']);
const FLOAT = /^[+-]?(?:(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?|Inf|NaN)$/;

export function parseValue(text: string): number {
  if (!FLOAT.test(text)) throw new Error(`not a float: ${JSON.stringify(text)}`);
  if (text === 'NaN') return NaN;
  if (text.endsWith('Inf')) return text.startsWith('-') ? -Infinity : Infinity;
  return Number(text);
}

/** Labels between the braces: name="value" pairs, comma separated, with \\ \" \n escapes. */
function parseLabels(text: string, where: string): Record<string, string> {
  const labels: Record<string, string> = {};
  let i = 0;
  while (i < text.length) {
    const eq = text.indexOf('=', i);
    if (eq < 0) throw new Error(`${where}: label without "="`);
    const name = text.slice(i, eq);
    if (!LABEL_NAME.test(name)) throw new Error(`${where}: bad label name ${JSON.stringify(name)}`);
    if (name in labels) throw new Error(`${where}: label ${name} repeated`);
    if (text[eq + 1] !== '"') throw new Error(`${where}: label value not quoted`);
    let value = '';
    let j = eq + 2;
    for (;;) {
      if (j >= text.length) throw new Error(`${where}: unterminated label value`);
      const c = text[j]!;
      if (c === '"') break;
      if (c === '\\') {
        const next = text[j + 1];
        if (next === 'n') value += '\n';
        else if (next === '\\' || next === '"') value += next;
        else throw new Error(`${where}: bad escape in label value`);
        j += 2;
      } else {
        if (c === '\n') throw new Error(`${where}: raw line feed in label value`);
        value += c;
        j++;
      }
    }
    labels[name] = value;
    i = j + 1;
    if (i < text.length) {
      if (text[i] !== ',') throw new Error(`${where}: expected "," between labels`);
      i++;
    }
  }
  return labels;
}

/** The family a sample belongs to: histogram samples carry _bucket, _sum, _count. */
function familyOf(name: string, families: Parsed): Family | undefined {
  const direct = families.get(name);
  if (direct) return direct;
  const m = /^(.*)_(bucket|sum|count)$/.exec(name);
  if (!m) return undefined;
  const f = families.get(m[1]!);
  return f && (f.type === 'histogram' || f.type === 'summary') ? f : undefined;
}

export function parseExposition(text: string): Parsed {
  if (!text.endsWith('\n')) throw new Error('exposition does not end with a line feed');
  const families: Parsed = new Map();
  const lines = text.slice(0, -1).split('\n');
  lines.forEach((line, k) => {
    const where = `line ${k + 1} ${JSON.stringify(line)}`;
    if (line.startsWith('#')) {
      const m = /^# (HELP|TYPE) (\S+) (.*)$/.exec(line);
      if (!m) throw new Error(`${where}: comment is neither HELP nor TYPE`);
      const [, kind, name, rest] = m;
      if (!NAME.test(name!)) throw new Error(`${where}: bad metric name`);
      let f = families.get(name!);
      if (!f) {
        f = { name: name!, type: '', help: '', samples: [] };
        families.set(name!, f);
      } else if (f.samples.length > 0) {
        throw new Error(`${where}: ${kind} after samples`);
      }
      if (kind === 'TYPE') {
        if (!TYPES.has(rest!)) throw new Error(`${where}: unknown type`);
        if (f.type) throw new Error(`${where}: second TYPE`);
        f.type = rest!;
      } else {
        if (f.help) throw new Error(`${where}: second HELP`);
        f.help = rest!;
      }
      return;
    }
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)(?: (-?[0-9]+))?$/.exec(line);
    if (!m) throw new Error(`${where}: not a sample line`);
    const [, name, labelText, valueText] = m;
    const f = familyOf(name!, families);
    if (!f || !f.type || !f.help) throw new Error(`${where}: sample before its family's HELP and TYPE`);
    f.samples.push({ name: name!, labels: parseLabels(labelText ?? '', where), value: parseValue(valueText!) });
  });
  for (const f of families.values()) {
    if (!f.type || !f.help) throw new Error(`family ${f.name} lacks HELP or TYPE`);
    if (f.type === 'histogram') checkHistogram(f);
  }
  return families;
}

/** Each series: buckets in increasing `le`, counts non-decreasing, +Inf last and equal to _count, a _sum. */
function checkHistogram(f: Family): void {
  const series = new Map<string, { buckets: Array<[number, number]>; sum?: number; count?: number }>();
  for (const s of f.samples) {
    const { le, ...rest } = s.labels;
    const key = JSON.stringify(Object.entries(rest).sort());
    let e = series.get(key);
    if (!e) series.set(key, (e = { buckets: [] }));
    if (s.name === `${f.name}_bucket`) {
      if (le === undefined) throw new Error(`${f.name}: bucket without le`);
      e.buckets.push([parseValue(le), s.value]);
    } else if (s.name === `${f.name}_sum`) e.sum = s.value;
    else if (s.name === `${f.name}_count`) e.count = s.value;
    else throw new Error(`${f.name}: unexpected sample ${s.name} in a histogram`);
  }
  for (const [key, e] of series) {
    if (e.count === undefined || e.sum === undefined) throw new Error(`${f.name}${key}: no _count or _sum`);
    const last = e.buckets[e.buckets.length - 1];
    if (!last || last[0] !== Infinity) throw new Error(`${f.name}${key}: no +Inf bucket last`);
    for (let i = 1; i < e.buckets.length; i++) {
      if (!(e.buckets[i]![0] > e.buckets[i - 1]![0])) throw new Error(`${f.name}${key}: le not increasing`);
      if (e.buckets[i]![1] < e.buckets[i - 1]![1]) throw new Error(`${f.name}${key}: buckets not cumulative`);
    }
    if (last[1] !== e.count) throw new Error(`${f.name}${key}: +Inf bucket ${last[1]} != _count ${e.count}`);
  }
}

/** The value of the sample `name` whose labels include `labels`; throws if there is not exactly one. */
export function valueOf(parsed: Parsed, name: string, labels: Record<string, string> = {}): number {
  const matches: Sample[] = [];
  for (const f of parsed.values()) {
    for (const s of f.samples) {
      if (s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v)) matches.push(s);
    }
  }
  if (matches.length !== 1) throw new Error(`${matches.length} samples ${name}${JSON.stringify(labels)}`);
  return matches[0]!.value;
}
