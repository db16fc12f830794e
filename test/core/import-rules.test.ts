// scripts/check-imports.ts, the import rules CI holds the house to: the real src/ keeps them, and a tree
// that breaks each one is caught, file and line.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, test } from 'vitest';
import { checkImports } from '../../scripts/check-imports';

const SRC = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../src');
const trees: string[] = [];

/** A throwaway src/ tree: file path → contents. */
function tree(files: Record<string, string>): string {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'import-rules-'));
  trees.push(root);
  for (const [file, text] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(root, file)), { recursive: true });
    fs.writeFileSync(path.join(root, file), text);
  }
  return root;
}

afterAll(() => {
  for (const root of trees) fs.rmSync(root, { recursive: true, force: true });
});

describe('the import rules', () => {
  test('src/ keeps them all', () => {
    const { files, violations } = checkImports(SRC);
    expect(files).toBeGreaterThan(50);
    expect(violations).toEqual([]);
  });

  test('each broken rule is reported at its import, under its own name', () => {
    const root = tree({
      'index.ts': "import { createApp } from './app';\n",
      'app.ts': 'export function createApp() {}\n',
      'env.ts': 'export type AppEnv = { Bindings: object };\n',
      'core/a.ts': "import type { Context } from 'hono';\nimport { b } from './b';\n",
      'core/b.ts': "import './a';\nexport const b = 1;\n",
      'db/client.ts': "import type { AppEnv } from '../env';\n",
      'edge/index.ts': "export * from './handle';\n",
      'edge/handle.ts': "import { routes } from '../control/routes';\n",
      'control/routes.ts': "import { decide } from '../edge/handle';\nimport { x } from './missing';\n",
      'tenancy/keys.ts': "import { entry } from '../index';\n",
      'gate/gate.ts': "import { routes } from '../control/routes';\n",
      'stray/file.ts': 'export {};\n',
    });
    const found = checkImports(root).violations.map((v) => `${v.file}:${v.line} ${v.rule.split(':')[0]}`);
    expect(found).toEqual(
      expect.arrayContaining([
        'stray/file.ts:1 every file stands in a known room (add its room to FLOORS in scripts/check-imports.ts)',
        'core/a.ts:1 core imports only core (no package, nothing else of src/)',
        'db/client.ts:1 db knows no HTTP',
        'edge/handle.ts:1 edge never imports control',
        'control/routes.ts:1 control enters the edge only by its entry, src/edge/index.ts',
        'control/routes.ts:2 unresolved import',
        'tenancy/keys.ts:1 nothing imports the worker entry (src/index.ts)',
        'gate/gate.ts:1 arrows point down',
        'core/a.ts:2 no import circles',
        'control/routes.ts:1 no import circles',
      ]),
    );
  });
});
