// A small Connect protocol client (JSON codec) for the storefront page: unary calls and server
// streams with fetch, client streams with XMLHttpRequest (so that uploads report progress).
// Same origin: every path is "/<package.Service>/<Method>".

/** A failed call: `code` is Connect's code name ("not_found", "aborted", ...). */
export class ConnectError extends Error {
  constructor(code, message, details = [], httpStatus = 0) {
    super(message || code);
    this.name = "ConnectError";
    this.code = code;
    this.details = details;
    this.httpStatus = httpStatus;
  }

  /** The field violations of a google.rpc.BadRequest detail: [{field, description}]. */
  get fieldViolations() {
    const violations = [];
    for (const detail of this.details || []) {
      if (!detail || !/google\.rpc\.BadRequest$/.test(detail.type || "")) continue;
      if (detail.debug && Array.isArray(detail.debug.fieldViolations)) {
        violations.push(...detail.debug.fieldViolations);
        continue;
      }
      try {
        violations.push(...decodeBadRequest(base64ToBytes(detail.value || "")));
      } catch (_) {
        // An undecodable detail: the message still says what went wrong.
      }
    }
    return violations;
  }

  /** Seconds to wait from a google.rpc.RetryInfo detail, or null. */
  get retryDelaySeconds() {
    for (const detail of this.details || []) {
      if (!detail || !/google\.rpc\.RetryInfo$/.test(detail.type || "")) continue;
      try {
        const info = decodeMessage(base64ToBytes(detail.value || ""));
        const duration = info.get(1);
        if (!duration) return 0;
        const fields = decodeMessage(duration[0]);
        const seconds = Number(fields.get(1)?.[0] ?? 0);
        const nanos = Number(fields.get(2)?.[0] ?? 0);
        return seconds + nanos / 1e9;
      } catch (_) {
        return null;
      }
    }
    return null;
  }
}

// The HTTP statuses Connect uses, for an error body that names no code.
const CODE_OF_HTTP_STATUS = {
  400: "invalid_argument",
  401: "unauthenticated",
  403: "permission_denied",
  404: "unimplemented",
  408: "deadline_exceeded",
  409: "aborted",
  412: "failed_precondition",
  413: "resource_exhausted",
  415: "internal",
  429: "unavailable",
  431: "resource_exhausted",
  499: "canceled",
  502: "unavailable",
  503: "unavailable",
  504: "unavailable",
};

// --------------------------------------------------------------------------------------
// Bytes, base64 and the protobuf wire format (just enough for error details)
// --------------------------------------------------------------------------------------

export function base64ToBytes(text) {
  const standard = text.replace(/-/g, "+").replace(/_/g, "/").replace(/=+$/, "");
  const binary = atob(standard);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

export function bytesToBase64(bytes) {
  let binary = "";
  const step = 0x8000;
  for (let i = 0; i < bytes.length; i += step) {
    binary += String.fromCharCode.apply(null, bytes.subarray(i, i + step));
  }
  return btoa(binary);
}

/** Decodes protobuf wire format into Map<fieldNumber, [values]> (varints as numbers,
 * length-delimited fields as Uint8Array). */
export function decodeMessage(bytes) {
  const fields = new Map();
  let at = 0;
  const varint = () => {
    let result = 0;
    let shift = 0;
    for (;;) {
      if (at >= bytes.length) throw new Error("truncated varint");
      const byte = bytes[at++];
      result += (byte & 0x7f) * 2 ** shift;
      if ((byte & 0x80) === 0) return result;
      shift += 7;
    }
  };
  while (at < bytes.length) {
    const key = varint();
    const number = Math.floor(key / 8);
    const wireType = key & 7;
    let value;
    if (wireType === 0) value = varint();
    else if (wireType === 2) {
      const length = varint();
      if (at + length > bytes.length) throw new Error("truncated field");
      value = bytes.subarray(at, at + length);
      at += length;
    } else if (wireType === 1) {
      value = bytes.subarray(at, at + 8);
      at += 8;
    } else if (wireType === 5) {
      value = bytes.subarray(at, at + 4);
      at += 4;
    } else throw new Error("unsupported wire type " + wireType);
    if (!fields.has(number)) fields.set(number, []);
    fields.get(number).push(value);
  }
  return fields;
}

const utf8Decoder = new TextDecoder();
const utf8Encoder = new TextEncoder();

/** google.rpc.BadRequest { repeated FieldViolation field_violations = 1 } where
 * FieldViolation { string field = 1; string description = 2 }. */
export function decodeBadRequest(bytes) {
  const message = decodeMessage(bytes);
  return (message.get(1) || []).map((violationBytes) => {
    const violation = decodeMessage(violationBytes);
    const text = (n) => (violation.get(n) ? utf8Decoder.decode(violation.get(n)[0]) : "");
    return { field: text(1), description: text(2) };
  });
}

// --------------------------------------------------------------------------------------
// Envelopes: 1 flag byte, 4-byte big-endian length, the message
// --------------------------------------------------------------------------------------

const END_STREAM = 0x02;
const COMPRESSED = 0x01;

export function envelope(message, flags = 0) {
  const payload = utf8Encoder.encode(JSON.stringify(message));
  const bytes = new Uint8Array(5 + payload.length);
  bytes[0] = flags;
  new DataView(bytes.buffer).setUint32(1, payload.length, false);
  bytes.set(payload, 5);
  return bytes;
}

/** Splits complete envelopes off the front of `buffer`; returns {envelopes, rest}. */
export function splitEnvelopes(buffer) {
  const envelopes = [];
  let at = 0;
  while (buffer.length - at >= 5) {
    const length = new DataView(buffer.buffer, buffer.byteOffset + at + 1, 4).getUint32(0, false);
    if (buffer.length - at - 5 < length) break;
    envelopes.push({ flags: buffer[at], data: buffer.subarray(at + 5, at + 5 + length) });
    at += 5 + length;
  }
  return { envelopes, rest: buffer.subarray(at) };
}

function concat(a, b) {
  if (a.length === 0) return b;
  const joined = new Uint8Array(a.length + b.length);
  joined.set(a, 0);
  joined.set(b, a.length);
  return joined;
}

function parseJSON(bytes) {
  return JSON.parse(utf8Decoder.decode(bytes));
}

function errorFromEndStream(end) {
  const error = end && end.error;
  if (!error) return null;
  return new ConnectError(error.code || "unknown", error.message || "", error.details || []);
}

async function errorFromResponse(response) {
  let body = null;
  try {
    body = await response.json();
  } catch (_) {
    // Not JSON: an HTTP error from something in between, or a bad content type.
  }
  if (body && typeof body === "object" && body.code) {
    return new ConnectError(body.code, body.message || "", body.details || [], response.status);
  }
  const code = CODE_OF_HTTP_STATUS[response.status] || "unknown";
  return new ConnectError(code, `HTTP ${response.status} ${response.statusText}`.trim(), [], response.status);
}

function networkError(error) {
  if (error && error.name === "AbortError") return new ConnectError("canceled", "the call was cancelled");
  return new ConnectError("unavailable", "cannot reach the server (" + (error && error.message) + ")");
}

// --------------------------------------------------------------------------------------
// The client
// --------------------------------------------------------------------------------------

/**
 * createClient({getToken}) -> {unary, serverStream, clientStream}.
 * `getToken()` returns the bearer token to send, or null.
 * Every method takes the full method path, e.g. "storefront.v1.ProductService/GetProduct".
 */
export function createClient({ baseUrl = "", getToken = () => null } = {}) {
  const headersFor = (contentType, timeoutMs) => {
    const headers = { "content-type": contentType, "connect-protocol-version": "1" };
    const token = getToken();
    if (token) headers["authorization"] = "Bearer " + token;
    if (timeoutMs) headers["connect-timeout-ms"] = String(timeoutMs);
    return headers;
  };

  /** A unary call: resolves with the response message, rejects with a ConnectError. */
  async function unary(method, request, { signal, timeoutMs } = {}) {
    let response;
    try {
      response = await fetch(`${baseUrl}/${method}`, {
        method: "POST",
        headers: headersFor("application/json", timeoutMs),
        body: JSON.stringify(request || {}),
        signal,
      });
    } catch (error) {
      throw networkError(error);
    }
    if (!response.ok) throw await errorFromResponse(response);
    try {
      return await response.json();
    } catch (error) {
      throw new ConnectError("internal", "the server's answer was not JSON (" + error.message + ")");
    }
  }

  /**
   * A server stream: an async iterator of response messages. `onHeaders(headers)` is called
   * once the response starts. The iterator throws a ConnectError for the stream's error, and
   * `unavailable` when the connection ends without the end-of-stream message.
   */
  async function* serverStream(method, request, { signal, onHeaders, timeoutMs } = {}) {
    let response;
    try {
      response = await fetch(`${baseUrl}/${method}`, {
        method: "POST",
        headers: headersFor("application/connect+json", timeoutMs),
        body: envelope(request || {}),
        signal,
      });
    } catch (error) {
      throw networkError(error);
    }
    if (!response.ok) throw await errorFromResponse(response);
    if (onHeaders) onHeaders(response.headers);
    const reader = response.body.getReader();
    let buffer = new Uint8Array(0);
    try {
      for (;;) {
        let chunk;
        try {
          chunk = await reader.read();
        } catch (error) {
          throw networkError(error);
        }
        if (chunk.done) break;
        buffer = concat(buffer, chunk.value);
        const { envelopes, rest } = splitEnvelopes(buffer);
        buffer = rest;
        for (const { flags, data } of envelopes) {
          if (flags & COMPRESSED) throw new ConnectError("internal", "the server sent a compressed message");
          if (flags & END_STREAM) {
            const error = errorFromEndStream(parseJSON(data));
            if (error) throw error;
            return;
          }
          yield parseJSON(data);
        }
      }
    } finally {
      reader.cancel().catch(() => {});
    }
    throw new ConnectError("unavailable", "the connection ended before the stream did");
  }

  /**
   * A client stream over XMLHttpRequest: `requests` are sent as envelopes in one body;
   * `onProgress(sentBytes, totalBytes)` follows the upload. Resolves with the response
   * message. `signal` (an AbortSignal) aborts the call.
   */
  function clientStream(method, requests, { onProgress, signal, timeoutMs } = {}) {
    const parts = requests.map((message) => envelope(message));
    const total = parts.reduce((sum, part) => sum + part.length, 0);
    const body = new Uint8Array(total);
    let at = 0;
    for (const part of parts) {
      body.set(part, at);
      at += part.length;
    }
    return new Promise((resolve, reject) => {
      const xhr = new XMLHttpRequest();
      xhr.open("POST", `${baseUrl}/${method}`);
      xhr.responseType = "arraybuffer";
      for (const [name, value] of Object.entries(headersFor("application/connect+json", timeoutMs))) {
        xhr.setRequestHeader(name, value);
      }
      if (onProgress) {
        xhr.upload.onprogress = (event) => onProgress(event.loaded, event.lengthComputable ? event.total : total);
      }
      xhr.onerror = () => reject(new ConnectError("unavailable", "cannot reach the server (the upload failed)"));
      xhr.onabort = () => reject(new ConnectError("canceled", "the upload was cancelled"));
      xhr.onload = () => {
        const bytes = new Uint8Array(xhr.response || new ArrayBuffer(0));
        if (xhr.status !== 200) {
          let parsed = null;
          try {
            parsed = parseJSON(bytes);
          } catch (_) {
            // not JSON
          }
          if (parsed && parsed.code) {
            reject(new ConnectError(parsed.code, parsed.message || "", parsed.details || [], xhr.status));
          } else {
            reject(new ConnectError(CODE_OF_HTTP_STATUS[xhr.status] || "unknown", `HTTP ${xhr.status}`, [], xhr.status));
          }
          return;
        }
        const { envelopes } = splitEnvelopes(bytes);
        let message = null;
        for (const { flags, data } of envelopes) {
          if (flags & END_STREAM) {
            const error = errorFromEndStream(parseJSON(data));
            if (error) return reject(error);
            if (message === null) return reject(new ConnectError("internal", "the server sent no response message"));
            return resolve(message);
          }
          message = parseJSON(data);
        }
        reject(new ConnectError("unavailable", "the connection ended before the stream did"));
      };
      if (signal) {
        if (signal.aborted) return xhr.abort();
        signal.addEventListener("abort", () => xhr.abort(), { once: true });
      }
      xhr.send(body);
    });
  }

  return { unary, serverStream, clientStream };
}

// --------------------------------------------------------------------------------------
// SHA-256 (for ImageMetadata.sha256): WebCrypto when the page is a secure context, else a
// plain implementation (crypto.subtle is missing on plain http:// from another host).
// --------------------------------------------------------------------------------------

export async function sha256Hex(bytes) {
  if (globalThis.crypto && crypto.subtle) {
    const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
    return Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("");
  }
  return sha256HexFallback(bytes);
}

const K = new Uint32Array([
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
  0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
  0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
  0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
  0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
  0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
  0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
  0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
]);

export function sha256HexFallback(input) {
  const length = input.length;
  const padded = new Uint8Array(((length + 9 + 63) >> 6) << 6);
  padded.set(input);
  padded[length] = 0x80;
  const view = new DataView(padded.buffer);
  view.setUint32(padded.length - 8, Math.floor((length * 8) / 2 ** 32), false);
  view.setUint32(padded.length - 4, (length * 8) >>> 0, false);
  const h = new Uint32Array([
    0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
  ]);
  const w = new Uint32Array(64);
  const rotr = (x, n) => (x >>> n) | (x << (32 - n));
  for (let block = 0; block < padded.length; block += 64) {
    for (let i = 0; i < 16; i++) w[i] = view.getUint32(block + i * 4, false);
    for (let i = 16; i < 64; i++) {
      const s0 = rotr(w[i - 15], 7) ^ rotr(w[i - 15], 18) ^ (w[i - 15] >>> 3);
      const s1 = rotr(w[i - 2], 17) ^ rotr(w[i - 2], 19) ^ (w[i - 2] >>> 10);
      w[i] = (w[i - 16] + s0 + w[i - 7] + s1) >>> 0;
    }
    let [a, b, c, d, e, f, g, hh] = h;
    for (let i = 0; i < 64; i++) {
      const S1 = rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25);
      const ch = (e & f) ^ (~e & g);
      const t1 = (hh + S1 + ch + K[i] + w[i]) >>> 0;
      const S0 = rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22);
      const maj = (a & b) ^ (a & c) ^ (b & c);
      const t2 = (S0 + maj) >>> 0;
      hh = g;
      g = f;
      f = e;
      e = (d + t1) >>> 0;
      d = c;
      c = b;
      b = a;
      a = (t1 + t2) >>> 0;
    }
    h[0] += a; h[1] += b; h[2] += c; h[3] += d; h[4] += e; h[5] += f; h[6] += g; h[7] += hh;
  }
  return Array.from(h, (x) => x.toString(16).padStart(8, "0")).join("");
}
