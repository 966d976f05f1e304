/** The library's public surface. */
export * from './errors.js';
export { readNpy, parseNpy, writeNpy, formatNpy, type NpyArray } from './npy/index.js';
export {
  mutualInformation, conditionalMutualInformation, entropy, MIEstimator, type MIOptions, type MIResult, type ConditionalMIResult,
  type EntropyResult, type EstimatorName, type SeveralKOptions, type MatrixInput,
} from './mi/index.js';
export { permutationTest, type PermutationOptions, type PermutationResult, type NullDistribution } from './mi/permutation.js';
export { errorBars, type ErrorBarOptions, type ErrorBarsResult, type ErrorBars } from './mi/error-bars.js';
export { trainRun, resolveConfig, type TrainConfig, type TrainResult, trainDvcnn, resolveDvcnnConfig, type DvcnnTrainConfig, type MetricsRow, readMetrics } from './train/index.js';
export { initBackend, type BackendName, type BackendInfo } from './backend.js';
export { loadSplit, type SplitName, type Dataset } from './data/splits.js';
export { HodasNet, ARCHS, type Arch } from './models/hodas.js';
