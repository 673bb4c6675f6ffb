// persona-steer: persona vectors for Node.js on llama.cpp.
export { PersonaSteerError, ErrorCodes, type ErrorCode } from './errors';
export { Model, type LoadOptions, type ModelInfo, type ChatMessage, type TokenizeOptions, type TokenizeAsyncOptions } from './model';
export {
  Context, Sequence, type ContextOptions, type PromptInput, type GenerateOptions, type SamplingOptions, type CaptureOptions,
  type CaptureResult, type MeanItem, type LogitsResult, type EvaluateSequence, type EvaluateResult, type SteerOption,
  KV_CACHE_TYPES, type KvCacheType,
} from './context';
export { GenerationStream, type TokenEvent, type TokenLogprob, type GenerationResult, type StopReason, type CapturedRows } from './generation-stream';
export { jsonSchemaToGrammar } from './grammar/json-schema';
export { add, clamp, ablate, type SteeringPlan, type SteerOp, type AddOp, type ClampOp, type AblateOp, type Positions, type VectorInput, type BlockSpec } from './steering';
export { type MonitorEntry, type Projection } from './monitor-layout';
export { systemInfo } from './system';
export { probeRpcServer, rpcProtocolVersion, startRpcServer } from './rpc';
export * from './vector';
export * from './persona';
