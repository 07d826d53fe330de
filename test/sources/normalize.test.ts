import type { GatewayRouteData } from '@aws-sdk/client-app-mesh';
import { describe, expect, it } from 'vitest';
import { discoveryFromTags, toGatewayRoute } from '../../shared/sources/appmesh/index.js';
import { toEndpoint } from '../../shared/sources/cloudmap/index.js';
import { SourceError } from '../../shared/sources/index.js';

describe('gateway discovery tags', () => {
  it('names a Cloud Map service or a DNS endpoint', () => {
    expect(discoveryFromTags({ 'meshgate:cloudmap-service': 'apps.local/ingress' })).toEqual({
      kind: 'cloudmap',
      namespace: 'apps.local',
      service: 'ingress',
    });
    expect(discoveryFromTags({ 'meshgate:dns-endpoint': 'gw.example.com:8443' })).toEqual({
      kind: 'dns',
      hostname: 'gw.example.com',
      port: 8443,
    });
    expect(discoveryFromTags({ 'meshgate:dns-endpoint': 'gw.example.com' })).toEqual({
      kind: 'dns',
      hostname: 'gw.example.com',
    });
    expect(discoveryFromTags({ 'meshgate:dns-endpoint': '[fd00::1]:80' })).toEqual({
      kind: 'dns',
      hostname: '[fd00::1]',
      port: 80,
    });
    expect(discoveryFromTags({ team: 'edge' })).toBeUndefined();
  });

  it.each([
    [{ 'meshgate:cloudmap-service': 'apps.local' }, 'is not <namespaceName>/<serviceName>'],
    [{ 'meshgate:cloudmap-service': 'a/b/c' }, 'is not <namespaceName>/<serviceName>'],
    [{ 'meshgate:dns-endpoint': 'gw.example.com:99999' }, 'is not <hostname>[:<port>]'],
    [{ 'meshgate:dns-endpoint': 'http://gw.example.com' }, 'is not <hostname>[:<port>]'],
    [{ 'meshgate:cloudmap-service': 'a/b', 'meshgate:dns-endpoint': 'gw' }, 'are both set'],
  ])('refuses %o naming the tag', (tags, reason) => {
    expect(() => discoveryFromTags(tags)).toThrow(SourceError);
    expect(() => discoveryFromTags(tags)).toThrow(reason);
  });
});

describe('Cloud Map instance to endpoint', () => {
  it('takes the host from IPv4, then IPv6, then CNAME, and the port from the attribute or the default', () => {
    expect(
      toEndpoint(
        {
          InstanceId: 'i-1',
          HealthStatus: 'HEALTHY',
          Attributes: { AWS_INSTANCE_IPV6: 'fd00::1', AWS_INSTANCE_IPV4: '10.0.0.1', AWS_INSTANCE_PORT: '8080' },
        },
        80,
      ),
    ).toEqual({
      instanceId: 'i-1',
      host: '10.0.0.1',
      port: 8080,
      healthy: true,
      attributes: { AWS_INSTANCE_IPV6: 'fd00::1', AWS_INSTANCE_IPV4: '10.0.0.1', AWS_INSTANCE_PORT: '8080' },
    });
    expect(toEndpoint({ InstanceId: 'i-2', Attributes: { AWS_INSTANCE_CNAME: 'a.example.com' } }, 80)).toMatchObject({
      host: 'a.example.com',
      port: 80,
      healthy: true,
    });
    expect(
      toEndpoint({ InstanceId: 'i-3', HealthStatus: 'UNHEALTHY', Attributes: { AWS_INSTANCE_IPV6: 'fd00::3' } }, 9000),
    ).toMatchObject({ host: 'fd00::3', port: 9000, healthy: false });
  });

  it('explains why an instance cannot be used', () => {
    expect(toEndpoint({ InstanceId: 'i-4', Attributes: { AWS_INSTANCE_PORT: '80' } }, 80)).toBe(
      "instance 'i-4' has none of AWS_INSTANCE_IPV4, AWS_INSTANCE_IPV6, AWS_INSTANCE_CNAME",
    );
    expect(
      toEndpoint({ InstanceId: 'i-5', Attributes: { AWS_INSTANCE_IPV4: '10.0.0.5', AWS_INSTANCE_PORT: '0' } }, 80),
    ).toBe("instance 'i-5' has AWS_INSTANCE_PORT '0', which is not a port (1-65535)");
    expect(toEndpoint({ InstanceId: 'i-6', Attributes: { AWS_INSTANCE_IPV4: '10.0.0.6' } }, undefined)).toBe(
      "instance 'i-6' has no AWS_INSTANCE_PORT and there is no listener port to fall back on",
    );
  });
});

describe('gateway route normalization', () => {
  const base = {
    meshName: 'apps',
    virtualGatewayName: 'gw',
    gatewayRouteName: 'r',
    metadata: {
      arn: 'arn:aws:appmesh:us-east-1:123456789012:mesh/apps/virtualGateway/gw/gatewayRoute/r',
      version: 3,
      createdAt: new Date(0),
      lastUpdatedAt: new Date(0),
      meshOwner: '123456789012',
      resourceOwner: '123456789012',
      uid: 'u',
    },
    status: { status: 'ACTIVE' },
  } satisfies Partial<GatewayRouteData>;

  it('takes the protocol from the spec member and drops members the model does not know', () => {
    const route = toGatewayRoute(
      {
        ...base,
        spec: {
          priority: 7,
          grpcRoute: {
            match: {
              serviceName: 'orders.v1.Orders',
              metadata: [{ name: 'x-tenant', match: { $unknown: ['future', 1] } as never }],
            },
            action: { target: { virtualService: { virtualServiceName: 'orders.apps.local' }, port: 50051 } },
          },
        },
      },
      { 'meshgate:auth': 'jwt' },
    );
    expect(route).toEqual({
      mesh: 'apps',
      gateway: 'gw',
      name: 'r',
      arn: base.metadata.arn,
      version: 3,
      protocol: 'grpc',
      priority: 7,
      match: { serviceName: 'orders.v1.Orders', metadata: [{ name: 'x-tenant', match: {} }] },
      target: { virtualService: 'orders.apps.local', port: 50051 },
      tags: { 'meshgate:auth': 'jwt' },
    });
  });

  it('refuses a spec without a route and a route without a target, saying why', () => {
    expect(() => toGatewayRoute({ ...base, spec: {} }, {})).toThrow(
      'gateway route spec has none of httpRoute, http2Route, grpcRoute',
    );
    expect(() =>
      toGatewayRoute({ ...base, spec: { httpRoute: { match: { prefix: '/' }, action: undefined } } }, {}),
    ).toThrow(/gateway route does not fit the mesh model: .*target\.virtualService/);
  });
});
