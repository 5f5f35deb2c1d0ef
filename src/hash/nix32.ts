/** Nix's base-32 encoding: its own alphabet (no e, o, u, t), least significant bits first. */

export const NIX32_ALPHABET = '0123456789abcdfghijklmnpqrsvwxyz';

const DECODE = new Int8Array(128).fill(-1);
for (let i = 0; i < NIX32_ALPHABET.length; i++) DECODE[NIX32_ALPHABET.charCodeAt(i)] = i;

export function nix32Length(byteLength: number): number {
  return Math.ceil((byteLength * 8) / 5);
}

const ALPHABET_CODES = Array.from(NIX32_ALPHABET, (c) => c.charCodeAt(0));

export function nix32Encode(bytes: Uint8Array): string {
  const len = nix32Length(bytes.length);
  // Character codes first, one string at the end: no intermediate strings (store paths are
  // made by the thousand during evaluation).
  const codes = new Array<number>(len);
  for (let n = len - 1; n >= 0; n--) {
    const b = n * 5;
    const i = b >> 3;
    const j = b & 7;
    const c = ((bytes[i] >> j) | (i + 1 < bytes.length ? bytes[i + 1] << (8 - j) : 0)) & 0x1f;
    codes[len - 1 - n] = ALPHABET_CODES[c];
  }
  if (len <= 8192) return String.fromCharCode.apply(null, codes);
  let out = '';
  for (let k = 0; k < len; k += 8192) out += String.fromCharCode.apply(null, codes.slice(k, k + 8192));
  return out;
}

export function nix32Decode(s: string, byteLength: number): Buffer {
  if (s.length !== nix32Length(byteLength)) throw new Error(`nix32 string '${s}' has length ${s.length}, expected ${nix32Length(byteLength)}`);
  const out = Buffer.alloc(byteLength);
  for (let n = 0; n < s.length; n++) {
    const code = s.charCodeAt(s.length - n - 1);
    const digit = code < 128 ? DECODE[code] : -1;
    if (digit < 0) throw new Error(`invalid character '${s[s.length - n - 1]}' in nix32 string '${s}'`);
    const b = n * 5;
    const i = b >> 3;
    const j = b & 7;
    out[i] |= (digit << j) & 0xff;
    const carry = digit >> (8 - j);
    if (i + 1 < byteLength) out[i + 1] |= carry;
    else if (carry) throw new Error(`nix32 string '${s}' has bits beyond ${byteLength} bytes`);
  }
  return out;
}

/** True for a character of the nix32 alphabet (used by the reference scanner). */
export function isNix32Char(code: number): boolean {
  return code < 128 && DECODE[code] >= 0;
}
