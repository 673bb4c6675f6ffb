// Public surface of the persona layer: trait specs, extraction, steering helpers, calibration,
// monitoring and projection-difference screening.
export { parseTraitSpec, parseTraitSpecJson, readTraitSpec, TRAIT_SPEC_LIMITS, type TraitSpec, type TraitPair } from './trait-spec';
export { type PromptText, type PromptFormat, type Sample } from './prompt-format';
export { generateResponses, judgePairs, type ResponsePair, type Judge, type ResponseGeneration, type GenerateResponsesOptions, type JudgedPair } from './responses';
export {
  extractPersonaVector, recommendBlocks, type ExtractionMethod, type ExtractionSamples, type ExtractOptions, type ExtractionProgress,
  type ExtractionResult, type BlockSeparation, type ExtractionPair,
} from './extract';
export { modelFileHash } from './model-hash';
export { steerAdd, cap, steerAblate, personaPlan, type CapOptions, type CapThresholds, type Threshold } from './steer';
export { calibrateCap, withCapThresholds, type CalibrateCapOptions, type CapCalibration, type ReferencePrompt } from './calibrate';
export { monitorVector, projectionTrace, lastPromptProjection } from './monitor';
export {
  projectionDifference, type ScreenSample, type ProjectionDifferenceOptions, type ProjectionDifferenceResult, type ProjectionDifferenceSample,
} from './projection-difference';
