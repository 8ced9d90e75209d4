/**
 * A failure's root cause, for workflow code and the CLI alike: pure (only @temporalio/common's failure
 * classes, which @temporalio/workflow and @temporalio/client re-export), so the workflow bundle takes it.
 */
import { ActivityFailure, ApplicationFailure, CancelledFailure, ChildWorkflowFailure, TerminatedFailure, TimeoutFailure } from '@temporalio/common';

/** The error type of a source that retrying cannot help (src/sources/errors.ts), named in the workflows' retry policies. */
export const PERMANENT_SOURCE_ERROR = 'PermanentSourceError';

export interface FailureRoot {
  /** the steps the failure passed through, outermost first ("child scan-2026-11-02", "activity planScan") */
  steps: string[];
  /** the innermost failure: an application failure, a timeout, a cancellation, a termination, or the last error of the chain */
  root: unknown;
}

/** Follows a failure's cause chain (workflow → child workflow → activity → application failure) to its root. */
export function failureRoot(error: unknown): FailureRoot {
  const steps: string[] = [];
  let current = error;
  for (let depth = 0; depth < 20; depth++) {
    if (current instanceof ChildWorkflowFailure) steps.push(`child ${current.execution?.workflowId ?? current.workflowType}`);
    else if (current instanceof ActivityFailure) steps.push(`activity ${current.activityType}`);
    // an application failure, timeout, cancellation or termination is the root: its cause is only detail
    else if (
      current instanceof ApplicationFailure ||
      current instanceof TimeoutFailure ||
      current instanceof CancelledFailure ||
      current instanceof TerminatedFailure
    )
      break;
    const next = (current as Error | undefined)?.cause;
    if (!(next instanceof Error)) break;
    current = next;
  }
  return { steps, root: current };
}

/** The root cause's own message (what a scan records for a failed partition, batch or day). */
export function failureMessage(error: unknown): string {
  const { root } = failureRoot(error);
  return root instanceof Error ? root.message : String(root);
}
