// A simulated provider cost endpoint for `tagspend trueup fetch`: serves recorded-shape pages
// (test/helpers/bills.ts) at OpenAI's or Anthropic's path, one per `page` cursor, checks the
// admin key the way the provider does, and can answer an error on a chosen page.
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface BillingApiRequest {
  path: string;
  query: URLSearchParams;
  headers: IncomingHttpHeaders;
}

export interface BillingApi {
  /** The API root to configure as trueup.<provider>.base_url. */
  baseUrl: string;
  readonly requests: BillingApiRequest[];
  /** From now on, page index `page` (0-based) answers `status` with this body. */
  failPage(page: number, status: number, body: object, headers?: Record<string, string>): void;
  close(): Promise<void>;
}

export interface BillingApiOptions {
  provider: 'openai' | 'anthropic';
  adminKey: string;
  /** Page bodies in order; the server sets has_more/next_page to chain them. */
  pages: object[];
}

export async function startBillingApi(opts: BillingApiOptions): Promise<BillingApi> {
  const requests: BillingApiRequest[] = [];
  const failures = new Map<number, { status: number; body: object; headers: Record<string, string> }>();
  const path = opts.provider === 'openai' ? '/v1/organization/costs' : '/v1/organizations/cost_report';
  const cursor = (i: number): string => `page_${Buffer.from(`cursor-${i}`).toString('base64')}`;
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    requests.push({ path: url.pathname, query: url.searchParams, headers: req.headers });
    const send = (status: number, body: object, headers: Record<string, string> = {}): void => {
      res.writeHead(status, { 'content-type': 'application/json', ...headers });
      res.end(JSON.stringify(body, null, 2));
    };
    const authorized = opts.provider === 'openai' ? req.headers.authorization === `Bearer ${opts.adminKey}` : req.headers['x-api-key'] === opts.adminKey && req.headers['anthropic-version'] === '2023-06-01';
    if (!authorized) {
      return opts.provider === 'openai'
        ? send(401, { error: { message: 'Incorrect API key provided.', type: 'invalid_request_error', param: null, code: 'invalid_api_key' } })
        : send(401, { type: 'error', error: { type: 'authentication_error', message: 'invalid x-api-key' } });
    }
    if (url.pathname !== path) return send(404, { error: { message: `no route ${url.pathname}` } });
    const page = url.searchParams.get('page');
    const index = page === null ? 0 : opts.pages.findIndex((_, i) => cursor(i) === page);
    if (index < 0) return send(400, { error: { message: `unknown page ${page}` } });
    const failure = failures.get(index);
    if (failure) return send(failure.status, failure.body, failure.headers);
    const more = index + 1 < opts.pages.length;
    send(200, { ...opts.pages[index], has_more: more, next_page: more ? cursor(index + 1) : null });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    baseUrl: `http://127.0.0.1:${port}/v1`,
    requests,
    failPage(page, status, body, headers = {}) {
      failures.set(page, { status, body, headers });
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((err) => (err ? reject(err) : resolve()));
      }),
  };
}
