// Guards our released opi_ext packages against incompatible changes.
//
// Usage:
//   node scripts/opi-ext.mjs --check     fail if opi_ext breaks the committed release image
//                                        or fails buf lint (STANDARD)
//   node scripts/opi-ext.mjs --release   record the current opi_ext as the released image
//                                        (only when cutting a release; commit the result)
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import {
  buildOpiExtImage,
  opiExtBreakingChanges,
  opiExtLintFindings,
  opiExtReleaseImage,
} from './buf-workspace.mjs';

const [mode] = process.argv.slice(2);
if (mode === '--release') {
  mkdirSync(dirname(opiExtReleaseImage), { recursive: true });
  buildOpiExtImage(opiExtReleaseImage);
  console.log(`wrote ${opiExtReleaseImage}`);
} else if (mode === '--check') {
  const findings = opiExtBreakingChanges();
  if (findings.length > 0) {
    console.error('opi_ext changed incompatibly with its release:');
    for (const f of findings) console.error(`  ${f}`);
    process.exit(1);
  }
  const lint = opiExtLintFindings();
  if (lint.length > 0) {
    console.error('opi_ext does not pass buf lint (STANDARD):');
    for (const f of lint) console.error(`  ${f}`);
    process.exit(1);
  }
  console.log('opi_ext is compatible with its released image and lint-clean');
} else {
  console.error('usage: opi-ext.mjs --check | --release');
  process.exit(2);
}
