/**
 * Fault injection and request logging shared by the Kong and AWS doubles: tests make the Nth request matching a
 * method and path pattern fail with a status and body, stall, or drop its connection, and count requests.
 */
export interface FaultRule {
  /** HTTP method to match, or '*' (default). */
  method?: string;
  /** Path (without query) to match: a RegExp, or a string that must equal the path or be its prefix ending in '*'. */
  path?: RegExp | string;
  /** Extra predicate, e.g. on the AWS operation name. */
  match?: (request: LoggedRequest) => boolean;
  /** Which matching request fails, counting from 1 (default 1). */
  nth?: number;
  /** How many matching requests fail from the nth on (default 1; Infinity for all). */
  times?: number;
  /** Answer with this status and body instead of serving the request. */
  status?: number;
  body?: unknown;
  headers?: Record<string, string>;
  /** Wait this long before answering (or before dropping). */
  delayMs?: number;
  /** Destroy the connection without answering. */
  drop?: boolean;
}

export interface LoggedRequest {
  method: string;
  path: string;
  /** AWS operation name where the protocol names one. */
  operation?: string;
  status?: number;
  /** Set when a fault answered instead of the server. */
  fault?: boolean;
}

interface ArmedRule extends FaultRule {
  seen: number;
  fired: number;
}

export class FaultInjector {
  private rules: ArmedRule[] = [];
  /**
   * Added to every request before it is served or faulted: a network round trip, which loopback does not have
   * (the bench's `full-sync-1000-rtt`). Kept by `clear()`; set it back to 0 to remove it.
   */
  latencyMs = 0;

  /** Waits out `latencyMs` (at once when there is none). */
  async roundTrip(): Promise<void> {
    if (this.latencyMs > 0) await new Promise((resolve) => setTimeout(resolve, this.latencyMs));
  }

  inject(rule: FaultRule): void {
    this.rules.push({ ...rule, seen: 0, fired: 0 });
  }

  clear(): void {
    this.rules = [];
  }

  /** The rule that fires for this request, if any; counts the request against every rule it matches. */
  take(request: LoggedRequest): FaultRule | undefined {
    let hit: FaultRule | undefined;
    for (const rule of this.rules) {
      if (!matches(rule, request)) continue;
      rule.seen += 1;
      const nth = rule.nth ?? 1;
      const times = rule.times ?? 1;
      if (!hit && rule.seen >= nth && rule.fired < times) {
        rule.fired += 1;
        hit = rule;
      }
    }
    return hit;
  }
}

function matches(rule: FaultRule, request: LoggedRequest): boolean {
  if (rule.method && rule.method !== '*' && rule.method.toUpperCase() !== request.method) return false;
  if (rule.path instanceof RegExp && !rule.path.test(request.path)) return false;
  if (typeof rule.path === 'string') {
    const prefix = rule.path.endsWith('*') ? rule.path.slice(0, -1) : undefined;
    if (prefix === undefined ? rule.path !== request.path : !request.path.startsWith(prefix)) return false;
  }
  return rule.match ? rule.match(request) : true;
}

export class RequestLog {
  readonly entries: LoggedRequest[] = [];

  record(entry: LoggedRequest): void {
    this.entries.push(entry);
  }

  clear(): void {
    this.entries.length = 0;
  }

  count(filter: (entry: LoggedRequest) => boolean = () => true): number {
    return this.entries.filter(filter).length;
  }

  writes(): LoggedRequest[] {
    return this.entries.filter((entry) => !['GET', 'HEAD', 'OPTIONS'].includes(entry.method));
  }
}
