import type { Subject } from '../attest/types.ts';

/** Three outcomes, never blurred (DESIGN.md section 1). */
export type Outcome = 'reproduced' | 'not-reproduced' | 'error';

export interface SubjectVerdict {
  subject: Subject;
  outcome: Outcome;
  rebuiltSha256?: string;
  /** Set when outcome is `error`. */
  error?: { code: string; message: string };
}
