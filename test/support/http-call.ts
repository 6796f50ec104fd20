import { type IncomingHttpHeaders, request } from 'node:http';

/** Where the daemon's API listens: its Unix socket, or a TCP address. */
export type ApiTarget = { socketPath: string } | { host: string; port: number };

export interface HttpResult {
  status: number;
  headers: IncomingHttpHeaders;
  text: string;
  /** The body parsed as JSON, or undefined when it is not JSON. */
  json: unknown;
}

/**
 * One HTTP request to the API on a fresh connection (a reused keep-alive socket can be timed by the
 * server from its previous response). `tolerateReset`: a server that answers (413) and closes before
 * the whole body is written is not an error.
 */
export function httpCall(
  target: ApiTarget,
  method: string,
  path: string,
  opts: { body?: string | Buffer; headers?: Record<string, string>; tolerateReset?: boolean } = {},
): Promise<HttpResult> {
  return new Promise((resolve, reject) => {
    const req = request({ ...target, method, path, headers: opts.headers ?? {}, agent: false }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => {
        text += c;
      });
      res.on('end', () => {
        let json: unknown;
        try {
          json = JSON.parse(text);
        } catch {}
        resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json });
      });
    });
    req.on('error', (e: NodeJS.ErrnoException) =>
      opts.tolerateReset && (e.code === 'EPIPE' || e.code === 'ECONNRESET') ? null : reject(e),
    );
    req.end(opts.body);
  });
}
