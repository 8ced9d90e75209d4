export { DailyScanWorkflow } from './daily-scan';
