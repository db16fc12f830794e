// What the echo upstream answers. Kept apart from echo-upstream.ts (a Node module) so worker tests can
// import the type without pulling Node's types into the Workers program.
export type EchoAnswer = {
  upstream: string;
  method: string;
  path: string;
  headers: Record<string, string | string[] | undefined>;
  body_bytes: number;
  body_sha256: string;
};
