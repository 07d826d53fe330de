import { createHmac } from 'node:crypto';

/**
 * Role-bound credentials of the AWS double, deterministic so every process (the double, a test, `npm start`'s
 * workload) derives the same ones: the access key id encodes the role, the secret is an HMAC of it. A minimal
 * rendition of the interface the IAM enforcement uses; the lead merges it with that work.
 */
const SEED = 'meshgate-aws-double';

export interface RoleCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

const PREFIX = 'ASIA';

export function credentialsForRole(roleArn: string): RoleCredentials {
  // ASIA marks temporary (assumed-role) credentials; the rest names the role (base64url, no '/' to break SigV4's
  // credential scope), so any process can tell the role from the key id alone.
  const accessKeyId = `${PREFIX}${Buffer.from(roleArn).toString('base64url')}`;
  return {
    accessKeyId,
    secretAccessKey: createHmac('sha256', SEED).update(roleArn).digest('base64'),
    sessionToken: createHmac('sha256', `${SEED}/session`).update(roleArn).digest('base64'),
  };
}

/** The role behind an access key id issued by credentialsForRole, with its secret; undefined for any other id. */
export function roleForAccessKey(accessKeyId: string): { roleArn: string; secretAccessKey: string } | undefined {
  if (!accessKeyId.startsWith(PREFIX)) return undefined;
  const roleArn = Buffer.from(accessKeyId.slice(PREFIX.length), 'base64url').toString('utf8');
  if (!/^arn:aws[a-z-]*:iam::\d{12}:role\/.+$/.test(roleArn)) return undefined;
  const credentials = credentialsForRole(roleArn);
  return credentials.accessKeyId === accessKeyId
    ? { roleArn, secretAccessKey: credentials.secretAccessKey }
    : undefined;
}
