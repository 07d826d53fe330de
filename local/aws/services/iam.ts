import { randomUUID } from 'node:crypto';
import { AwsServiceError, type AwsServiceModule } from '../protocol.js';

/**
 * IAM's `SimulatePrincipalPolicy` (awsQuery: a form-encoded POST, `Action=…&Version=2010-05-08`, answered in XML),
 * evaluated by the same evaluator that enforces the roles on every call (local/aws/iam), so what `meshgate doctor`
 * is told is what the double does. Only roles the double knows (serverless.yml's) can be simulated; others are
 * `NoSuchEntity`, as IAM answers for a role that does not exist. Context entries, permissions boundaries and
 * resource policies are not modelled (the enforcer does not model them either); results are never truncated.
 */
const VERSION = '2010-05-08';
const XMLNS = `https://iam.amazonaws.com/doc/${VERSION}/`;

/** `ActionNames.member.1=a&ActionNames.member.2=b` → `[a, b]`, in member order. */
export function queryList(form: URLSearchParams, name: string): string[] {
  const members: [number, string][] = [];
  for (const [key, value] of form) {
    const index = new RegExp(`^${name}\\.member\\.(\\d+)$`).exec(key)?.[1];
    if (index) members.push([Number(index), value]);
  }
  return members.sort(([a], [b]) => a - b).map(([, value]) => value);
}

function form(body: Buffer): URLSearchParams {
  return new URLSearchParams(body.toString('utf8'));
}

const escapeXml = (value: string) => value.replace(/[<>&'"]/g, (char) => `&#${char.charCodeAt(0)};`);

export function createIamService(): AwsServiceModule {
  return {
    signingName: 'iam',
    protocol: 'query',
    operationOf: (request) => form(request.body).get('Action') ?? undefined,
    iamCall(request) {
      const input = form(request.body);
      const action = input.get('Action');
      if (action !== 'SimulatePrincipalPolicy') return undefined;
      return { action: `iam:${action}`, resources: [input.get('PolicySourceArn') ?? ''].filter(Boolean) };
    },
    reset: () => {},
    async handle(request, context) {
      const input = form(request.body);
      const action = input.get('Action');
      if (input.get('Version') !== VERSION) {
        throw new AwsServiceError(
          'InvalidAction',
          `Could not find operation ${action ?? ''} for version ${input.get('Version') ?? ''}`,
        );
      }
      if (action !== 'SimulatePrincipalPolicy') {
        throw new AwsServiceError('InvalidAction', `Could not find operation ${action ?? ''} for version ${VERSION}`);
      }
      const source = input.get('PolicySourceArn');
      const actions = queryList(input, 'ActionNames');
      if (!source)
        throw validation("Value null at 'policySourceArn' failed to satisfy constraint: Member must not be null");
      if (actions.length === 0) {
        throw validation("Value null at 'actionNames' failed to satisfy constraint: Member must not be null");
      }
      if (!/^arn:aws[a-z-]*:iam::\d{12}:(role|user|group)\/.+$/.test(source)) {
        throw new AwsServiceError('InvalidInput', `ARN ${source} is not valid.`);
      }
      const results = await context.simulatePrincipalPolicy(source, actions, queryList(input, 'ResourceArns'));
      const members = results
        .map(
          (result) =>
            `<member><EvalActionName>${escapeXml(result.action)}</EvalActionName><EvalResourceName>${escapeXml(result.resource)}</EvalResourceName><EvalDecision>${result.decision}</EvalDecision><MatchedStatements>${
              result.statement
                ? `<member><SourcePolicyId>${escapeXml(result.statement.Sid ?? 'policy')}</SourcePolicyId><SourcePolicyType>IAM Policy</SourcePolicyType></member>`
                : ''
            }</MatchedStatements><MissingContextValues/></member>`,
        )
        .join('');
      return {
        status: 200,
        headers: { 'content-type': 'text/xml' },
        body: `<SimulatePrincipalPolicyResponse xmlns="${XMLNS}"><SimulatePrincipalPolicyResult><IsTruncated>false</IsTruncated><EvaluationResults>${members}</EvaluationResults></SimulatePrincipalPolicyResult><ResponseMetadata><RequestId>${randomUUID()}</RequestId></ResponseMetadata></SimulatePrincipalPolicyResponse>`,
      };
    },
  };
}

function validation(message: string): AwsServiceError {
  return new AwsServiceError('ValidationError', `1 validation error detected: ${message}`);
}
