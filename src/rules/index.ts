import { ssmCommandExecution } from './ssm-command-execution';
import { ssmOutputToForeignBucket } from './ssm-output-to-foreign-bucket';
import type { Rule, SelectedEvent } from './types';

export { ssmCommandExecution } from './ssm-command-execution';
export { ssmOutputToForeignBucket } from './ssm-output-to-foreign-bucket';
export type { SsmCommandExecutionOptions, SsmCommandExecutionSelected } from './ssm-command-execution';
export type {
  SsmOutputToForeignBucketOptions,
  SsmOutputToForeignBucketSelected,
  SsmCommandSelected,
  ForeignPutSelected,
} from './ssm-output-to-foreign-bucket';

/**
 * A rule whose options and selected events are only known at run time. Pass each rule only options
 * produced by its own `optionsSchema` and events produced by its own `select`.
 */
export type AnyRule = Rule<unknown, SelectedEvent>;

/** Every detection, rule 1 first. */
export const RULES: readonly AnyRule[] = [ssmCommandExecution, ssmOutputToForeignBucket];

/** The rule with this id, or undefined. */
export function ruleById(id: string): AnyRule | undefined {
  return RULES.find((rule) => rule.id === id);
}
