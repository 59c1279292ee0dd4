// Turns a TypeBox (JSON Schema) schema into a structural OpenAPI v3 schema the API server accepts
// in a CustomResourceDefinition (apiextensions.k8s.io/v1 JSONSchemaProps). TypeBox output differs
// from what the API server takes in a few places:
// - Type.Record gives `patternProperties`, which CRDs forbid: it becomes `additionalProperties`,
//   or `x-kubernetes-preserve-unknown-fields` when the values are unknown (embedded core/v1
//   objects such as a Toleration or a VolumeSource);
// - Type.Literal gives `const` and a union of literals gives `anyOf`; CRDs have neither in a
//   usable form: they become `enum`;
// - `additionalProperties: false` beside `properties` is rejected as mutually exclusive (unknown
//   fields are pruned anyway); `$schema`/`$id` are not JSONSchemaProps fields.
// Anything else a CRD cannot hold (`$ref`, a node with no type) throws, naming the node.

export type StructuralSchema = { [keyword: string]: unknown };

// JSONSchemaProps fields a structural schema may use (apiextensions.k8s.io/v1).
const allowedKeywords = new Set([
  'type',
  'format',
  'description',
  'title',
  'default',
  'example',
  'nullable',
  'enum',
  'maximum',
  'exclusiveMaximum',
  'minimum',
  'exclusiveMinimum',
  'multipleOf',
  'maxLength',
  'minLength',
  'pattern',
  'maxItems',
  'minItems',
  'maxProperties',
  'minProperties',
  'required',
  'items',
  'properties',
  'additionalProperties',
  'x-kubernetes-preserve-unknown-fields',
  'x-kubernetes-embedded-resource',
  'x-kubernetes-int-or-string',
  'x-kubernetes-list-type',
  'x-kubernetes-list-map-keys',
  'x-kubernetes-map-type',
  'x-kubernetes-validations',
]);

const droppedKeywords = new Set(['$schema', '$id']);

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function literalUnion(node: Record<string, unknown>): unknown[] | undefined {
  const options = node['anyOf'];
  if (!Array.isArray(options) || options.length === 0) return undefined;
  if (!options.every((option) => isRecord(option) && 'const' in option)) return undefined;
  return options.map((option) => (option as Record<string, unknown>)['const']);
}

function typeOfLiterals(values: unknown[], at: string): string {
  const types = new Set(values.map((value) => (Number.isInteger(value) ? 'integer' : typeof value)));
  const [only] = types;
  if (types.size !== 1 || (only !== 'string' && only !== 'integer' && only !== 'boolean' && only !== 'number')) {
    throw new Error(`${at}: a union of literals must be all strings, all integers or all booleans to become an enum`);
  }
  return only;
}

/** Converts one schema node (and everything below it); `at` names the node in errors. */
export function toStructuralSchema(schema: unknown, at = '<root>'): StructuralSchema {
  if (!isRecord(schema)) throw new Error(`${at}: expected a schema object, got ${JSON.stringify(schema)}`);
  // A JSON round trip drops TypeBox's symbol-keyed metadata and shares nothing with the input.
  const node = JSON.parse(JSON.stringify(schema)) as Record<string, unknown>;
  const result: StructuralSchema = {};

  const literals = literalUnion(node);
  if (literals) {
    result['type'] = typeOfLiterals(literals, at);
    result['enum'] = literals;
    delete node['anyOf'];
  } else if ('const' in node) {
    result['type'] = typeOfLiterals([node['const']], at);
    result['enum'] = [node['const']];
    delete node['const'];
    delete node['type'];
  }

  const patternProperties = node['patternProperties'];
  if (patternProperties !== undefined) {
    const values = isRecord(patternProperties) ? Object.values(patternProperties) : [];
    if (values.length !== 1) throw new Error(`${at}: only a single catch-all patternProperties (Type.Record with string keys) can become a map`);
    const valueSchema = values[0];
    if (isRecord(valueSchema) && Object.keys(valueSchema).length === 0) {
      result['x-kubernetes-preserve-unknown-fields'] = true;
    } else {
      result['additionalProperties'] = toStructuralSchema(valueSchema, `${at}.*`);
    }
    delete node['patternProperties'];
  }

  for (const [keyword, value] of Object.entries(node)) {
    if (droppedKeywords.has(keyword)) continue;
    if (!allowedKeywords.has(keyword)) throw new Error(`${at}: keyword ${keyword} cannot be used in a CustomResourceDefinition schema`);
    if (keyword === 'properties') {
      if (!isRecord(value)) throw new Error(`${at}: properties must be an object`);
      result['properties'] = Object.fromEntries(Object.entries(value).map(([name, property]) => [name, toStructuralSchema(property, `${at}.${name}`)]));
    } else if (keyword === 'items') {
      result['items'] = toStructuralSchema(value, `${at}[]`);
    } else if (keyword === 'additionalProperties') {
      if (value === false) continue; // pruning already drops unknown fields
      if (value === true) result['x-kubernetes-preserve-unknown-fields'] = true;
      else result['additionalProperties'] = toStructuralSchema(value, `${at}.*`);
    } else {
      result[keyword] = value;
    }
  }

  const properties = result['properties'];
  if (isRecord(properties) && Object.keys(properties).length === 0 && result['x-kubernetes-preserve-unknown-fields'] === true) {
    delete result['properties'];
  }
  if (Array.isArray(result['required']) && result['required'].length === 0) delete result['required'];
  if (result['type'] === undefined && result['x-kubernetes-preserve-unknown-fields'] !== true && result['x-kubernetes-int-or-string'] !== true) {
    throw new Error(`${at}: every node of a CRD schema needs a type (or x-kubernetes-preserve-unknown-fields for embedded objects)`);
  }
  return inReadingOrder(result);
}

// Keyword order of the rendered YAML: what a node is first, then its limits, then its children
// and its rules, so the checked-in CRD reads top-down.
const leadingKeywords = ['description', 'type', 'format', 'enum', 'default'];
const trailingKeywords = ['required', 'properties', 'items', 'additionalProperties'];
function keywordRank(keyword: string): string {
  const leading = leadingKeywords.indexOf(keyword);
  if (leading >= 0) return `0${leading}`;
  const trailing = trailingKeywords.indexOf(keyword);
  if (trailing >= 0) return `2${trailing}`;
  return keyword.startsWith('x-kubernetes-') ? `3${keyword}` : `1${keyword}`;
}

function inReadingOrder(node: StructuralSchema): StructuralSchema {
  const keywords = Object.keys(node).sort((a, b) => (keywordRank(a) < keywordRank(b) ? -1 : keywordRank(a) > keywordRank(b) ? 1 : 0));
  return Object.fromEntries(keywords.map((keyword) => [keyword, node[keyword]]));
}
