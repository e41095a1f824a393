// Writing an Answer (or an error) as a reply for one client.

import { Answer } from '../wire/answer';
import { RCODE } from '../wire/constants';
import { ClientQuery, RejectedQuery } from '../wire/query';
import { BuiltMessage, fitMessage, MessageTooLong, MessageWriter, optRecord, Section } from '../wire/writer';

/**
 * The client's question bytes to echo. When the client compressed its
 * question name (legal, if odd) the raw bytes cannot stand alone, so the
 * question is rewritten from the parsed name (losing only letter case).
 */
export function questionBytes(query: Buffer, q: ClientQuery): Buffer {
  if (isPlainQuestion(q)) return query.subarray(q.questionStart, q.questionEnd);
  const out = Buffer.alloc(q.qname.length + 4);
  out.write(q.qname, 0, 'latin1');
  out.writeUInt16BE(q.qtype, q.qname.length);
  out.writeUInt16BE(q.qclass, q.qname.length + 2);
  return out;
}

/** True when the question is written without compression (same length as the canonical name). */
export function isPlainQuestion(q: ClientQuery): boolean {
  return q.questionEnd - q.questionStart - 4 === q.qname.length;
}

/** The reply for `answer`; an answer too big for any DNS message becomes SERVFAIL. */
export function buildReply(answer: Answer, query: Buffer, q: ClientQuery, hideTtl: boolean): BuiltMessage {
  const question = questionBytes(query, q);
  const w = new MessageWriter(q.id, answer.rcode, q.flags2, q.flags3, question, q.qname, answer.aa);
  try {
    for (const rr of answer.answer) w.record(hideTtl ? { ...rr, ttl: 0 } : rr);
    w.startSection(Section.Authority);
    for (const rr of answer.authority) w.record(hideTtl ? { ...rr, ttl: 0 } : rr);
    return w.finish();
  } catch (err) {
    w.release();
    if (!(err instanceof MessageTooLong)) throw err;
    return new MessageWriter(q.id, RCODE.SERVFAIL, q.flags2, q.flags3, question, q.qname).finish();
  }
}

/** An error reply (FORMERR, NOTIMP, REFUSED, BADVERS) echoing whatever of the question was readable. */
export function errorReply(query: Buffer, r: RejectedQuery): Buffer {
  // A compressed question cannot be echoed on its own; leave it out then.
  const plain = r.qname !== null && r.questionEnd - 12 - 4 === r.qname.length;
  const question = plain ? query.subarray(12, r.questionEnd) : null;
  const built = new MessageWriter(r.id, r.rcode & 0x0f, r.flags2, r.flags3, question, plain ? r.qname : null).finish();
  const opt = r.edns || r.rcode === RCODE.BADVERS ? optRecord(r.rcode >> 4, false) : null;
  // A header and a question always fit: fitMessage only appends the OPT.
  return fitMessage(built, 65535, opt);
}
