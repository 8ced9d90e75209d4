export { DailyScanWorkflow } from './daily-scan';
export { LookupEventsPartitionWorkflow, ScanBatchWorkflow, ScanShardWorkflow } from './scan-batch';
export { RangeScanWorkflow } from './range-scan';
export { ScheduledScanWorkflow } from './scheduled-scan';
export { IncidentWorkflow } from './incident';
export { NotificationWorkflow } from './notification';
export { WatchWorkflow } from './watch';
