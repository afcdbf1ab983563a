#!/usr/bin/env node
import { enableCompileCache } from 'node:module';

// Cache the type-stripped, compiled modules (os.tmpdir()): start-up 0.4 → 0.25 s and ~20 MB less RSS per run.
enableCompileCache();
// `reprod diff` loads only what it needs (see diff-main.ts); everything else goes through the full program.
process.exitCode = process.argv[2] === 'diff' ? await (await import('./diff-main.ts')).mainDiff(process.argv) : await (await import('./program.ts')).main(process.argv);
