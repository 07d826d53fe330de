import * as z from '../zod.js';

/**
 * A Kong consumer declared by a Secrets Manager secret tagged `meshgate:consumer=<username>`, with the public half
 * of each live key version (never the private key).
 */
export const ConsumerKeySchema = z.object({
  kid: z.string(),
  alg: z.enum(['ES256', 'RS256', 'EdDSA']),
  publicKeyPem: z.string(),
  createdAt: z.string(),
  versionId: z.string(),
  stages: z.array(z.string()),
});

export const ConsumerSpecSchema = z.object({
  username: z.string(),
  iamRole: z.optional(z.string()),
  secretArn: z.string(),
  keys: z.array(ConsumerKeySchema),
});

export type ConsumerKey = z.infer<typeof ConsumerKeySchema>;
export type ConsumerSpec = z.infer<typeof ConsumerSpecSchema>;

export const CONSUMER_TAG = 'meshgate:consumer';
export const IAM_ROLE_TAG = 'meshgate:iam-role';
