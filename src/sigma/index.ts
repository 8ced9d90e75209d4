/** Sigma rules for CloudTrail: loading and validation, compiled matchers with their prefilters, correlations. */
export * from './types';
export { fieldValue } from './field';
export { compileSigmaRule } from './compile';
export { parseSigma } from './parse';
export { loadSigma, SIGMAHQ_CLOUDTRAIL_PACK } from './load';
export { correlationFields, evaluateCorrelation } from './correlation';
