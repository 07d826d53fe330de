import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { GetServiceCommand, TagResourceCommand } from '@aws-sdk/client-servicediscovery';
import { beforeEach, describe, expect, it } from 'vitest';
import { loadRoles } from '../../local/aws/iam/roles.js';
import { roleEnv } from '../../local/aws/identity.js';
import { createApp } from '../../shared/app/context.js';
import { createAwsClients } from '../../shared/aws/clients.js';
import { loadConfig } from '../../shared/config/index.js';
import { TEST_ADMIN_TOKEN } from '../support/secrets.js';
import { ownedView, scheduledEvent, useSyncWorld } from './world.js';

const sync = useSyncWorld({ checkUnowned: false });

/**
 * TLS to the mesh with the AWS double enforcing serverless.yml's roles: meshSync reads the mesh CA as its own role,
 * through the ReadMeshCa grant that exists only when a CA secret is configured (param meshCaSecretName).
 */

const MESH_CA_SECRET = 'meshgate/mesh-ca';
const MESH_CA = readFileSync(join(import.meta.dirname, '..', 'fixtures', 'mesh-ca.pem'), 'utf8');

beforeEach(async () => {
  await sync.world.clients.secretsManager.createSecret({ Name: MESH_CA_SECRET, SecretString: MESH_CA });
  // The search service's instances serve TLS: Kong's hop to them is https.
  const { Service } = await sync.world.clients.serviceDiscovery.send(
    new GetServiceCommand({ Id: sync.mesh.searchServiceId }),
  );
  await sync.world.clients.serviceDiscovery.send(
    new TagResourceCommand({ ResourceARN: Service?.Arn, Tags: [{ Key: 'meshgate:protocol', Value: 'https' }] }),
  );
});

/** meshSync's app as deployed with MESH_CA_SECRET_ARN set, calling AWS as meshSync's role. */
function appWithMeshCa() {
  return createApp(
    loadConfig({ ...sync.world.env, MESH_CA_SECRET_ARN: MESH_CA_SECRET }),
    createAwsClients({
      ...sync.world.aws.env(),
      ...roleEnv(sync.world.aws.functionRoles.meshSync as string, 'meshgate-local-meshSync'),
    }),
  );
}

async function admin(path: string): Promise<Record<string, unknown>[]> {
  const response = await fetch(`${sync.world.kong.url}${path}`, { headers: { 'Kong-Admin-Token': TEST_ADMIN_TOKEN } });
  return ((await response.json()) as { data: Record<string, unknown>[] }).data;
}

describe('the mesh CA under IAM enforcement', () => {
  it('meshSync reads the CA with its own role when the stack is deployed with one: https services verify against it', async () => {
    // The roles CloudFormation creates for a stack whose meshCaSecretName names the CA secret.
    sync.world.aws.iam.setRoles(loadRoles({ env: { MESH_CA_SECRET_ARN: MESH_CA_SECRET } }).roles);

    await sync.world.invoke(scheduledEvent(), appWithMeshCa());

    const [ca] = await admin('/ca_certificates');
    expect(ca?.cert).toBe(MESH_CA);
    const search = (await admin('/services')).find((service) => service.name === 'search.shop.local');
    expect(search).toMatchObject({ protocol: 'https', tls_verify: true, ca_certificates: [ca?.id] });
    expect(sync.world.audit().at(-1)?.detailType).toBe('Sync Applied');
  });

  it('the grant covers that one secret only: without a configured CA the role may not read it, and the run fails rather than drop verification', async () => {
    // The default roles: no meshCaSecretName, so no ReadMeshCa statement.
    await expect(sync.world.invoke(scheduledEvent(), appWithMeshCa())).rejects.toThrow(
      /mesh CA|AccessDenied|not authorized/,
    );

    expect((await ownedView(sync.world.kong)).services).toEqual([]);
    expect(await admin('/ca_certificates')).toEqual([]);
  });
});
