/**
 * Writes the generated tables of PROTOCOL.md (between its GENERATED markers)
 * from the schemas and constants they describe. test/protocol-doc.test.ts fails
 * when the file is out of date.
 *
 *   npm run protocol-doc            rewrite PROTOCOL.md
 *   npm run protocol-doc -- --check exit 1 if it is out of date
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { fillSections, renderSections } from './protocol-doc/sections.ts';

const FILE = 'PROTOCOL.md';
const current = readFileSync(FILE, 'utf8');
const updated = fillSections(current, renderSections());
if (updated === current) {
  console.log(`${FILE} is up to date.`);
} else if (process.argv.includes('--check')) {
  console.error(`${FILE} is out of date: run "npm run protocol-doc" and commit the result.`);
  process.exitCode = 1;
} else {
  writeFileSync(FILE, updated);
  console.log(`${FILE} updated.`);
}
