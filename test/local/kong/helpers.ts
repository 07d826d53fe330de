import { afterEach, beforeEach } from 'vitest';
import { type KongDouble, startKongDouble } from '../../../local/kong/server.js';

export interface Answer {
  status: number;
  headers: Headers;
  // biome-ignore lint/suspicious/noExplicitAny: JSON bodies are inspected field by field in assertions
  body: any;
}

/** Starts a fresh double before each test of the file and closes it after. */
export function useKongDouble(options: Parameters<typeof startKongDouble>[0] = {}): () => KongDouble {
  let kong: KongDouble | undefined;
  beforeEach(async () => {
    kong = await startKongDouble(options);
  });
  afterEach(async () => {
    await kong?.close();
    kong = undefined;
  });
  return () => {
    if (!kong) throw new Error('the Kong double is not running');
    return kong;
  };
}

/** One Admin API call with a JSON body (when given); the answer's body parsed when it is JSON. */
export async function call(
  kong: KongDouble,
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<Answer> {
  const response = await fetch(`${kong.url}${path}`, {
    method,
    headers: body === undefined ? headers : { 'content-type': 'application/json', ...headers },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, headers: response.headers, body: text ? JSON.parse(text) : undefined };
}
