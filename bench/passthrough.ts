// The baseline: a worker that fetches the upstream and returns its answer, nothing else. Same runtime, same
// bundler and same compatibility date as the gateway, so the difference between the two is the gateway.
type PassthroughEnv = { UPSTREAM_URL: string };

export default {
  fetch(request: Request, env: PassthroughEnv): Promise<Response> {
    const url = new URL(request.url);
    return fetch(env.UPSTREAM_URL + url.pathname + url.search, {
      method: request.method,
      headers: request.headers,
      body: request.body,
      redirect: 'manual',
    });
  },
};
