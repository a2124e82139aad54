// The one axios instance. Every call to our backend goes through `api` with a path under /v1;
// calls to extra providers pass their own baseURL and key through `providerConfig`.
import axios, { type AxiosRequestConfig } from 'axios';
import { normalizeBaseUrl, settings, type Provider } from './config';
import { toApiError } from './errors';

// withXSRFToken false: our backend takes a Bearer key, never a cookie, and axios otherwise reads
// document.cookie (a synchronous round trip to the browser's cookie store) before every call to
// the same origin.
export const api = axios.create({ headers: { Accept: 'application/json' }, withXSRFToken: false });

api.interceptors.request.use((config) => {
  // A call with its own baseURL goes to a provider: our key must not leak to it.
  if (config.baseURL !== undefined) return config;
  const s = settings.get();
  // Stored as typed (normalising while typing would eat the slashes of 'http://').
  config.baseURL = normalizeBaseUrl(s.backendUrl) || undefined;
  if (s.apiKey) config.headers.set('Authorization', `Bearer ${s.apiKey}`);
  return config;
});

// Callers always catch ApiError, never AxiosError.
api.interceptors.response.use(undefined, (err: unknown) => Promise.reject(toApiError(err)));

/** Request options that send a call to an extra provider instead of our backend. */
export function providerConfig(p: Provider, extra: AxiosRequestConfig = {}): AxiosRequestConfig {
  return {
    ...extra,
    baseURL: normalizeBaseUrl(p.baseUrl),
    headers: { ...(extra.headers as Record<string, string> | undefined), ...(p.apiKey ? { Authorization: `Bearer ${p.apiKey}` } : {}) },
  };
}

/** The absolute URL and headers for calls made with fetch (SSE), matching the axios instance. */
export function backendFetchInit(path: string): { url: string; headers: Record<string, string> } {
  const s = settings.get();
  const headers: Record<string, string> = {};
  if (s.apiKey) headers.Authorization = `Bearer ${s.apiKey}`;
  return { url: `${normalizeBaseUrl(s.backendUrl)}${path}`, headers };
}
