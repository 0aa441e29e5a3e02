import autocannon from 'autocannon';

/** One load run against a URL: autocannon in this process, the server in another. */
export interface LoadResult {
  requests: number;
  requestsPerSec: number;
  p50: number;
  p99: number;
  non2xx: number;
  errors: number;
}

export async function load(url: string, body: string, options: { connections: number; durationSec: number; contentType?: string }): Promise<LoadResult> {
  const result = await autocannon({
    url,
    method: 'POST',
    connections: options.connections,
    duration: options.durationSec,
    headers: { 'content-type': options.contentType ?? 'application/vnd.kafka.json.v2+json' },
    body,
  });
  return {
    requests: result.requests.total,
    requestsPerSec: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    non2xx: result.non2xx,
    errors: result.errors,
  };
}
