import { describe, expect, it } from 'vitest';
import { SseParser, streamSse } from './sse';
import { ApiError } from './errors';

describe('SseParser', () => {
  it('parses data lines, named events, ids and multi-line data', () => {
    const p = new SseParser();
    const out = p.feed('event: step\nid: 7\ndata: {"a":1}\n\ndata: line1\ndata: line2\n\n');
    expect(out).toEqual([
      { event: 'step', data: '{"a":1}', id: '7' },
      { event: 'message', data: 'line1\nline2', id: '7' },
    ]);
  });

  it('reassembles messages split across chunks at any byte', () => {
    const text = 'data: {"type":"queued","position":2}\n\ndata: {"type":"step","step":1,"steps":4}\n\n';
    for (let cut = 1; cut < text.length; cut++) {
      const p = new SseParser();
      const out = [...p.feed(text.slice(0, cut)), ...p.feed(text.slice(cut))];
      expect(out.map((m) => JSON.parse(m.data).type)).toEqual(['queued', 'step']);
    }
  });

  it('accepts CRLF and CR line endings, even with CRLF split between chunks', () => {
    const p = new SseParser();
    expect([...p.feed('data: a\r'), ...p.feed('\n\r\n'), ...p.feed('data: b\r\rdata: c\n\n')].map((m) => m.data)).toEqual(['a', 'b', 'c']);
  });

  it('ignores comments (heartbeats) and messages without data', () => {
    const p = new SseParser();
    expect(p.feed(': ping\n\nevent: nothing\n\ndata: x\n\n')).toEqual([{ event: 'message', data: 'x' }]);
  });

  it('keeps the value verbatim after the first space, and the retry field', () => {
    const p = new SseParser();
    expect(p.feed('retry: 1500\ndata:  two spaces\ndata:none\n\n')).toEqual([{ event: 'message', data: ' two spaces\nnone', retry: 1500 }]);
  });

  it('drops an unterminated message at the end of the stream', () => {
    const p = new SseParser();
    expect(p.feed('data: partial')).toEqual([]);
    p.end();
    expect(p.feed('\n\n')).toEqual([]);
  });
});

function streamOf(chunks: string[], init: ResponseInit = {}): typeof fetch {
  return async () =>
    new Response(
      new ReadableStream({
        start(c) {
          for (const ch of chunks) c.enqueue(new TextEncoder().encode(ch));
          c.close();
        },
      }),
      init,
    );
}

describe('streamSse', () => {
  it('yields events from a streamed fetch body', async () => {
    const got: string[] = [];
    for await (const m of streamSse('/x', { fetchImpl: streamOf(['data: 1\n', '\ndata: 2\n\n']) })) got.push(m.data);
    expect(got).toEqual(['1', '2']);
  });

  it("throws the backend's envelope message on an error status", async () => {
    const fetchImpl: typeof fetch = async () =>
      new Response(JSON.stringify({ error: { message: 'no job with id x', type: 'invalid_request_error', param: 'id', code: 'not_found' } }), { status: 404 });
    const it = streamSse('/x', { fetchImpl });
    await expect(it.next()).rejects.toMatchObject({ message: 'no job with id x', status: 404, code: 'not_found', retryable: false });
  });

  it('reports an unreachable backend as offline', async () => {
    const fetchImpl: typeof fetch = async () => {
      throw new TypeError('fetch failed');
    };
    const err = await streamSse('/x', { fetchImpl }).next().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect(err).toMatchObject({ offline: true, retryable: true });
  });
});
