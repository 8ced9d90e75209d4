export { planPartitions } from './plan';
export { scanPartition } from './scan-partition';
export { correlate, storeFindings, cleanupScratch } from './correlate';
