/**
 * Credentials bound to an IAM role, for the AWS double. Each function of the local stack (and each test acting as
 * one) signs its calls with its role's credentials; the double reads the role back from the access key id alone, so
 * the mapping needs no shared registry and works across processes (`npm run local:aws` runs the double on its own,
 * the CLI and `serverless invoke local` call it from others).
 *
 * The access key id is `ASIA` + the base32 of `<role ARN>#<session name>` (uppercase letters and digits, like real
 * temporary keys, only longer); the secret is an HMAC of the same, so it cannot be guessed from the key id without
 * this module. Any other access key (the static `meshgate-local` of `awsEnv()`, `test`) is the local operator, who
 * may do anything, as an administrator in a real account may.
 */
import { createHmac } from 'node:crypto';

const KEY_PREFIX = 'ASIA';
const SECRET_KEY = 'meshgate-local-aws-double';
const ROLE_ARN = /^arn:aws[a-z-]*:iam::\d{12}:role\/[\w+=,.@/-]{1,512}$/;
const BASE32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

export interface RoleCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

/** Temporary credentials of `roleArn`, as Lambda hands its function (session name = the function's name). */
export function credentialsForRole(roleArn: string, sessionName = 'meshgate'): RoleCredentials {
  if (!ROLE_ARN.test(roleArn)) throw new Error(`not an IAM role ARN: ${roleArn}`);
  const subject = `${roleArn}#${sessionName}`;
  return {
    accessKeyId: KEY_PREFIX + base32(Buffer.from(subject, 'utf8')),
    secretAccessKey: secretOf(subject),
    sessionToken: `meshgate-local-session/${sessionName}`,
  };
}

/** The role (and session) an access key id was issued for by `credentialsForRole`; undefined for any other key. */
export function roleForAccessKey(
  accessKeyId: string,
): { roleArn: string; secretAccessKey: string; sessionName: string } | undefined {
  if (!accessKeyId.startsWith(KEY_PREFIX)) return undefined;
  const subject = unbase32(accessKeyId.slice(KEY_PREFIX.length))?.toString('utf8');
  const split = subject?.lastIndexOf('#') ?? -1;
  if (!subject || split < 0) return undefined;
  const roleArn = subject.slice(0, split);
  if (!ROLE_ARN.test(roleArn)) return undefined;
  return { roleArn, secretAccessKey: secretOf(subject), sessionName: subject.slice(split + 1) };
}

/** `AWS_ACCESS_KEY_ID` / `AWS_SECRET_ACCESS_KEY` / `AWS_SESSION_TOKEN` for a process acting as `roleArn`. */
export function roleEnv(roleArn: string, sessionName?: string): Record<string, string> {
  const credentials = credentialsForRole(roleArn, sessionName);
  return {
    AWS_ACCESS_KEY_ID: credentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey,
    ...(credentials.sessionToken ? { AWS_SESSION_TOKEN: credentials.sessionToken } : {}),
  };
}

/** The caller as AWS names it in errors: `arn:aws:sts::<account>:assumed-role/<role name>/<session>`. */
export function assumedRoleArn(roleArn: string, sessionName: string): string {
  const [, partition, , , account, resource] = roleArn.split(':');
  const roleName = (resource ?? '').split('/').at(-1);
  return `arn:${partition}:sts::${account}:assumed-role/${roleName}/${sessionName}`;
}

function secretOf(subject: string): string {
  return createHmac('sha256', SECRET_KEY).update(subject).digest('base64').slice(0, 40);
}

function base32(bytes: Buffer): string {
  let bits = 0;
  let value = 0;
  let out = '';
  for (const byte of bytes) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += BASE32[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += BASE32[(value << (5 - bits)) & 31];
  return out;
}

function unbase32(text: string): Buffer | undefined {
  let bits = 0;
  let value = 0;
  const out: number[] = [];
  for (const char of text) {
    const index = BASE32.indexOf(char);
    if (index < 0) return undefined;
    value = ((value << 5) | index) & 0xffff;
    bits += 5;
    if (bits >= 8) {
      out.push((value >>> (bits - 8)) & 0xff);
      bits -= 8;
    }
  }
  return Buffer.from(out);
}
