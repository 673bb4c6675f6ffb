// JSON schemas of the request bodies (Fastify validates them before a handler runs; ajv is set up
// in app.ts with no type coercion and no silent removal, so a wrong type or an unknown field is a
// 400). OpenAI's field names; our additions are steering, steering_positions, monitor and the
// llama.cpp-style sampling fields top_k, min_p, repeat_penalty, ignore_eos.

const blocks = {
  anyOf: [
    { type: 'integer', minimum: 0, maximum: 65535 },
    { type: 'array', minItems: 1, maxItems: 1024, items: { type: 'integer', minimum: 0, maximum: 65535 } },
    { const: 'all' },
  ],
} as const;

const vectorName = { type: 'string', minLength: 1, maxLength: 64 } as const;

export const steeringOp = {
  type: 'object',
  required: ['op', 'vector'],
  properties: {
    op: { enum: ['add', 'cap', 'ablate'] },
    vector: vectorName,
    scale: { type: 'number' },
    relative: { type: 'boolean' },
    max: { type: 'number' },
    min: { type: 'number' },
    blocks,
  },
  additionalProperties: false,
} as const;

export const monitorEntry = {
  type: 'object',
  required: ['vector'],
  properties: { vector: vectorName, blocks },
  additionalProperties: false,
} as const;

/** The fields every generation route shares. */
const generationFields = {
  model: { type: 'string', maxLength: 256 },
  max_tokens: { type: ['integer', 'null'], minimum: 1 },
  temperature: { type: ['number', 'null'], minimum: 0, maximum: 100 },
  top_p: { type: ['number', 'null'], minimum: 0, maximum: 1 },
  top_k: { type: 'integer', minimum: 0, maximum: 16777216 },
  min_p: { type: 'number', minimum: 0, maximum: 1 },
  repeat_penalty: { type: 'number', minimum: 0.01, maximum: 100 },
  frequency_penalty: { type: ['number', 'null'], minimum: 0, maximum: 0 },
  presence_penalty: { type: ['number', 'null'], minimum: 0, maximum: 0 },
  seed: { type: ['integer', 'null'] },
  n: { type: ['integer', 'null'], minimum: 1, maximum: 1 },
  stop: {
    anyOf: [
      { type: 'null' },
      { type: 'string', minLength: 1, maxLength: 256 },
      { type: 'array', maxItems: 16, items: { type: 'string', minLength: 1, maxLength: 256 } },
    ],
  },
  stream: { type: ['boolean', 'null'] },
  stream_options: {
    type: ['object', 'null'],
    properties: { include_usage: { type: 'boolean' } },
    additionalProperties: false,
  },
  user: { type: 'string', maxLength: 256 },
  ignore_eos: { type: 'boolean' },
  steering: { anyOf: [{ const: false }, { type: 'array', maxItems: 64, items: steeringOp }] },
  steering_positions: { enum: ['all', 'prompt', 'generated'] },
  monitor: { anyOf: [{ const: false }, { type: 'array', maxItems: 64, items: monitorEntry }] },
} as const;

const textPart = {
  type: 'object',
  required: ['type', 'text'],
  properties: { type: { const: 'text' }, text: { type: 'string' } },
  additionalProperties: false,
} as const;

export const chatMessage = {
  type: 'object',
  required: ['role', 'content'],
  properties: {
    role: { enum: ['system', 'developer', 'user', 'assistant'] },
    content: { anyOf: [{ type: 'string' }, { type: 'array', maxItems: 256, items: textPart }] },
    name: { type: 'string', maxLength: 256 },
  },
  additionalProperties: false,
} as const;

export const chatBody = {
  type: 'object',
  required: ['messages'],
  properties: {
    ...generationFields,
    messages: { type: 'array', minItems: 1, maxItems: 1024, items: chatMessage },
    max_completion_tokens: { type: ['integer', 'null'], minimum: 1 },
    logprobs: { enum: [false, null] },
    response_format: {
      type: 'object',
      required: ['type'],
      properties: { type: { const: 'text' } },
      additionalProperties: false,
    },
  },
  additionalProperties: false,
} as const;

export const completionBody = {
  type: 'object',
  required: ['prompt'],
  properties: {
    ...generationFields,
    prompt: {
      anyOf: [
        { type: 'string', minLength: 1 },
        { type: 'array', minItems: 1, maxItems: 1, items: { type: 'string', minLength: 1 } },
        { type: 'array', minItems: 1, items: { type: 'integer', minimum: 0 } },
      ],
    },
    echo: { const: false },
    logprobs: { type: 'null' },
    best_of: { type: ['integer', 'null'], minimum: 1, maximum: 1 },
    suffix: { type: 'null' },
  },
  additionalProperties: false,
} as const;

export const vectorNameParams = {
  type: 'object',
  required: ['name'],
  properties: { name: vectorName },
  additionalProperties: false,
} as const;

export const uploadQuery = {
  type: 'object',
  required: ['name'],
  properties: { name: vectorName, replace: { enum: ['true', 'false'] } },
  additionalProperties: false,
} as const;

export const extractBody = {
  type: 'object',
  required: ['name', 'positive', 'negative', 'questions'],
  properties: {
    name: vectorName,
    trait: { type: 'string', minLength: 1, maxLength: 200 },
    description: { type: 'string', minLength: 1, maxLength: 2000 },
    positive: { type: 'string', minLength: 1, maxLength: 20000 },
    negative: { type: 'string', minLength: 1, maxLength: 20000 },
    questions: { type: 'array', minItems: 1, maxItems: 256, items: { type: 'string', minLength: 1, maxLength: 4000 } },
    max_tokens: { type: 'integer', minimum: 1, maximum: 1024 },
    method: { enum: ['mean-diff', 'pca'] },
    positions: { enum: ['response', 'last-prompt'] },
    recommend: { type: 'integer', minimum: 1 },
    coefficient: { type: 'number' },
    calibrate: { type: 'boolean' },
    replace: { type: 'boolean' },
    stream: { type: 'boolean' },
  },
  additionalProperties: false,
} as const;
