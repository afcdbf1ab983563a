#!/usr/bin/env node
// `reprod diff` loads only what it needs (see diff-main.ts); everything else goes through the full program.
process.exitCode = process.argv[2] === 'diff' ? await (await import('./diff-main.ts')).mainDiff(process.argv) : await (await import('./program.ts')).main(process.argv);
