// Server-sent events over fetch. EventSource cannot send an Authorization header, so job progress
// is read from a streamed fetch body and parsed here, following the WHATWG event-stream rules.
import { errorFromResponse, toApiError } from './errors';

export interface SseMessage {
  /** 'message' when the stream named no event */
  event: string;
  data: string;
  id?: string;
  retry?: number;
}

/** Incremental parser: feed text chunks as they arrive, get whole messages back. */
export class SseParser {
  private buffer = '';
  private data: string[] = [];
  private event = '';
  private id: string | undefined;
  private retry: number | undefined;

  feed(chunk: string): SseMessage[] {
    this.buffer += chunk;
    const out: SseMessage[] = [];
    for (;;) {
      const nl = this.buffer.search(/\r\n|\r|\n/);
      if (nl < 0) break;
      // A lone \r at the very end may be the first half of \r\n: wait for the next chunk.
      if (this.buffer[nl] === '\r' && nl === this.buffer.length - 1) break;
      const width = this.buffer.startsWith('\r\n', nl) ? 2 : 1;
      const line = this.buffer.slice(0, nl);
      this.buffer = this.buffer.slice(nl + width);
      const msg = this.line(line);
      if (msg) out.push(msg);
    }
    return out;
  }

  /** End of stream: a message without its blank line is dropped, as the spec says. */
  end(): void {
    this.buffer = '';
    this.data = [];
    this.event = '';
  }

  private line(line: string): SseMessage | undefined {
    if (line === '') return this.dispatch();
    if (line.startsWith(':')) return undefined; // comment / heartbeat
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    switch (field) {
      case 'data':
        this.data.push(value);
        break;
      case 'event':
        this.event = value;
        break;
      case 'id':
        if (!value.includes('\0')) this.id = value;
        break;
      case 'retry':
        if (/^\d+$/.test(value)) this.retry = Number(value);
        break;
    }
    return undefined;
  }

  private dispatch(): SseMessage | undefined {
    if (this.data.length === 0) {
      this.event = '';
      return undefined;
    }
    const msg: SseMessage = { event: this.event || 'message', data: this.data.join('\n') };
    if (this.id !== undefined) msg.id = this.id;
    if (this.retry !== undefined) msg.retry = this.retry;
    this.data = [];
    this.event = '';
    return msg;
  }
}

/**
 * Open `url` and yield its events until the server closes the stream or `signal` aborts.
 * Non-2xx answers throw ApiError with the backend's message.
 */
export async function* streamSse(
  url: string,
  init: { headers?: Record<string, string>; signal?: AbortSignal; fetchImpl?: typeof fetch } = {},
): AsyncGenerator<SseMessage> {
  const doFetch = init.fetchImpl ?? fetch;
  let res: Response;
  try {
    res = await doFetch(url, { headers: { Accept: 'text/event-stream', ...init.headers }, signal: init.signal });
  } catch (err) {
    throw toApiError(err);
  }
  if (!res.ok || !res.body) {
    const text = await res.text().catch(() => '');
    throw errorFromResponse(res.status, res.headers, text);
  }
  const parser = new SseParser();
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
  try {
    for (;;) {
      let chunk: ReadableStreamReadResult<string>;
      try {
        chunk = await reader.read();
      } catch (err) {
        throw toApiError(err);
      }
      if (chunk.done) break;
      yield* parser.feed(chunk.value);
    }
    parser.end();
  } finally {
    reader.cancel().catch(() => undefined);
  }
}
