import { describe, expect, it } from 'vitest';
import { ApiError, describeError, errorFromResponse, parseRetryAfter } from './errors';

describe('errorFromResponse', () => {
  it('takes message, code and param from the envelope', () => {
    const e = errorFromResponse(400, {}, { error: { message: 'width must be a multiple of 8, got 1000', type: 'invalid_request_error', param: 'width', code: 'invalid_parameter' } });
    expect(e).toMatchObject({ message: 'width must be a multiple of 8, got 1000', param: 'width', code: 'invalid_parameter', retryable: false });
  });

  it('marks 429 retryable with Retry-After, and honours x-should-retry: false on 5xx', () => {
    expect(errorFromResponse(429, { 'retry-after': '3' }, '')).toMatchObject({ retryable: true, retryAfterMs: 3000 });
    expect(errorFromResponse(503, { 'x-should-retry': 'false' }, { error: { message: 'oom', code: 'out_of_memory' } })).toMatchObject({ retryable: false });
    expect(errorFromResponse(500, {}, 'Internal Server Error')).toMatchObject({ retryable: true, message: 'Internal Server Error' });
  });

  it('treats a proxy 502 as the backend being away', () => {
    expect(errorFromResponse(502, {}, '')).toMatchObject({ offline: true, retryable: true });
  });

  it('suggests Low mode on out_of_memory', () => {
    const e = new ApiError('CUDA out of memory', { status: 503, code: 'out_of_memory' });
    expect(describeError(e)).toMatch(/Low/);
  });
});

describe('parseRetryAfter', () => {
  it('reads seconds and HTTP dates', () => {
    expect(parseRetryAfter('2')).toBe(2000);
    expect(parseRetryAfter(new Date(10_000).toUTCString(), 4_000)).toBe(6_000);
    expect(parseRetryAfter('soon')).toBeUndefined();
  });
});
