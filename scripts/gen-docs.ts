// Refreshes the generated tables in docs/protocol.md. Usage: npx tsx scripts/gen-docs.ts
import { readFileSync, writeFileSync } from 'node:fs';
import { refreshGenerated } from './protocol-doc-tables.js';

const path = 'docs/protocol.md';
writeFileSync(path, refreshGenerated(readFileSync(path, 'utf8')));
console.log(`refreshed the generated tables in ${path}`);
