// A minimal Chrome DevTools Protocol client over --remote-debugging-pipe, for benchmarks that must
// not enable what Playwright always enables. Playwright turns on the Network domain of every page:
// Chromium then copies each request body into a DevTools event (base64, on the renderer's main
// thread) and the client parses it. For the analysis queue that is 1.6 MB per call, on the same
// 2 cores as the backend being measured. A user's browser has no debugger attached.
import { spawn } from 'node:child_process';

export function launchChromium(executable, args) {
  const proc = spawn(executable, [...args, '--remote-debugging-pipe'], { stdio: ['ignore', 'ignore', 'ignore', 'pipe', 'pipe'] });
  const writer = proc.stdio[3];
  const reader = proc.stdio[4];
  let seq = 0;
  const pending = new Map();
  const waiters = new Set();
  let chunks = [];
  reader.on('data', (chunk) => {
    let start = 0;
    for (let i = chunk.indexOf(0); i !== -1; i = chunk.indexOf(0, start)) {
      chunks.push(chunk.subarray(start, i));
      const msg = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      chunks = [];
      start = i + 1;
      if (msg.id !== undefined) {
        const p = pending.get(msg.id);
        pending.delete(msg.id);
        if (msg.error) p?.reject(new Error(`${p.method}: ${msg.error.message}`));
        else p?.resolve(msg.result);
      } else for (const w of [...waiters]) w(msg);
    }
    if (start < chunk.length) chunks.push(chunk.subarray(start));
  });
  const exited = new Promise((resolve) => proc.on('exit', resolve));
  const send = (method, params = {}, sessionId) =>
    new Promise((resolve, reject) => {
      const id = ++seq;
      pending.set(id, { resolve, reject, method });
      writer.write(`${JSON.stringify({ id, method, params, ...(sessionId ? { sessionId } : {}) })}\0`);
    });
  /** resolves with the first event for which `match` is true */
  const waitFor = (match) =>
    new Promise((resolve) => {
      const w = (msg) => {
        if (match(msg)) {
          waiters.delete(w);
          resolve(msg);
        }
      };
      waiters.add(w);
    });

  /** A page in a fresh browser context (its own profile storage), with helpers. */
  async function newPage({ width, height, initScripts = [] }) {
    const { browserContextId } = await send('Target.createBrowserContext', { disposeOnDetach: true });
    const { targetId } = await send('Target.createTarget', { url: 'about:blank', browserContextId, width, height });
    const { sessionId } = await send('Target.attachToTarget', { targetId, flatten: true });
    const s = (method, params) => send(method, params, sessionId);
    await s('Page.enable');
    await s('Emulation.setDeviceMetricsOverride', { width, height, deviceScaleFactor: 1, mobile: false });
    for (const source of initScripts) await s('Page.addScriptToEvaluateOnNewDocument', { source });
    const evaluate = async (expression) => {
      const r = await s('Runtime.evaluate', { expression, awaitPromise: true, returnByValue: true });
      if (r.exceptionDetails) throw new Error(`in page: ${r.exceptionDetails.exception?.description ?? r.exceptionDetails.text}`);
      return r.result.value;
    };
    return {
      send: s,
      evaluate,
      /** polls `expression` (every 100 ms, in the page) until it is truthy; resolves true */
      async until(expression, timeoutMs = 120_000) {
        const v = await evaluate(`new Promise((ok, no) => { const end = Date.now() + ${timeoutMs}; const t = () => { const v = (${expression}); if (v) ok(true); else if (Date.now() > end) no(new Error('timed out: ' + ${JSON.stringify(expression)})); else setTimeout(t, 100); }; t(); })`);
        return v;
      },
      async goto(url) {
        const loaded = waitFor((m) => m.sessionId === sessionId && m.method === 'Page.loadEventFired');
        await s('Page.navigate', { url });
        await loaded;
      },
      async setFiles(selector, files) {
        const { root } = await s('DOM.getDocument', { depth: 0 });
        const { nodeId } = await s('DOM.querySelector', { nodeId: root.nodeId, selector });
        if (!nodeId) throw new Error(`no element for ${selector}`);
        await s('DOM.setFileInputFiles', { nodeId, files });
      },
      async press(key, code, keyCode, modifiers = 0) {
        for (const type of ['keyDown', 'keyUp']) await s('Input.dispatchKeyEvent', { type, key, code, windowsVirtualKeyCode: keyCode, modifiers });
      },
      close: () => send('Target.disposeBrowserContext', { browserContextId }),
    };
  }

  return {
    send,
    newPage,
    async close() {
      await send('Browser.close').catch(() => undefined);
      await Promise.race([exited, new Promise((r) => setTimeout(r, 3000))]);
      proc.kill('SIGKILL');
    },
  };
}
