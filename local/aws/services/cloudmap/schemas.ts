import { z } from 'zod';
import { AwsServiceError } from '../../protocol.js';

/** Cloud Map request members (servicediscovery 2017-03-14 model): names, required members, lengths and enums. */
const resourceId = z.string().max(64);
const tags = z.array(z.object({ Key: z.string().min(1).max(128), Value: z.string().max(256) })).max(200);
const attributes = z.record(z.string().min(1).max(255), z.string().max(1024));
const maxResults = z.int().min(1).max(100);
const namespaceName = z.string().min(1).max(1024);

const createNamespace = {
  Name: namespaceName,
  CreatorRequestId: resourceId.optional(),
  Description: z.string().max(1024).optional(),
  Tags: tags.optional(),
};

export const schemas = {
  CreateHttpNamespace: z.object(createNamespace),
  CreatePrivateDnsNamespace: z.object({
    ...createNamespace,
    Name: z.string().min(1).max(253),
    Vpc: resourceId,
    Properties: z.object({ DnsProperties: z.object({ SOA: z.object({ TTL: z.int().min(0) }) }) }).optional(),
  }),
  GetNamespace: z.object({ Id: resourceId }),
  DeleteNamespace: z.object({ Id: resourceId }),
  ListNamespaces: z.object({
    NextToken: z.string().max(4096).optional(),
    MaxResults: maxResults.optional(),
    Filters: z
      .array(
        z.object({
          Name: z.enum(['TYPE', 'NAME', 'HTTP_NAME']),
          Values: z.array(z.string()),
          Condition: z.enum(['EQ', 'IN', 'BETWEEN', 'BEGINS_WITH']).optional(),
        }),
      )
      .optional(),
  }),
  CreateService: z.object({
    Name: z.string().min(1).max(127),
    NamespaceId: resourceId.optional(),
    CreatorRequestId: resourceId.optional(),
    Description: z.string().max(1024).optional(),
    DnsConfig: z
      .object({
        NamespaceId: resourceId.optional(),
        RoutingPolicy: z.enum(['MULTIVALUE', 'WEIGHTED']).optional(),
        DnsRecords: z.array(z.object({ Type: z.enum(['SRV', 'A', 'AAAA', 'CNAME']), TTL: z.int().min(0) })),
      })
      .optional(),
    HealthCheckConfig: z
      .object({
        Type: z.enum(['HTTP', 'HTTPS', 'TCP']),
        ResourcePath: z.string().max(255).optional(),
        FailureThreshold: z.int().min(1).max(10).optional(),
      })
      .optional(),
    HealthCheckCustomConfig: z.object({ FailureThreshold: z.int().min(1).max(10).optional() }).optional(),
    Tags: tags.optional(),
    Type: z.enum(['HTTP']).optional(),
  }),
  GetService: z.object({ Id: resourceId }),
  DeleteService: z.object({ Id: resourceId }),
  ListServices: z.object({
    NextToken: z.string().max(4096).optional(),
    MaxResults: maxResults.optional(),
    Filters: z
      .array(
        z.object({
          Name: z.enum(['NAMESPACE_ID']),
          Values: z.array(z.string()).min(1),
          Condition: z.enum(['EQ', 'IN', 'BETWEEN', 'BEGINS_WITH']).optional(),
        }),
      )
      .optional(),
  }),
  RegisterInstance: z.object({
    ServiceId: resourceId,
    InstanceId: z
      .string()
      .max(64)
      .regex(/^[0-9a-zA-Z_/:.@-]+$/),
    CreatorRequestId: resourceId.optional(),
    Attributes: attributes,
  }),
  DeregisterInstance: z.object({ ServiceId: resourceId, InstanceId: resourceId }),
  GetInstance: z.object({ ServiceId: resourceId, InstanceId: resourceId }),
  ListInstances: z.object({
    ServiceId: resourceId,
    NextToken: z.string().max(4096).optional(),
    MaxResults: maxResults.optional(),
  }),
  DiscoverInstances: z.object({
    NamespaceName: namespaceName,
    ServiceName: z.string().min(1).max(127),
    MaxResults: z.int().min(1).max(1000).optional(),
    QueryParameters: attributes.optional(),
    OptionalParameters: attributes.optional(),
    HealthStatus: z.enum(['HEALTHY', 'UNHEALTHY', 'ALL', 'HEALTHY_OR_ELSE_ALL']).optional(),
  }),
  UpdateInstanceCustomHealthStatus: z.object({
    ServiceId: resourceId,
    InstanceId: resourceId,
    Status: z.enum(['HEALTHY', 'UNHEALTHY']),
  }),
  GetOperation: z.object({ OperationId: z.string().max(255) }),
  TagResource: z.object({ ResourceARN: z.string().min(1).max(1011), Tags: tags }),
  UntagResource: z.object({ ResourceARN: z.string().min(1).max(1011), TagKeys: z.array(z.string()).max(200) }),
  ListTagsForResource: z.object({ ResourceARN: z.string().min(1).max(1011) }),
};

export type CloudMapOperation = keyof typeof schemas;
export type CloudMapInput<Op extends CloudMapOperation> = z.infer<(typeof schemas)[Op]>;

/** The input parsed against the operation's members; InvalidInput names the first bad member and its value. */
export function parseInput<Op extends CloudMapOperation>(operation: Op, input: unknown): CloudMapInput<Op> {
  const result = schemas[operation].safeParse(input);
  if (result.success) return result.data as CloudMapInput<Op>;
  const issue = result.error.issues[0];
  const path = issue?.path.map(String).join('.') ?? '';
  let value: unknown = input;
  for (const key of issue?.path ?? []) value = (value as Record<PropertyKey, unknown> | undefined)?.[key];
  throw new AwsServiceError(
    'InvalidInput',
    `Invalid value for '${path}' (${JSON.stringify(value) ?? 'missing'}): ${issue?.message ?? 'invalid'}.`,
    400,
  );
}
