// The house's import rules (docs/architecture.md), checked in CI: every arrow points down, none runs in a
// circle. Reads each import, export-from and import() of src/ with the TypeScript parser and exits 1 with
// one line per violation (file:line, the rule it breaks, the import); `npm run check:imports`.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import ts from 'typescript';

/**
 * Each room's floor, ground first. A file may import its own floor and those below; the rules in `RULES`
 * narrow that further. A top-level file of src/ is a room of its own.
 */
const FLOORS: Record<string, number> = {
  core: 0,
  db: 1,
  // What both apps share: the context types, the error type, the request's database, the front door.
  'env.ts': 2,
  'errors.ts': 2,
  'request-database.ts': 2,
  'front-door.ts': 2,
  gate: 3,
  hooks: 3,
  usage: 3,
  tenancy: 4,
  edge: 4,
  control: 5,
  'app.ts': 6,
  'index.ts': 7,
};

const EDGE_ENTRY = 'edge/index.ts';
const HTTP_PACKAGE = /^(hono(\/.*)?|@hono\/.*)$/;

export type Import = {
  /** Path of the importing file, relative to src/. */
  file: string;
  line: number;
  specifier: string;
  /** Path of the imported file relative to src/, or null for a package or a file outside src/. */
  target: string | null;
};

export type Violation = { file: string; line: number; rule: string; detail: string };

/** The room a file of src/ belongs to: its folder, or the file itself at the top. */
export function roomOf(file: string): string {
  return file.split('/')[0];
}

type Rule = { name: string; broken: (i: Import) => boolean };

const inRoom = (file: string | null, room: string) => file !== null && roomOf(file) === room;

/** In order: an import is reported under the first rule it breaks. */
const RULES: Rule[] = [
  {
    name: 'unresolved import: a relative import must name a file of src/',
    broken: (i) => i.specifier.startsWith('.') && i.target === null,
  },
  { name: 'nothing imports the worker entry (src/index.ts)', broken: (i) => i.target === 'index.ts' },
  {
    name: 'core imports only core (no package, nothing else of src/)',
    broken: (i) => inRoom(i.file, 'core') && !inRoom(i.target, 'core'),
  },
  {
    name: 'db knows no HTTP: no hono, nothing of src/ outside db and core',
    broken: (i) =>
      inRoom(i.file, 'db') &&
      (HTTP_PACKAGE.test(i.specifier) ||
        (i.target !== null && !inRoom(i.target, 'db') && !inRoom(i.target, 'core'))),
  },
  {
    name: 'edge never imports control',
    broken: (i) => inRoom(i.file, 'edge') && inRoom(i.target, 'control'),
  },
  {
    name: 'tenancy imports neither control nor edge',
    broken: (i) => inRoom(i.file, 'tenancy') && (inRoom(i.target, 'control') || inRoom(i.target, 'edge')),
  },
  {
    name: `control enters the edge only by its entry, src/${EDGE_ENTRY}`,
    broken: (i) => inRoom(i.file, 'control') && inRoom(i.target, 'edge') && i.target !== EDGE_ENTRY,
  },
  {
    name: 'arrows point down: no import of a higher floor',
    broken: (i) => i.target !== null && FLOORS[roomOf(i.target)] > FLOORS[roomOf(i.file)],
  },
];

function sourceFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(full);
    return /\.tsx?$/.test(entry.name) && !entry.name.endsWith('.d.ts') ? [full] : [];
  });
}

function resolveRelative(src: string, from: string, specifier: string): string | null {
  const base = path.resolve(path.dirname(from), specifier);
  const candidates = [
    base,
    `${base}.ts`,
    `${base}.tsx`,
    path.join(base, 'index.ts'),
    path.join(base, 'index.tsx'),
  ];
  const found = candidates.find((c) => fs.existsSync(c) && fs.statSync(c).isFile());
  if (!found) return null;
  const relative = path.relative(src, found).split(path.sep).join('/');
  return relative.startsWith('..') ? null : relative;
}

/** Every import of one file: declarations, export-from, import() and import types alike. */
function importsOf(src: string, file: string): Import[] {
  const text = fs.readFileSync(file, 'utf8');
  const kind = file.endsWith('.tsx') ? ts.ScriptKind.TSX : ts.ScriptKind.TS;
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true, kind);
  const found: Import[] = [];
  const relativeFile = path.relative(src, file).split(path.sep).join('/');
  const visit = (node: ts.Node) => {
    let literal: ts.Node | undefined;
    if ((ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) && node.moduleSpecifier) {
      literal = node.moduleSpecifier;
    } else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword) {
      literal = node.arguments[0];
    } else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument)) {
      literal = node.argument.literal;
    }
    if (literal && ts.isStringLiteralLike(literal)) {
      const specifier = literal.text;
      found.push({
        file: relativeFile,
        line: source.getLineAndCharacterOfPosition(literal.getStart()).line + 1,
        specifier,
        target: specifier.startsWith('.') ? resolveRelative(src, file, specifier) : null,
      });
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

/** One circle per group of files that import each other (Tarjan's strongly connected components). */
function findCycles(files: string[], imports: Import[]): Violation[] {
  const edges = new Map<string, Import[]>(files.map((f) => [f, []]));
  for (const i of imports) if (i.target !== null) edges.get(i.file)?.push(i);
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const groups: string[][] = [];
  const connect = (file: string) => {
    index.set(file, index.size);
    low.set(file, index.get(file)!);
    stack.push(file);
    onStack.add(file);
    for (const { target } of edges.get(file) ?? []) {
      if (target === null || !edges.has(target)) continue;
      if (!index.has(target)) {
        connect(target);
        low.set(file, Math.min(low.get(file)!, low.get(target)!));
      } else if (onStack.has(target)) {
        low.set(file, Math.min(low.get(file)!, index.get(target)!));
      }
    }
    if (low.get(file) !== index.get(file)) return;
    const group: string[] = [];
    let member: string;
    do {
      member = stack.pop()!;
      onStack.delete(member);
      group.push(member);
    } while (member !== file);
    const selfImport = (edges.get(file) ?? []).some((i) => i.target === file);
    if (group.length > 1 || selfImport) groups.push(group);
  };
  for (const file of files) if (!index.has(file)) connect(file);

  return groups.map((group) => {
    // Walk inside the group from its first file until a file comes round again: that walk is the circle.
    const members = new Set(group);
    const start = [...group].sort()[0];
    const walk = [start];
    const lines: number[] = [];
    for (let at = start; ; ) {
      const next = (edges.get(at) ?? []).find((i) => i.target !== null && members.has(i.target))!;
      lines.push(next.line);
      at = next.target!;
      const seen = walk.indexOf(at);
      if (seen !== -1) {
        const circle = [...walk.slice(seen), at];
        return {
          file: walk[seen],
          line: lines[seen],
          rule: 'no import circles',
          detail: `${circle.join(' -> ')} (${group.length} files tied)`,
        };
      }
      walk.push(at);
    }
  });
}

export function checkImports(src: string): { files: number; imports: number; violations: Violation[] } {
  const files = sourceFiles(src);
  const relativeFiles = files.map((f) => path.relative(src, f).split(path.sep).join('/'));
  const imports = files.flatMap((f) => importsOf(src, f));
  const violations: Violation[] = [];
  for (const file of relativeFiles) {
    if (FLOORS[roomOf(file)] === undefined) {
      violations.push({
        file,
        line: 1,
        rule: 'every file stands in a known room (add its room to FLOORS in scripts/check-imports.ts)',
        detail: `room '${roomOf(file)}'`,
      });
    }
  }
  for (const i of imports) {
    const rule = RULES.find((r) => r.broken(i));
    if (rule) {
      const to = i.target ? `src/${i.target}` : `'${i.specifier}'`;
      violations.push({ file: i.file, line: i.line, rule: rule.name, detail: `imports ${to}` });
    }
  }
  violations.push(...findCycles(relativeFiles, imports));
  return { files: files.length, imports: imports.length, violations };
}

function main() {
  const src = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'src');
  const { files, imports, violations } = checkImports(src);
  if (violations.length === 0) {
    console.log(`import rules: ${files} files, ${imports} imports, no violations, no circles`);
    return;
  }
  console.error(`import rules: ${violations.length} violation(s)`);
  for (const v of violations) console.error(`src/${v.file}:${v.line}  ${v.rule}: ${v.detail}`);
  process.exitCode = 1;
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) main();
