// Refreshes the generated name tables in tools/wireshark/mcubus.lua. Usage: npx tsx scripts/gen-wireshark.ts
import { readFileSync, writeFileSync } from 'node:fs';
import { refreshLuaTables } from './wireshark-tables.js';

const path = 'tools/wireshark/mcubus.lua';
writeFileSync(path, refreshLuaTables(readFileSync(path, 'utf8')));
console.log(`refreshed the generated tables in ${path}`);
