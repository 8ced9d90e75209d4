export { DailyScanWorkflow } from './daily-scan';
export { RangeScanWorkflow } from './range-scan';
export { ScheduledScanWorkflow } from './scheduled-scan';
