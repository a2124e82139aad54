// "Test connection": one probe per kind of endpoint, answering in words.
import { describeError, getStatus, listModels, providerModels, type Provider } from '@/lib/api';

export interface ConnectionResult {
  ok: boolean;
  message: string;
}

export async function testBackend(): Promise<ConnectionResult> {
  try {
    const models = await listModels();
    let device = '';
    try {
      const s = await getStatus();
      device = ` · ${s.device.name ?? s.device.type}${s.version ? ` · v${s.version}` : ''}`;
    } catch {
      // /v1/status is optional for "is it there"
    }
    const gen = models.filter((m) => m.type === 'generation').length;
    const vis = models.filter((m) => m.type === 'vision').length;
    return { ok: true, message: `Connected: ${gen} generation and ${vis} vision models${device}` };
  } catch (err) {
    return { ok: false, message: describeError(err) };
  }
}

export async function testProvider(p: Provider): Promise<ConnectionResult> {
  if (!/^https?:\/\//.test(p.baseUrl)) return { ok: false, message: 'The base URL must start with http:// or https:// (for example http://192.168.1.5:11434/v1).' };
  try {
    const ids = await providerModels(p);
    const has = !p.model || ids.includes(p.model);
    return {
      ok: has,
      message: has ? `Connected: ${ids.length} model${ids.length === 1 ? '' : 's'}${p.model ? `, ${p.model} available` : ''}` : `Connected, but "${p.model}" is not among its models: ${ids.slice(0, 8).join(', ')}${ids.length > 8 ? '…' : ''}`,
    };
  } catch (err) {
    return { ok: false, message: describeError(err) };
  }
}
