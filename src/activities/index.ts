export { planPartitions } from './plan';
export { scanPartition } from './scan-partition';
export { lookupEventsPartition } from './lookup-events-partition';
export { correlate, gatherSelected, storeFindings, cleanupScratch } from './correlate';
export { routeFindings, deliverNotification } from './incidents';
export { findingsTable } from './findings-table';
