import {
  CreateMeshCommand,
  CreateVirtualNodeCommand,
  DescribeMeshCommand,
  TagResourceCommand,
} from '@aws-sdk/client-app-mesh';
import {
  CreateHttpNamespaceCommand,
  CreateServiceCommand,
  DeregisterInstanceCommand,
  DiscoverInstancesCommand,
  GetOperationCommand,
  RegisterInstanceCommand,
} from '@aws-sdk/client-servicediscovery';
import { describe, expect, it } from 'vitest';
import { readReference } from '../../support/reference.js';
import { useAwsDouble } from './double.js';

const aws = useAwsDouble();

function sample(name: string): { detail: Record<string, unknown> } & Record<string, unknown> {
  return JSON.parse(readReference(`aws/events/${name}`));
}

/** The envelope and detail keys, which is what consumers pattern-match on. */
function keyStructure(event: Record<string, unknown>): { envelope: string[]; detail: string[] } {
  return {
    envelope: Object.keys(event).sort(),
    detail: Object.keys(event.detail as Record<string, unknown>).sort(),
  };
}

describe('CloudTrail event stream', () => {
  it('publishes App Mesh writes shaped like the CreateVirtualNode sample, and nothing for reads', async () => {
    const expected = sample('appmesh-createvirtualnode-cloudtrail.DERIVED.json');
    const appMesh = aws.clients().appMesh;
    await appMesh.send(new CreateMeshCommand({ meshName: 'apps' }));
    const spec = expected.detail.requestParameters as { spec: Record<string, unknown> };
    await appMesh.send(
      new CreateVirtualNodeCommand({
        meshName: 'apps',
        virtualNodeName: 'serviceA',
        spec: spec.spec,
        clientToken: 't-1',
      }),
    );
    await appMesh.send(new DescribeMeshCommand({ meshName: 'apps' }));

    const events = aws.double().cloudTrail;
    expect(events.map((event) => event.detail.eventName)).toEqual(['CreateMesh', 'CreateVirtualNode']);
    const event = events[1] as unknown as Record<string, unknown> & { detail: Record<string, unknown> };
    expect(keyStructure(event)).toEqual(keyStructure(expected));
    expect(event).toMatchObject({ source: 'aws.appmesh', 'detail-type': 'AWS API Call via CloudTrail', resources: [] });
    expect(event.detail).toMatchObject({
      eventSource: 'appmesh.amazonaws.com',
      eventType: 'AwsApiCall',
      apiVersion: '2019-01-25',
    });
    expect(event.detail.requestParameters).toEqual({
      meshName: 'apps',
      virtualNodeName: 'serviceA',
      clientToken: 't-1',
      spec: spec.spec,
    });
    const response = event.detail.responseElements as { virtualNode: Record<string, unknown> };
    const sampleResponse = (expected.detail.responseElements as { virtualNode: Record<string, unknown> }).virtualNode;
    expect(Object.keys(response.virtualNode).sort()).toEqual(Object.keys(sampleResponse).sort());
    expect(Object.keys(response.virtualNode.metadata as object).sort()).toEqual(
      Object.keys(sampleResponse.metadata as object).sort(),
    );
    expect(response.virtualNode.spec).toEqual(sampleResponse.spec);
  });

  it('publishes tag changes with the resource ARN and a null response', async () => {
    const appMesh = aws.clients().appMesh;
    const { mesh } = await appMesh.send(new CreateMeshCommand({ meshName: 'apps' }));
    await appMesh.send(new TagResourceCommand({ resourceArn: mesh?.metadata?.arn, tags: [{ key: 'a', value: 'b' }] }));
    const tagged = aws.double().cloudTrail.at(-1);
    expect(tagged?.detail).toMatchObject({
      eventName: 'TagResource',
      requestParameters: { resourceArn: mesh?.metadata?.arn, tags: [{ key: 'a', value: 'b' }] },
      responseElements: null,
    });
  });

  it('publishes Cloud Map writes in lowerCamel shaped like the RegisterInstance sample', async () => {
    const expected = sample('servicediscovery-registerinstance-cloudtrail.DERIVED.json');
    const cloudMap = aws.clients().serviceDiscovery;
    const created = await cloudMap.send(
      new CreateHttpNamespaceCommand({ Name: 'apps.local', CreatorRequestId: 'ns-req' }),
    );
    const { Operation } = await cloudMap.send(new GetOperationCommand({ OperationId: created.OperationId }));
    const { Service } = await cloudMap.send(
      new CreateServiceCommand({ Name: 'myservice', NamespaceId: Operation?.Targets?.NAMESPACE }),
    );
    const attributes = { AWS_INSTANCE_IPV4: '172.2.1.3', AWS_INSTANCE_PORT: '808' };
    const registered = await cloudMap.send(
      new RegisterInstanceCommand({
        ServiceId: Service?.Id,
        InstanceId: 'myservice-53',
        CreatorRequestId: 'req-1',
        Attributes: attributes,
      }),
    );
    await cloudMap.send(new DiscoverInstancesCommand({ NamespaceName: 'apps.local', ServiceName: 'myservice' }));
    await cloudMap.send(new DeregisterInstanceCommand({ ServiceId: Service?.Id, InstanceId: 'myservice-53' }));

    const events = aws.double().cloudTrail;
    expect(events.map((event) => event.detail.eventName)).toEqual([
      'CreateHttpNamespace',
      'CreateService',
      'RegisterInstance',
      'DeregisterInstance',
    ]);
    expect(events[0]?.detail).toMatchObject({
      requestParameters: { name: 'apps.local', creatorRequestId: 'ns-req' },
      responseElements: { operationId: created.OperationId },
    });
    const register = events[2] as unknown as Record<string, unknown> & { detail: Record<string, unknown> };
    expect(keyStructure(register)).toEqual(keyStructure(expected));
    expect(register).toMatchObject({ source: 'aws.servicediscovery', 'detail-type': 'AWS API Call via CloudTrail' });
    expect(register.detail).toMatchObject({
      eventSource: 'servicediscovery.amazonaws.com',
      requestParameters: { serviceId: Service?.Id, instanceId: 'myservice-53', creatorRequestId: 'req-1', attributes },
      responseElements: { operationId: registered.OperationId },
    });
    expect(Object.keys(register.detail.requestParameters as object).sort()).toEqual(
      Object.keys(expected.detail.requestParameters as object).sort(),
    );
    expect(events[3]?.detail.requestParameters).toEqual({ serviceId: Service?.Id, instanceId: 'myservice-53' });
  });
});

describe('CloudTrail records as AWS writes them', () => {
  it('timestamps in responseElements are Java-style dates, as in the CreateMesh sample', async () => {
    await aws.clients().appMesh.send(new CreateMeshCommand({ meshName: 'dated' }));
    const record = aws.double().cloudTrail.at(-1);
    if (!record) throw new Error('no CloudTrail record');
    const metadata = (record.detail.responseElements as { mesh: { metadata: Record<string, unknown> } }).mesh.metadata;
    const sampleMetadata = (
      sample('appmesh-createmesh-cloudtrail.json').detail.responseElements as {
        mesh: { metadata: Record<string, unknown> };
      }
    ).mesh.metadata;
    const javaDate = /^[A-Z][a-z]{2} \d{1,2}, \d{4} \d{1,2}:\d{2}:\d{2} [AP]M$/;
    expect(sampleMetadata.createdAt).toMatch(javaDate);
    expect(metadata.createdAt).toMatch(javaDate);
    expect(metadata.lastUpdatedAt).toMatch(javaDate);
  });

  it("names a function's calls by its assumed role", async () => {
    const double = aws.double();
    const role = double.functionRoles.rollback!;
    const { ServiceDiscoveryClient } = await import('@aws-sdk/client-servicediscovery');
    const { credentialsForRole } = await import('../../../local/aws/identity.js');
    // The operator sets up a service; the rollback role may read it but not write: the record is the operator's.
    await aws.clients().serviceDiscovery.send(new CreateHttpNamespaceCommand({ Name: 'who.local' }));
    expect(double.cloudTrail.at(-1)?.detail.userIdentity).toMatchObject({ type: 'IAMUser' });
    double.iam.setStatements(role, [
      { Effect: 'Allow', Action: 'servicediscovery:CreateHttpNamespace', Resource: '*' },
    ]);
    const asRollback = new ServiceDiscoveryClient({
      endpoint: double.url,
      region: double.region,
      credentials: credentialsForRole(role, 'meshgate-local-rollback'),
      disableHostPrefix: true,
    });
    await asRollback.send(new CreateHttpNamespaceCommand({ Name: 'role.local' }));
    expect(double.cloudTrail.at(-1)?.detail.userIdentity).toMatchObject({
      type: 'AssumedRole',
      arn: 'arn:aws:sts::123456789012:assumed-role/meshgate-local-RollbackRole/meshgate-local-rollback',
      sessionContext: { sessionIssuer: { type: 'Role', arn: role } },
    });
  });
});
