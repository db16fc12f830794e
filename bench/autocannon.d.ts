// autocannon ships no types; this is the part of its API the fallback load generator uses.
declare module 'autocannon' {
  type Request = {
    method: string;
    path: string;
    headers: Record<string, string>;
    /** Called before each request made from this entry; answers the request to send. */
    setupRequest?: (req: Request) => Request;
  };
  type Options = {
    url: string;
    connections: number;
    duration: number;
    timeout: number;
    requests: Request[];
  };
  type Result = {
    duration: number;
    requests: { total: number };
    latency: { p50: number; p90: number; p99: number };
    non2xx: number;
    errors: number;
    timeouts: number;
  };
  export default function autocannon(options: Options): Promise<Result>;
}
