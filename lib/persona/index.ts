// Public surface of the persona layer: trait specs, extraction, steering helpers, calibration,
// monitoring and projection-difference screening.
export { parseTraitSpec, parseTraitSpecJson, readTraitSpec, TRAIT_SPEC_LIMITS, type TraitSpec, type TraitPair } from './trait-spec';
export { type PromptText, type PromptFormat, type Sample } from './prompt-format';
export { generateResponses, judgePairs, type ResponsePair, type Judge, type ResponseGeneration, type GenerateResponsesOptions, type JudgedPair } from './responses';
export {
  extractPersonaVector, recommendBlocks, type ExtractionMethod, type ExtractionPositions, type ExtractionSamples, type ExtractOptions,
  type ExtractionProgress, type ExtractionResult, type BlockSeparation, type ExtractionPair, type ExtractionSweep, type Recommendation,
} from './extract';
export { sweepSteering, type SweepOptions, type SweepResult, type SweepSetting, type SweepCell, type SweepUnits } from './sweep';
export {
  separatingBlocks, defaultPositions, extractionPositions, defaultSweepBlocks, DEFAULT_SWEEP_COEFFICIENTS,
} from './defaults';
export {
  generateConditional, completeConditional, checkConditions, type SteeringCondition, type ConditionalSteering, type ConditionCheck,
  type ConditionalGeneration, type ConditionalResult,
} from './conditional';
export { modelFileHash } from './model-hash';
export { steerAdd, cap, steerAblate, personaPlan, recommendedPositions, type CapOptions, type CapThresholds, type Threshold } from './steer';
export {
  calibrateCap, withCapThresholds, type CalibrateCapOptions, type CapCalibration, type ReferencePrompt, type CalibrationPositions,
} from './calibrate';
export { monitorVector, projectionTrace, lastPromptProjection } from './projections';
export {
  projectionDifference, type ScreenSample, type ProjectionDifferenceOptions, type ProjectionDifferenceResult, type ProjectionDifferenceSample,
} from './projection-difference';
