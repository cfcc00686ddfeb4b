// The HTTP API of `tamsa serve`: one function per endpoint, errors as ApiError.
// Paths are relative to the page, so the UI also works behind a reverse proxy's prefix.

/** An error answered by the API (`{"error": {code, message, path}}`) or a failed request. */
export class ApiError extends Error {
  constructor(status, code, message, path = null) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
    this.path = path;
  }
}

async function failure(response) {
  let body = null;
  try {
    body = await response.json();
  } catch {
    // Not JSON (a proxy's page, an empty body): fall back to the status line.
  }
  const err = body && body.error;
  if (err && typeof err.message === 'string') {
    return new ApiError(response.status, err.code || 'error', err.message, err.path ?? null);
  }
  return new ApiError(response.status, 'http', `HTTP ${response.status} ${response.statusText}`.trim());
}

async function send(method, url, { body, signal, token } = {}) {
  const headers = { Accept: 'application/json' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (token) headers.Authorization = `Bearer ${token}`;
  let response;
  try {
    response = await fetch(url, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      signal,
    });
  } catch (e) {
    if (e.name === 'AbortError') throw e;
    throw new ApiError(0, 'network', e.message);
  }
  if (!response.ok) throw await failure(response);
  return response;
}

async function json(method, url, options) {
  const response = await send(method, url, options);
  return response.status === 204 ? null : response.json();
}

export const api = {
  fields: () => json('GET', 'api/fields'),
  search: (q, signal) =>
    json('GET', `api/conditions/search?q=${encodeURIComponent(q)}&limit=20`, { signal }),
  query: (node, signal) => json('POST', 'api/query', { body: node, signal }),
  overlap: (segments) => json('POST', 'api/overlap', { body: { segments } }),
  segments: () => json('GET', 'api/segments'),
  segment: (id) => json('GET', `api/segments/${id}`),
  createSegment: (segment) => json('POST', 'api/segments', { body: segment }),
  updateSegment: (id, patch) => json('PUT', `api/segments/${id}`, { body: patch }),
  deleteSegment: (id) => json('DELETE', `api/segments/${id}`),

  /** Downloads a segment's export as a Blob (the endpoint needs a bearer token). */
  async exportSegment(id, { columns, consent, bom }, token) {
    const params = new URLSearchParams({ format: 'csv' });
    if (columns.length) params.set('columns', columns.join(','));
    if (consent) params.set('consent', consent);
    if (bom) params.set('bom', 'true');
    const response = await send('GET', `api/segments/${id}/export?${params}`, { token });
    return response.blob();
  },
};
