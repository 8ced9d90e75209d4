import type { CorrelationMatch, SigmaCorrelation, SigmaEvent } from './types';

export function correlationFields(_correlation: SigmaCorrelation): Record<string, string[]> {
  return {};
}

export function evaluateCorrelation(_correlation: SigmaCorrelation, _events: SigmaEvent[]): CorrelationMatch[] {
  return [];
}
