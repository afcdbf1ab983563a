import { container } from './container/index.ts';
import { npm } from './npm/index.ts';
import { debian } from './debian/index.ts';
import type { Rebuilder } from '../src/plan/rebuilder.ts';

/** Every rebuilder reprod knows, in the order DESIGN.md section 4 lists them. */
export const REBUILDERS: readonly Rebuilder[] = [container, npm, debian];
