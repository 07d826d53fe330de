import type { EventBridgeEvent } from '../local/aws/server.js';
import { loadServerlessFunctions } from '../local/bus/rules.js';
import { median, round } from './measure.js';
import type { ScenarioResult } from './report.js';
import type { MeshgateProcess } from './worker-protocol.js';
import { instanceAddress, NAMESPACE, registerInstance, serviceName, type World } from './world.js';

const MAX_REQUESTS = 4;

/** The EventBridge rules serverless.yml gives meshSync: an event reaches it only if one of them matches. */
function meshSyncMatcher(): (event: EventBridgeEvent) => boolean {
  const meshSync = loadServerlessFunctions('serverless.yml').find((fn) => fn.name === 'meshSync');
  if (!meshSync) throw new Error('serverless.yml declares no meshSync function');
  const patterns = meshSync.rules.flatMap((rule) => (rule.kind === 'pattern' ? [rule.matches] : []));
  return (event) => patterns.some((matches) => matches(event));
}

/**
 * RegisterInstance through the SDK; its CloudTrail event goes through meshSync's EventBridge rules to the handler
 * (scoped sync). Counts the Admin API requests from the event's delivery until the handler returns, then checks
 * that Kong holds the new target.
 */
export async function registerOne(world: World, meshgate: MeshgateProcess, runs: number): Promise<ScenarioResult> {
  const routed = meshSyncMatcher();
  const measured: { wallMs: number; requests: number; writes: number; awsCalls: number }[] = [];
  for (let run = 0; run < runs; run++) {
    const name = serviceName(run);
    const serviceId = world.serviceIds.get(name) ?? '';
    const events: EventBridgeEvent[] = [];
    const unsubscribe = world.aws.onCloudTrail((event) => {
      if (routed(event)) events.push(event);
    });
    await registerInstance(world.cloudMap, serviceId, run, 1);
    unsubscribe();
    const [event] = events;
    if (!event) throw new Error(`register-one: no CloudTrail event of ${name}'s RegisterInstance reached meshSync`);
    world.kong.requests.clear();
    const awsBefore = world.aws.requests.entries.length;
    const reply = await meshgate.call({ op: 'event', event });
    measured.push({
      wallMs: reply.wallMs,
      requests: world.kong.requests.entries.length,
      writes: world.kong.requests.writes().length,
      awsCalls: world.aws.requests.entries.length - awsBefore,
    });
    await assertTarget(world, `${name}.${NAMESPACE}`, `${instanceAddress(run, 1)}:8080`);
  }
  const requests = Math.max(...measured.map((run) => run.requests));
  return {
    name: 'register-one',
    runs,
    meshgate: {
      wall_ms: round(median(measured.map((run) => run.wallMs))),
      requests,
      writes: Math.max(...measured.map((run) => run.writes)),
      aws_calls: Math.max(...measured.map((run) => run.awsCalls)),
      peak_rss_mb: round(meshgate.peakRssMb()),
    },
    bars: [
      {
        bar: `≤ ${MAX_REQUESTS} Admin API requests, event to converged`,
        measured: `${requests} requests (max of ${runs} runs)`,
        pass: requests <= MAX_REQUESTS,
      },
    ],
    notes: [
      'wall_ms is the whole handler run: it reads only what the registered service feeds (that service, or the ' +
        'gateways discovered through it), so neither it nor the Kong requests grow with the mesh; run alone ' +
        '(--only), Kong starts empty and the upstream is created too (4 requests instead of 3)',
    ],
  };
}

async function assertTarget(world: World, upstream: string, target: string): Promise<void> {
  const response = await fetch(`${world.kong.url}/upstreams/${upstream}/targets`);
  const { data } = (await response.json()) as { data: { target: string }[] };
  if (!data.some((entry) => entry.target === target)) {
    throw new Error(`register-one: Kong did not converge, ${upstream} has no target ${target}`);
  }
}
