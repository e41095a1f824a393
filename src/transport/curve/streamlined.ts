// DNSCurve's streamlined format (dnscurve.org/messages.html): no DNS
// header outside the box.
//
//   query:    "Q6fnvWj8" | client public key (32) | client nonce (12) | box(query)
//   response: "R6fnvWJ8" | client nonce (12) | server nonce (12) | box(response)
//
// A box is the authenticator (16) then the ciphertext; its nonce is the
// client half then the server half (zeros in the query). Pure functions.

import { boxAfternm, MAC_BYTES, NONCE_BYTES, openAfternm } from './crypto';
import { CLIENT_NONCE_BYTES } from './nonce';

const QUERY_MAGIC = Buffer.from('Q6fnvWj8', 'latin1');
const RESPONSE_MAGIC = Buffer.from('R6fnvWJ8', 'latin1');
const QUERY_HEAD = QUERY_MAGIC.length + 32 + CLIENT_NONCE_BYTES;
const RESPONSE_HEAD = RESPONSE_MAGIC.length + NONCE_BYTES;

/** The streamlined query carrying `query` (a whole DNS message) for the server we share `key` with. */
export function streamlinedQuery(query: Buffer, clientKey: Buffer, nonce: Buffer, key: Buffer): Buffer {
  const out = Buffer.allocUnsafe(QUERY_HEAD + MAC_BYTES + query.length);
  QUERY_MAGIC.copy(out, 0);
  clientKey.copy(out, QUERY_MAGIC.length);
  nonce.copy(out, QUERY_MAGIC.length + 32);
  const full = Buffer.alloc(NONCE_BYTES);
  nonce.copy(full, 0);
  boxAfternm(out.subarray(QUERY_HEAD), query, full, key);
  return out;
}

/**
 * The DNS message inside a streamlined response, or null when it is not
 * one for us: wrong magic, not our nonce echoed (a replay of another
 * query's response), or a box that does not open with our key (forged,
 * damaged, or from another server).
 */
export function openStreamlined(reply: Buffer, nonce: Buffer, key: Buffer): Buffer | null {
  if (reply.length < RESPONSE_HEAD + MAC_BYTES) return null;
  if (!RESPONSE_MAGIC.equals(reply.subarray(0, RESPONSE_MAGIC.length))) return null;
  const full = reply.subarray(RESPONSE_MAGIC.length, RESPONSE_HEAD);
  if (!nonce.equals(full.subarray(0, CLIENT_NONCE_BYTES))) return null;
  return openAfternm(reply.subarray(RESPONSE_HEAD), full, key);
}
