// Every failure the UI shows goes through ApiError: the backend's envelope
// {"error":{message,type,param,code}} when there is one, and a classification the queue and the
// modals act on (retry or not, backend gone or not).
import { isAxiosError } from 'axios';

export interface ErrorEnvelope {
  error: { message: string; type?: string | null; param?: string | null; code?: string | null };
}

export class ApiError extends Error {
  /** HTTP status; undefined when no response arrived */
  readonly status: number | undefined;
  readonly type: string | undefined;
  readonly code: string | undefined;
  readonly param: string | undefined;
  /** from Retry-After (seconds or HTTP date), in ms */
  readonly retryAfterMs: number | undefined;
  /** worth trying again later: network, 408, 429, 5xx without x-should-retry: false */
  readonly retryable: boolean;
  /** the backend could not be reached at all (down, restarting, network) */
  readonly offline: boolean;

  constructor(
    message: string,
    init: {
      status?: number;
      type?: string;
      code?: string;
      param?: string;
      retryAfterMs?: number;
      retryable?: boolean;
      offline?: boolean;
    } = {},
  ) {
    super(message);
    this.name = 'ApiError';
    this.status = init.status;
    this.type = init.type;
    this.code = init.code;
    this.param = init.param;
    this.retryAfterMs = init.retryAfterMs;
    this.retryable = init.retryable ?? false;
    this.offline = init.offline ?? false;
  }

  /** What to tell the user to do about it, when we know. */
  get hint(): string | undefined {
    if (this.code === 'out_of_memory') return 'The GPU ran out of memory. Switch the VRAM mode to Low in Settings, or use a smaller size.';
    if (this.status === 401 || this.status === 403) return 'Check the API key in Settings.';
    if (this.offline) return 'The backend is not reachable. Check that it is running and the backend URL in Settings.';
    return undefined;
  }
}

export function isEnvelope(body: unknown): body is ErrorEnvelope {
  if (typeof body !== 'object' || body === null) return false;
  const e = (body as { error?: unknown }).error;
  return typeof e === 'object' && e !== null && typeof (e as { message?: unknown }).message === 'string';
}

/** Retry-After is either delta-seconds or an HTTP date. */
export function parseRetryAfter(value: string | null | undefined, now = Date.now()): number | undefined {
  if (!value) return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

type HeaderBag = { get(name: string): string | null } | Record<string, unknown> | undefined;

function header(headers: HeaderBag, name: string): string | undefined {
  if (!headers) return undefined;
  if (typeof (headers as { get?: unknown }).get === 'function') {
    const v = (headers as { get(n: string): unknown }).get(name);
    return v == null ? undefined : String(v);
  }
  const bag = headers as Record<string, unknown>;
  const v = bag[name] ?? bag[name.toLowerCase()];
  return v == null ? undefined : String(v);
}

/** Build an ApiError from a status, headers and a (possibly parsed) body. */
export function errorFromResponse(status: number, headers: HeaderBag, body: unknown, fallback?: string): ApiError {
  let parsed = body;
  if (typeof body === 'string') {
    try {
      parsed = JSON.parse(body);
    } catch {
      parsed = body;
    }
  }
  const env = isEnvelope(parsed) ? parsed.error : undefined;
  const shouldRetry = header(headers, 'x-should-retry');
  // A proxy in front of a dead backend answers 502/504: that is "gone", not a server bug.
  const offline = status === 502 || status === 504;
  const transient = status === 408 || status === 429 || status >= 500;
  const message = env?.message ?? (typeof parsed === 'string' && parsed.trim() ? parsed.trim().slice(0, 300) : fallback ?? `HTTP ${status}`);
  return new ApiError(message, {
    status,
    type: env?.type ?? undefined,
    code: env?.code ?? undefined,
    param: env?.param ?? undefined,
    retryAfterMs: parseRetryAfter(header(headers, 'retry-after')),
    retryable: shouldRetry === 'false' ? false : shouldRetry === 'true' ? true : transient,
    offline,
  });
}

/** Normalise anything thrown by axios, fetch or our code into an ApiError. */
export function toApiError(err: unknown): ApiError {
  if (err instanceof ApiError) return err;
  if (isAxiosError(err)) {
    if (err.code === 'ERR_CANCELED') return new ApiError('Cancelled', { code: 'cancelled' });
    if (err.response) return errorFromResponse(err.response.status, err.response.headers as HeaderBag, err.response.data, err.message);
    return new ApiError(`Cannot reach the backend (${err.message})`, { retryable: true, offline: true });
  }
  if (err instanceof DOMException && err.name === 'AbortError') return new ApiError('Cancelled', { code: 'cancelled' });
  // fetch() rejects with TypeError when the connection fails.
  if (err instanceof TypeError) return new ApiError(`Cannot reach the backend (${err.message})`, { retryable: true, offline: true });
  return new ApiError(err instanceof Error ? err.message : String(err));
}

/** One line for the user: the backend's message, then what to do. */
export function describeError(err: unknown): string {
  const e = toApiError(err);
  return e.hint ? `${e.message} — ${e.hint}` : e.message;
}
