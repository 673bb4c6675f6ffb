// Bearer-token check for every /v1 route. The comparison runs in constant time over SHA-256
// digests, so neither the key's content nor its length leaks through response timing.
import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import { ApiError } from './errors';

export function bearerCheck(apiKey: string): (request: FastifyRequest) => void {
  const want = createHash('sha256').update(apiKey, 'utf8').digest();
  return (request) => {
    const header = request.headers.authorization;
    const m = typeof header === 'string' ? /^Bearer[ ]+(.+)$/i.exec(header.trim()) : null;
    const given = createHash('sha256').update(m ? m[1]! : '', 'utf8').digest();
    // Both branches do the same work: a missing header costs as much as a wrong key.
    const ok = timingSafeEqual(given, want) && m !== null;
    if (!ok) {
      throw new ApiError(401, m ? 'Incorrect API key provided' : 'Missing API key: send Authorization: Bearer <key>',
        { code: 'invalid_api_key', headers: { 'www-authenticate': 'Bearer' } });
    }
  };
}

/** Routes open without a key: the health check and the playground's static files (the page asks for the key). */
export function needsKey(url: string): boolean {
  const path = url.split('?')[0]!;
  return path.startsWith('/v1/') || path === '/v1';
}
