import { fileURLToPath } from 'node:url';
import { goldenPlanTests } from '../../test/support/golden.ts';
import { container } from './index.ts';

goldenPlanTests(container, fileURLToPath(new URL('testdata/', import.meta.url)));
