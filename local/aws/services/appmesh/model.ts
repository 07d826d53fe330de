import { type AwsRequest, AwsServiceError } from '../../protocol.js';
import model from './model.json' with { type: 'json' };

/**
 * The App Mesh API model (botocore, trimmed) drives routing, input binding and validation, so every operation takes
 * exactly the members, ranges, enums and unions the real service does.
 */
interface MemberRef {
  shape: string;
  location?: string;
  locationName?: string;
}

interface Shape {
  type: string;
  required?: string[];
  min?: number;
  max?: number;
  enum?: string[];
  union?: boolean;
  payload?: string;
  pattern?: string;
  members?: Record<string, MemberRef>;
  member?: string;
  key?: string;
  value?: string;
}

interface OperationModel {
  method: string;
  uri: string;
  input: string;
  output: string;
}

const shapes = model.shapes as Record<string, Shape>;
const operations = model.operations as Record<string, OperationModel>;

interface Route {
  name: string;
  method: string;
  pattern: RegExp;
  labels: string[];
}

const routes: Route[] = Object.entries(operations).map(([name, operation]) => {
  const labels: string[] = [];
  const source = operation.uri.replace(/\{(\w+)\}/g, (_match, label: string) => {
    labels.push(label);
    return '([^/]+)';
  });
  return { name, method: operation.method, pattern: new RegExp(`^${source}$`), labels };
});

export interface BoundRequest {
  operation: string;
  input: Record<string, unknown>;
}

/** The model operation a request names, with its URI labels decoded. */
export function routeOf(
  request: Pick<AwsRequest, 'method' | 'path'>,
): { operation: string; labels: Record<string, string> } | undefined {
  for (const route of routes) {
    if (route.method !== request.method) continue;
    const match = route.pattern.exec(request.path);
    if (!match) continue;
    const labels: Record<string, string> = {};
    route.labels.forEach((label, index) => {
      labels[label] = decodeURIComponent(match[index + 1] ?? '');
    });
    return { operation: route.name, labels };
  }
  return undefined;
}

/** Binds URI labels, query string and JSON body to the operation's input members, then validates them. */
export function bindRequest(request: AwsRequest): BoundRequest {
  const route = routeOf(request);
  if (!route) {
    throw new AwsServiceError(
      'NotFoundException',
      `No App Mesh operation serves ${request.method} ${request.path}`,
      404,
    );
  }
  const operation = operations[route.operation] as OperationModel;
  const inputShape = shapes[operation.input] as Shape;
  let body: Record<string, unknown> = {};
  if (request.body.length > 0) {
    try {
      body = JSON.parse(request.body.toString('utf8')) as Record<string, unknown>;
    } catch {
      throw new AwsServiceError('BadRequestException', 'The request body is not valid JSON.', 400);
    }
  }
  const input: Record<string, unknown> = {};
  for (const [member, ref] of Object.entries(inputShape.members ?? {})) {
    const wireName = ref.locationName ?? member;
    if (ref.location === 'uri') input[member] = route.labels[wireName];
    else if (ref.location === 'querystring') {
      const value = request.query.get(wireName);
      if (value !== null) input[member] = queryValue(value, ref.shape, member);
    } else if (body[member] !== undefined) input[member] = body[member];
  }
  validate(input, operation.input, '');
  return { operation: route.operation, input };
}

function queryValue(value: string, shapeName: string, member: string): unknown {
  const type = shapes[shapeName]?.type;
  if (type !== 'integer' && type !== 'long') return value;
  const number = Number(value);
  if (!Number.isInteger(number)) badRequest(member, value, 'must be an integer');
  return number;
}

/** The HTTP body of an operation's output: the payload member alone where the model names one. */
export function outputBody(operation: string, output: Record<string, unknown>): unknown {
  const payload = shapes[(operations[operation] as OperationModel).output]?.payload;
  return payload ? output[payload] : output;
}

function badRequest(path: string, value: unknown, reason: string): never {
  throw new AwsServiceError(
    'BadRequestException',
    `Invalid value for '${path}' (${JSON.stringify(value)}): ${reason}.`,
    400,
  );
}

function validate(value: unknown, shapeName: string, path: string): void {
  const shape = shapes[shapeName];
  if (!shape) return;
  switch (shape.type) {
    case 'structure':
      validateStructure(value, shape, path);
      return;
    case 'list': {
      if (!Array.isArray(value)) badRequest(path, value, 'must be a list');
      checkLength(value.length, shape, path, value, 'items');
      value.forEach((item, index) => {
        validate(item, shape.member as string, `${path}[${index}]`);
      });
      return;
    }
    case 'map': {
      if (!isObject(value)) badRequest(path, value, 'must be a map');
      for (const [key, item] of Object.entries(value)) validate(item, shape.value as string, `${path}.${key}`);
      return;
    }
    case 'string': {
      if (typeof value !== 'string') badRequest(path, value, 'must be a string');
      checkLength(value.length, shape, path, value, 'characters');
      if (shape.enum && !shape.enum.includes(value)) badRequest(path, value, `must be one of ${shape.enum.join(', ')}`);
      if (shape.pattern && !new RegExp(shape.pattern).test(value))
        badRequest(path, value, `must match ${shape.pattern}`);
      return;
    }
    case 'integer':
    case 'long': {
      if (typeof value !== 'number' || !Number.isInteger(value)) badRequest(path, value, 'must be an integer');
      if (shape.min !== undefined && value < shape.min) badRequest(path, value, `must be at least ${shape.min}`);
      if (shape.max !== undefined && value > shape.max) badRequest(path, value, `must be at most ${shape.max}`);
      return;
    }
    case 'boolean':
      if (typeof value !== 'boolean') badRequest(path, value, 'must be a boolean');
      return;
    case 'double':
    case 'timestamp':
      if (typeof value !== 'number') badRequest(path, value, 'must be a number');
      return;
  }
}

function validateStructure(value: unknown, shape: Shape, path: string): void {
  if (!isObject(value)) badRequest(path, value, 'must be an object');
  const prefix = path ? `${path}.` : '';
  for (const member of shape.required ?? []) {
    if (value[member] === undefined || value[member] === null) badRequest(`${prefix}${member}`, null, 'is required');
  }
  const present = Object.keys(shape.members ?? {}).filter((member) => value[member] !== undefined);
  if (shape.union && present.length !== 1) {
    badRequest(path, value, `must set exactly one of ${Object.keys(shape.members ?? {}).join(', ')}`);
  }
  for (const member of present) {
    validate(value[member], shape.members?.[member]?.shape ?? '', `${prefix}${member}`);
  }
}

function checkLength(length: number, shape: Shape, path: string, value: unknown, unit: string): void {
  if (shape.min !== undefined && length < shape.min) badRequest(path, value, `must have at least ${shape.min} ${unit}`);
  if (shape.max !== undefined && length > shape.max) badRequest(path, value, `must have at most ${shape.max} ${unit}`);
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
