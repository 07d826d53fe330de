import {
  CreateHttpNamespaceCommand,
  CreatePrivateDnsNamespaceCommand,
  CreateServiceCommand,
  DeleteNamespaceCommand,
  DeleteServiceCommand,
  DeregisterInstanceCommand,
  DiscoverInstancesCommand,
  GetInstanceCommand,
  GetNamespaceCommand,
  GetOperationCommand,
  GetServiceCommand,
  ListInstancesCommand,
  ListNamespacesCommand,
  ListServicesCommand,
  ListTagsForResourceCommand,
  RegisterInstanceCommand,
  TagResourceCommand,
  UntagResourceCommand,
  UpdateInstanceCustomHealthStatusCommand,
} from '@aws-sdk/client-servicediscovery';
import { describe, expect, it } from 'vitest';
import { useAwsDouble } from './double.js';

const aws = useAwsDouble();
const cloudMap = () => aws.clients().serviceDiscovery;

async function namespace(name = 'apps.local'): Promise<string> {
  const { OperationId } = await cloudMap().send(new CreateHttpNamespaceCommand({ Name: name }));
  const { Operation } = await cloudMap().send(new GetOperationCommand({ OperationId }));
  return Operation?.Targets?.NAMESPACE as string;
}

async function service(namespaceId: string, name = 'orders', custom = false): Promise<string> {
  const { Service } = await cloudMap().send(
    new CreateServiceCommand({
      Name: name,
      NamespaceId: namespaceId,
      ...(custom ? { HealthCheckCustomConfig: { FailureThreshold: 1 } } : {}),
    }),
  );
  return Service?.Id as string;
}

describe('Cloud Map namespaces', () => {
  it('creates HTTP and private DNS namespaces asynchronously and reads them back', async () => {
    const created = await cloudMap().send(
      new CreateHttpNamespaceCommand({ Name: 'apps.local', Tags: [{ Key: 'team', Value: 'edge' }] }),
    );
    const { Operation } = await cloudMap().send(new GetOperationCommand({ OperationId: created.OperationId }));
    expect(Operation).toMatchObject({ Type: 'CREATE_NAMESPACE', Status: 'SUCCESS' });
    expect(Operation?.CreateDate).toBeInstanceOf(Date);
    const id = Operation?.Targets?.NAMESPACE as string;
    expect(id).toMatch(/^ns-[a-z0-9]{16}$/);

    const { Namespace } = await cloudMap().send(new GetNamespaceCommand({ Id: id }));
    expect(Namespace).toMatchObject({ Id: id, Name: 'apps.local', Type: 'HTTP', ServiceCount: 0 });
    expect(Namespace?.Arn).toBe(`arn:aws:servicediscovery:us-east-1:123456789012:namespace/${id}`);
    const tags = await cloudMap().send(new ListTagsForResourceCommand({ ResourceARN: Namespace?.Arn }));
    expect(tags.Tags).toEqual([{ Key: 'team', Value: 'edge' }]);

    await cloudMap().send(new CreatePrivateDnsNamespaceCommand({ Name: 'internal', Vpc: 'vpc-1' }));
    const listed = await cloudMap().send(
      new ListNamespacesCommand({ Filters: [{ Name: 'TYPE', Values: ['DNS_PRIVATE'], Condition: 'EQ' }] }),
    );
    expect(listed.Namespaces?.map((item) => [item.Name, item.Type])).toEqual([['internal', 'DNS_PRIVATE']]);
  });

  it('refuses a duplicate name, an unknown id and deleting a namespace that has services', async () => {
    const id = await namespace();
    await expect(cloudMap().send(new CreateHttpNamespaceCommand({ Name: 'apps.local' }))).rejects.toMatchObject({
      name: 'NamespaceAlreadyExists',
      NamespaceId: id,
    });
    await expect(cloudMap().send(new GetNamespaceCommand({ Id: 'ns-missing' }))).rejects.toMatchObject({
      name: 'NamespaceNotFound',
      $metadata: { httpStatusCode: 400 },
    });
    await service(id);
    await expect(cloudMap().send(new DeleteNamespaceCommand({ Id: id }))).rejects.toMatchObject({
      name: 'ResourceInUse',
    });
  });
});

describe('Cloud Map services', () => {
  it('creates, gets, lists by namespace with pagination, and deletes services', async () => {
    const apps = await namespace('apps.local');
    const other = await namespace('other.local');
    await service(other, 'elsewhere');
    for (let index = 0; index < 5; index += 1) await service(apps, `svc-${index}`);

    const names: string[] = [];
    let NextToken: string | undefined;
    do {
      const page = await cloudMap().send(
        new ListServicesCommand({ MaxResults: 2, NextToken, Filters: [{ Name: 'NAMESPACE_ID', Values: [apps] }] }),
      );
      expect(page.Services?.length).toBeLessThanOrEqual(2);
      names.push(...(page.Services ?? []).map((item) => item.Name as string));
      NextToken = page.NextToken;
    } while (NextToken);
    expect(names).toEqual(['svc-0', 'svc-1', 'svc-2', 'svc-3', 'svc-4']);
    expect((await cloudMap().send(new ListServicesCommand({}))).Services).toHaveLength(6);

    const id = await service(apps, 'orders');
    const { Service } = await cloudMap().send(new GetServiceCommand({ Id: id }));
    expect(Service).toMatchObject({ Id: id, Name: 'orders', NamespaceId: apps, Type: 'HTTP', InstanceCount: 0 });
    await expect(
      cloudMap().send(new CreateServiceCommand({ Name: 'orders', NamespaceId: apps })),
    ).rejects.toMatchObject({ name: 'ServiceAlreadyExists', ServiceId: id });
    await cloudMap().send(new DeleteServiceCommand({ Id: id }));
    await expect(cloudMap().send(new GetServiceCommand({ Id: id }))).rejects.toMatchObject({ name: 'ServiceNotFound' });
  });

  it('answers InvalidInput naming the member and value for out-of-range input', async () => {
    await expect(cloudMap().send(new ListServicesCommand({ MaxResults: 101 }))).rejects.toMatchObject({
      name: 'InvalidInput',
      message: expect.stringContaining("'MaxResults' (101)"),
    });
    await expect(cloudMap().send(new ListServicesCommand({ NextToken: 'not-a-token' }))).rejects.toMatchObject({
      name: 'InvalidInput',
    });
  });

  it('tags and untags a service', async () => {
    const id = await service(await namespace());
    const { Service } = await cloudMap().send(new GetServiceCommand({ Id: id }));
    const ResourceARN = Service?.Arn as string;
    await cloudMap().send(new TagResourceCommand({ ResourceARN, Tags: [{ Key: 'meshgate:expose', Value: 'true' }] }));
    await cloudMap().send(new TagResourceCommand({ ResourceARN, Tags: [{ Key: 'owner', Value: 'edge' }] }));
    await cloudMap().send(new UntagResourceCommand({ ResourceARN, TagKeys: ['owner'] }));
    expect((await cloudMap().send(new ListTagsForResourceCommand({ ResourceARN }))).Tags).toEqual([
      { Key: 'meshgate:expose', Value: 'true' },
    ]);
    await expect(
      cloudMap().send(new ListTagsForResourceCommand({ ResourceARN: `${ResourceARN}-gone` })),
    ).rejects.toMatchObject({ name: 'ResourceNotFoundException' });
  });
});

describe('Cloud Map instances', () => {
  it('registers and deregisters asynchronously, lists with pagination', async () => {
    const id = await service(await namespace());
    const registered = await cloudMap().send(
      new RegisterInstanceCommand({
        ServiceId: id,
        InstanceId: 'i-1',
        Attributes: { AWS_INSTANCE_IPV4: '10.0.0.1', AWS_INSTANCE_PORT: '8080' },
      }),
    );
    const { Operation } = await cloudMap().send(new GetOperationCommand({ OperationId: registered.OperationId }));
    expect(Operation).toMatchObject({ Type: 'REGISTER_INSTANCE', Status: 'SUCCESS', Targets: { INSTANCE: 'i-1' } });
    for (let index = 2; index <= 3; index += 1) {
      await cloudMap().send(
        new RegisterInstanceCommand({
          ServiceId: id,
          InstanceId: `i-${index}`,
          Attributes: { AWS_INSTANCE_IPV4: '10.0.0.2' },
        }),
      );
    }
    const first = await cloudMap().send(new ListInstancesCommand({ ServiceId: id, MaxResults: 2 }));
    expect(first.Instances?.map((instance) => instance.Id)).toEqual(['i-1', 'i-2']);
    const second = await cloudMap().send(new ListInstancesCommand({ ServiceId: id, NextToken: first.NextToken }));
    expect(second.Instances?.map((instance) => instance.Id)).toEqual(['i-3']);
    expect(second.NextToken).toBeUndefined();
    expect(
      (await cloudMap().send(new GetInstanceCommand({ ServiceId: id, InstanceId: 'i-1' }))).Instance,
    ).toMatchObject({
      Id: 'i-1',
      Attributes: { AWS_INSTANCE_IPV4: '10.0.0.1', AWS_INSTANCE_PORT: '8080' },
    });
    expect((await cloudMap().send(new GetServiceCommand({ Id: id }))).Service?.InstanceCount).toBe(3);

    const deregistered = await cloudMap().send(new DeregisterInstanceCommand({ ServiceId: id, InstanceId: 'i-2' }));
    expect(deregistered.OperationId).toBeTruthy();
    await expect(
      cloudMap().send(new DeregisterInstanceCommand({ ServiceId: id, InstanceId: 'i-2' })),
    ).rejects.toMatchObject({ name: 'InstanceNotFound' });
    await expect(
      cloudMap().send(new RegisterInstanceCommand({ ServiceId: 'srv-none', InstanceId: 'x', Attributes: {} })),
    ).rejects.toMatchObject({ name: 'ServiceNotFound' });
    await expect(cloudMap().send(new DeleteServiceCommand({ Id: id }))).rejects.toMatchObject({
      name: 'ResourceInUse',
    });
    await expect(cloudMap().send(new GetOperationCommand({ OperationId: 'nope' }))).rejects.toMatchObject({
      name: 'OperationNotFound',
    });
  });

  it('discovers instances by health: initial status attribute, custom health updates, and every filter', async () => {
    const ns = await namespace('apps.local');
    const id = await service(ns, 'orders', true);
    const register = (InstanceId: string, health: string) =>
      cloudMap().send(
        new RegisterInstanceCommand({
          ServiceId: id,
          InstanceId,
          Attributes: { AWS_INIT_HEALTH_STATUS: health, zone: 'a' },
        }),
      );
    await register('i-1', 'HEALTHY');
    await register('i-2', 'UNHEALTHY');
    const discover = async (HealthStatus?: 'HEALTHY' | 'UNHEALTHY' | 'ALL' | 'HEALTHY_OR_ELSE_ALL') =>
      (
        await cloudMap().send(
          new DiscoverInstancesCommand({ NamespaceName: 'apps.local', ServiceName: 'orders', HealthStatus }),
        )
      ).Instances?.map((instance) => `${instance.InstanceId}:${instance.HealthStatus}`);
    expect(await discover('HEALTHY')).toEqual(['i-1:HEALTHY']);
    expect(await discover('UNHEALTHY')).toEqual(['i-2:UNHEALTHY']);
    expect(await discover('ALL')).toEqual(['i-1:HEALTHY', 'i-2:UNHEALTHY']);
    await cloudMap().send(
      new UpdateInstanceCustomHealthStatusCommand({ ServiceId: id, InstanceId: 'i-1', Status: 'UNHEALTHY' }),
    );
    expect(await discover('HEALTHY')).toEqual([]);
    expect(await discover('HEALTHY_OR_ELSE_ALL')).toEqual(['i-1:UNHEALTHY', 'i-2:UNHEALTHY']);

    const filtered = await cloudMap().send(
      new DiscoverInstancesCommand({
        NamespaceName: 'apps.local',
        ServiceName: 'orders',
        HealthStatus: 'ALL',
        QueryParameters: { zone: 'a' },
        MaxResults: 1,
      }),
    );
    expect(filtered.Instances).toHaveLength(1);
    expect(filtered.Instances?.[0]).toMatchObject({
      NamespaceName: 'apps.local',
      ServiceName: 'orders',
      Attributes: { zone: 'a' },
    });
    await expect(
      cloudMap().send(new DiscoverInstancesCommand({ NamespaceName: 'nope', ServiceName: 'orders' })),
    ).rejects.toMatchObject({ name: 'NamespaceNotFound' });
    await expect(
      cloudMap().send(new DiscoverInstancesCommand({ NamespaceName: 'apps.local', ServiceName: 'nope' })),
    ).rejects.toMatchObject({ name: 'ServiceNotFound' });
  });

  it('ignores the health filter for services without health checks, and refuses custom health updates there', async () => {
    const id = await service(await namespace('plain.local'), 'plain');
    await cloudMap().send(
      new RegisterInstanceCommand({
        ServiceId: id,
        InstanceId: 'i-1',
        Attributes: { AWS_INIT_HEALTH_STATUS: 'UNHEALTHY' },
      }),
    );
    const { Instances } = await cloudMap().send(
      new DiscoverInstancesCommand({ NamespaceName: 'plain.local', ServiceName: 'plain', HealthStatus: 'HEALTHY' }),
    );
    expect(Instances?.map((instance) => instance.HealthStatus)).toEqual(['UNKNOWN']);
    await expect(
      cloudMap().send(
        new UpdateInstanceCustomHealthStatusCommand({ ServiceId: id, InstanceId: 'i-1', Status: 'HEALTHY' }),
      ),
    ).rejects.toMatchObject({ name: 'CustomHealthNotFound' });
  });
});
