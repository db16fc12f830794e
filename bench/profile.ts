// Where the gateway's CPU goes: a V8 CPU profile taken through workerd's inspector while load runs, its
// samples attributed to the bundled module they fall in (esbuild marks each with a `// path` line).
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import WebSocket from 'ws';

type CallFrame = { functionName: string; url: string; lineNumber: number };
type Profile = { nodes: { id: number; callFrame: CallFrame }[]; samples: number[]; timeDeltas: number[] };
export type ProfileShare = { part: string; percent: number };

const MODULE_MARK = /^\/\/ ((?:src|node_modules)\/\S+\.(?:m?js|ts))$/;

/** The bundle's module boundaries: [first line (0-based), module], in order. */
async function moduleLines(bundlePath: string): Promise<[number, string][]> {
  const lines = (await readFile(bundlePath, 'utf8')).split('\n');
  const marks: [number, string][] = [];
  lines.forEach((line, i) => {
    const match = MODULE_MARK.exec(line);
    if (match) marks.push([i, match[1]]);
  });
  return marks;
}

/** `node_modules/hono/dist/…` → `hono`; `src/edge/x.ts` stays as it is. */
function part(module: string): string {
  const pkg = /^node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(module);
  return pkg ? pkg[1] : module;
}

function send(ws: WebSocket, id: number, method: string, params: object = {}): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const onMessage = (data: WebSocket.RawData) => {
      const message = JSON.parse(data.toString()) as { id?: number; result?: unknown; error?: unknown };
      if (message.id !== id) return;
      ws.off('message', onMessage);
      if (message.error) reject(new Error(`${method}: ${JSON.stringify(message.error)}`));
      else resolve(message.result);
    };
    ws.on('message', onMessage);
    ws.send(JSON.stringify({ id, method, params }));
  });
}

/**
 * Profiles the worker named `worker` while `work` runs; answers the top parts by share of busy samples and
 * keeps the raw profile in `saveAs` (opens in Chrome DevTools).
 */
export async function profileWhile(
  inspectorPort: number,
  worker: string,
  bundlePath: string,
  saveAs: string,
  work: () => Promise<unknown>,
): Promise<ProfileShare[]> {
  const targets = (await (await fetch(`http://127.0.0.1:${inspectorPort}/json/list`)).json()) as {
    id: string;
    title: string;
    webSocketDebuggerUrl: string;
  }[];
  const target = targets.find((t) => t.title.includes(worker) || t.id.includes(worker)) ?? targets[0];
  if (!target) throw new Error('workerd offers no inspector target');
  const ws = new WebSocket(target.webSocketDebuggerUrl);
  await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
  try {
    await send(ws, 1, 'Profiler.enable');
    await send(ws, 2, 'Profiler.setSamplingInterval', { interval: 200 });
    await send(ws, 3, 'Profiler.start');
    await work();
    const { profile } = (await send(ws, 4, 'Profiler.stop')) as { profile: Profile };
    await writeFile(saveAs, JSON.stringify(profile));
    return attribute(profile, await moduleLines(bundlePath), path.basename(bundlePath));
  } finally {
    ws.close();
  }
}

function attribute(profile: Profile, marks: [number, string][], bundleName: string): ProfileShare[] {
  const nodePart = new Map<number, string>();
  for (const { id, callFrame } of profile.nodes) {
    let name = callFrame.functionName.startsWith('(') ? callFrame.functionName : '(runtime, native)';
    if (callFrame.url.endsWith(bundleName)) {
      const mark = marks.findLast(([line]) => line <= callFrame.lineNumber);
      name = mark ? part(mark[1]) : '(worker entry)';
    } else if (callFrame.url) {
      // workerd's own JavaScript, such as node-internal:internal_buffer for nodejs_compat.
      name = callFrame.url;
    }
    nodePart.set(id, name);
  }
  const time = new Map<string, number>();
  profile.samples.forEach((id, i) => {
    const name = nodePart.get(id) ?? '?';
    time.set(name, (time.get(name) ?? 0) + (profile.timeDeltas[i] ?? 0));
  });
  time.delete('(idle)');
  const busy = [...time.values()].reduce((a, b) => a + b, 0);
  return [...time.entries()]
    .map(([name, t]) => ({ part: name, percent: (t / busy) * 100 }))
    .sort((a, b) => b.percent - a.percent);
}
