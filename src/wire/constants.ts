// Numeric codes used across the resolver. Kept as plain numbers (not enums)
// so the hot path compares small integers without indirection.

export const TYPE = {
  A: 1,
  NS: 2,
  MD: 3,
  MF: 4,
  CNAME: 5,
  SOA: 6,
  MB: 7,
  MG: 8,
  MR: 9,
  NULL: 10,
  PTR: 12,
  MINFO: 14,
  MX: 15,
  TXT: 16,
  RP: 17,
  AFSDB: 18,
  RT: 21,
  AAAA: 28,
  SRV: 33,
  KX: 36,
  DNAME: 39,
  OPT: 41,
  DS: 43,
  RRSIG: 46,
  NSEC: 47,
  DNSKEY: 48,
  /** Transaction key and signature (RFC 2930, RFC 8945): meta-types, never asked for. */
  TKEY: 249,
  TSIG: 250,
  IXFR: 251,
  AXFR: 252,
  MAILB: 253,
  MAILA: 254,
  ANY: 255,
  CAA: 257,
} as const;

export const CLASS = { IN: 1, CH: 3, ANY: 255 } as const;

export const RCODE = {
  NOERROR: 0,
  FORMERR: 1,
  SERVFAIL: 2,
  NXDOMAIN: 3,
  NOTIMP: 4,
  REFUSED: 5,
  /** A DNAME substitution made a name too long (RFC 6672 §2.2). */
  YXDOMAIN: 6,
  /** Extended RCODE 16 (upper bits live in the OPT record). */
  BADVERS: 16,
} as const;

export const OPCODE_QUERY = 0;

/** Byte 2 of the header. */
export const FLAG_QR = 0x80;
export const FLAG_AA = 0x04;
export const FLAG_TC = 0x02;
export const FLAG_RD = 0x01;
/** The OPCODE bits of byte 2, copied from a query into its reply (RFC 1035 §4.1.1). */
export const OPCODE_MASK = 0x78;
/** Byte 3 of the header. */
export const FLAG_RA = 0x80;
export const FLAG_AD = 0x20;
export const FLAG_CD = 0x10;

export const HEADER_LENGTH = 12;
/** Largest UDP reply without EDNS (RFC 1035). */
export const CLASSIC_UDP_SIZE = 512;
/** Our EDNS buffer size, both advertised upstream and the cap for clients (DNS flag day 2020). */
export const EDNS_UDP_SIZE = 1232;
