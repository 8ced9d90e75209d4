import { ApplicationFailure } from '@temporalio/activity';
import { PERMANENT_SOURCE_ERROR } from '../common/failure';
import { PermanentSourceError } from '../sources/errors';

/** A failure retrying cannot help: non-retryable, of the type the workflows' retry policies name too. */
export function permanentFailure(message: string): ApplicationFailure {
  return ApplicationFailure.nonRetryable(message, PERMANENT_SOURCE_ERROR);
}

/** What an activity throws for a source's error: a PermanentSourceError as a permanent failure, others as they are. */
export function activityError(error: unknown): unknown {
  return error instanceof PermanentSourceError ? permanentFailure(error.message) : error;
}
