/** Training: the Hodas & Stinis trainer and the DVCNN trainer over one run-directory format and metrics row. */
export * from './hodas-stinis-config.js';
export { trainRun, withLoadTimeout, LOAD_TIMEOUT_S, type TrainHooks, type TrainResult } from './hodas-stinis.js';
export * from './dvcnn-config.js';
export { trainDvcnn, layerStats, type DvcnnTrainOptions, type DvcnnTrainResult, type LayerStats, TrainingStopped } from './dvcnn.js';
export { METRIC_COLUMNS, DVCNN_METRIC_COLUMNS, type MetricsRow, readMetrics } from './metrics.js';
export { RunDir, prepareRunDir } from './rundir.js';
