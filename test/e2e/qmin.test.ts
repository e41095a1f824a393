// QNAME minimisation (RFC 9156) end to end: a real dnscache with QMIN=1
// walks the whole lab tree and gets every answer a resolver without it
// gets, while no server above a zone cut sees more of a name than the
// label below its zone. The extra queries it costs are counted (README
// quotes the figure).

import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { HIERARCHY_ANSWERS, Hierarchy } from '../lab/hierarchy';
import { suiteScope } from './fixtures';
import { answersOf, ask, queryCounts, queriesSince, startIterative, startTree } from './iterate-fixtures';

const scope = suiteScope();
let h: Hierarchy;

before(async () => {
  h = await startTree(scope);
});

/** Every HIERARCHY_ANSWERS name, one at a time, from a fresh dnscache: the answers and the queries the tree saw. */
async function walk(qmin: '0' | '1'): Promise<{ answers: Map<string, string>; queries: string[] }> {
  const dns = await startIterative(h, scope, { env: { QMIN: qmin } });
  const mark = queryCounts(h);
  const answers = new Map<string, string>();
  for (const key of Object.keys(HIERARCHY_ANSWERS)) {
    if (!h.ipv6 && /v6/.test(key)) continue;
    const [name, type = 'A'] = key.split('/') as [string, string?];
    const reply = await ask(dns, name, type);
    answers.set(
      key,
      `${reply.packet.rcode} ${JSON.stringify(
        answersOf(reply)
          .map((r) => r.data)
          .sort(),
      )}`,
    );
  }
  return { answers, queries: queriesSince(h, mark) };
}

describe('QNAME minimisation', () => {
  test('the same answers as without it; the root and TLDs see only the next label', async (t) => {
    const plain = await walk('0');
    const minimised = await walk('1');
    assert.deepEqual(minimised.answers, plain.answers);
    // The root servers are asked about TLDs only ("test", "example", "lab"), never a whole name.
    const atRoot = minimised.queries.filter((q) => /^root[12] /.test(q));
    assert.ok(atRoot.length > 0);
    for (const q of atRoot) assert.match(q, /^root[12] (udp|tcp) [a-z0-9-]+\/NS$/, q);
    const fullAtRoot = plain.queries.filter((q) => /^root[12] udp www\./.test(q));
    assert.ok(fullAtRoot.length > 0, 'without minimisation the root sees whole names');
    t.diagnostic(
      `upstream queries for the ${plain.answers.size} names: ${plain.queries.length} without QMIN, ${minimised.queries.length} with`,
    );
  });
});
