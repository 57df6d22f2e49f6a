//! What a scan or a typed pickup search means: a reservation's QR code (`TRESTLE:R:<code>`), a
//! bare reservation code, or free text (name, phone, e-mail) — and how codes are normalised so
//! `k7-mq4`, `K7MQ4` and `K7 MQ4` are the same code.

export const QR_PREFIX = 'TRESTLE:R:';

/** The reservation code carried by a scanned QR payload, or null when it is not one of ours. */
export function reservationFromQr(scan: string): string | null {
  const s = scan.trim();
  if (s.length <= QR_PREFIX.length || s.slice(0, QR_PREFIX.length).toUpperCase() !== QR_PREFIX) {
    return null;
  }
  const code = normaliseCode(s.slice(QR_PREFIX.length));
  return code === '' ? null : code;
}

/** A code as the hub writes it: upper case, without spaces or dashes. */
export function normaliseCode(input: string): string {
  return input.toUpperCase().replace(/[\s-]/g, '');
}

export type PickupQuery =
  | { kind: 'code'; code: string }
  | { kind: 'email'; text: string }
  | { kind: 'phone'; text: string }
  | { kind: 'name'; text: string };

/** Classifies what was typed into the pickup search, for the hint shown beside it. */
export function classifyPickupQuery(input: string): PickupQuery | null {
  const s = input.trim();
  if (s === '') return null;
  const qr = reservationFromQr(s);
  if (qr) return { kind: 'code', code: qr };
  if (s.includes('@')) return { kind: 'email', text: s.toLowerCase() };
  if (/^\+?[\d\s()-]{6,}$/.test(s)) return { kind: 'phone', text: s.replace(/[\s()-]/g, '') };
  if (/^[A-Za-z0-9]{2,4}[- ]?[A-Za-z0-9]{2,4}$/.test(s) && /\d/.test(s)) {
    return { kind: 'code', code: normaliseCode(s) };
  }
  return { kind: 'name', text: s };
}
