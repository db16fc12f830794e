// npm run openapi [-- --check]
// Writes the control API's OpenAPI document, as the worker serves it, to clients/typescript/openapi.json and
// the client's types generated from it to clients/typescript/src/schema.ts. With --check (CI) it writes
// nothing: it exits 1 when either committed file differs from what the served document gives, or when
// Redocly's `recommended` rules find any error or warning in the document.
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import {
  DOCUMENT_FILE,
  documentText,
  generatedTypes,
  lintDocument,
  servedDocument,
  TYPES_FILE,
} from './lib/openapi-document';

const check = process.argv.includes('--check');
const doc = await servedDocument();
const wanted = [
  { file: DOCUMENT_FILE, text: documentText(doc) },
  { file: TYPES_FILE, text: await generatedTypes(doc) },
];

let failed = false;
for (const { file, text } of wanted) {
  const name = path.relative(process.cwd(), file);
  if (!check) {
    await writeFile(file, text);
    console.log(`wrote ${name}`);
    continue;
  }
  const committed = await readFile(file, 'utf8').catch(() => '');
  if (committed !== text) {
    console.error(`${name} is out of date with the served document: run \`npm run openapi\` and commit it`);
    failed = true;
  }
}

const { totals, problems } = await lintDocument(DOCUMENT_FILE);
console.log(`redocly lint (recommended): ${totals.errors} errors, ${totals.warnings} warnings`);
if (totals.errors > 0 || totals.warnings > 0) {
  console.error(JSON.stringify(problems, null, 2));
  failed = true;
}
process.exit(failed ? 1 : 0);
