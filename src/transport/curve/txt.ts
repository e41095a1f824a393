// DNSCurve's TXT format (dnscurve.org/messages.html): an ordinary-looking
// TXT query and response, for networks whose firewalls drop what does not
// look like DNS.
//
//   query name: base32(client nonce (12) | box(query)) in labels of at most
//               50 characters, then "x1a" + base32(client public key) (54),
//               then the zone asked about
//   response:   same ID, QR+AA, the question echoed, one TXT record
//               (type TXT, class IN, name pointer to the question) whose
//               strings, joined, are server nonce (12) | box(response)
//
// Compatible with CurveDNS and djbdnscurve6 (which check the same fixed
// header bytes). Pure functions.

import { CLASS, HEADER_LENGTH, TYPE } from '../../wire/constants';
import { lowerByte, Name } from '../../wire/name';
import { base32Encode, base32Key, base32Length } from './base32';
import { boxAfternm, MAC_BYTES, NONCE_BYTES, openAfternm } from './crypto';
import { CLIENT_NONCE_BYTES } from './nonce';

const LABEL_CHARS = 50;
const KEY_LABEL_LENGTH = 54; // "x1a" + 51 characters
const MAX_NAME = 255;
/** The response's header after its ID: QR+AA, RD clear, NOERROR, one question, one answer. */
const RESPONSE_HEADER = Buffer.from([0x84, 0x00, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00]);
/** After the question: type TXT, class IN, then the answer: pointer to the question, TXT, IN. */
const RESPONSE_RR = Buffer.from([0x00, 0x10, 0x00, 0x01, 0xc0, 0x0c, 0x00, 0x10, 0x00, 0x01]);

/** The query name's length for a DNS message of `queryLength` bytes sent about `zone`. */
export function txtNameLength(queryLength: number, zone: Name): number {
  const chars = base32Length(CLIENT_NONCE_BYTES + MAC_BYTES + queryLength);
  return chars + Math.ceil(chars / LABEL_CHARS) + 1 + KEY_LABEL_LENGTH + zone.length;
}

/** Does a DNS message of `queryLength` bytes fit into a TXT query name (at most 255 bytes) for `zone`? */
export function txtFits(queryLength: number, zone: Name): boolean {
  return txtNameLength(queryLength, zone) <= MAX_NAME;
}

/** A TXT-format query: `query` boxed into the name of a TXT question with ID `id`. The caller checks txtFits(). */
export function txtQuery(query: Buffer, clientKey: Buffer, nonce: Buffer, key: Buffer, zone: Name, id: number): Buffer {
  const data = Buffer.allocUnsafe(CLIENT_NONCE_BYTES + MAC_BYTES + query.length);
  nonce.copy(data, 0);
  const full = Buffer.alloc(NONCE_BYTES);
  nonce.copy(full, 0);
  boxAfternm(data.subarray(CLIENT_NONCE_BYTES), query, full, key);
  const text = base32Encode(data);
  let name = '';
  for (let i = 0; i < text.length; i += LABEL_CHARS) {
    const label = text.slice(i, i + LABEL_CHARS);
    name += String.fromCharCode(label.length) + label;
  }
  name += String.fromCharCode(KEY_LABEL_LENGTH) + 'x1a' + base32Key(clientKey) + zone;
  const out = Buffer.alloc(HEADER_LENGTH + name.length + 4);
  out.writeUInt16BE(id, 0);
  out.writeUInt16BE(1, 4); // one question; flags all clear, RD too
  out.write(name, HEADER_LENGTH, 'latin1');
  out.writeUInt16BE(TYPE.TXT, HEADER_LENGTH + name.length);
  out.writeUInt16BE(CLASS.IN, HEADER_LENGTH + name.length + 2);
  return out;
}

/** Same bytes, letter case aside (a server may echo the name in another case). */
function sameName(a: Buffer, b: Buffer): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (lowerByte(a[i]!) !== lowerByte(b[i]!)) return false;
  return true;
}

/**
 * The DNS message inside a TXT-format response to `query` (as sent), or
 * null when it is not one: another ID or question, another shape than the
 * one record, TXT strings that overrun, or a box that does not open with
 * our nonce and key (forged, replayed, or from another server).
 */
export function openTxt(reply: Buffer, query: Buffer, nonce: Buffer, key: Buffer): Buffer | null {
  const nameEnd = query.length - 4;
  const question = query.subarray(HEADER_LENGTH, nameEnd);
  let pos = HEADER_LENGTH + question.length;
  if (reply.length < pos + RESPONSE_RR.length + 6) return null;
  if (reply[0] !== query[0] || reply[1] !== query[1]) return null;
  if (!RESPONSE_HEADER.equals(reply.subarray(2, HEADER_LENGTH))) return null;
  if (!sameName(question, reply.subarray(HEADER_LENGTH, pos))) return null;
  if (!RESPONSE_RR.equals(reply.subarray(pos, pos + RESPONSE_RR.length))) return null;
  pos += RESPONSE_RR.length + 4; // the TTL says nothing to us
  const rdlength = reply.readUInt16BE(pos);
  pos += 2;
  const end = pos + rdlength;
  if (end > reply.length) return null;
  const data = Buffer.allocUnsafe(rdlength);
  let n = 0;
  while (pos < end) {
    const len = reply[pos++]!;
    if (pos + len > end) return null;
    n += reply.copy(data, n, pos, pos + len);
    pos += len;
  }
  if (n < CLIENT_NONCE_BYTES + MAC_BYTES) return null;
  const full = Buffer.allocUnsafe(NONCE_BYTES);
  nonce.copy(full, 0);
  data.copy(full, CLIENT_NONCE_BYTES, 0, CLIENT_NONCE_BYTES);
  return openAfternm(data.subarray(CLIENT_NONCE_BYTES, n), full, key);
}
