/**
 * The issueToken function behind its function URL on the local stack: SigV4-verified by the AWS double's
 * function-URL server (local/aws/function-url.ts), and run as the issueToken function, so its AWS calls carry the
 * IssueTokenRole credentials the double enforces, as Lambda gives them to it.
 */
import { type FunctionUrl, type FunctionUrlHandler, startFunctionUrl } from './aws/function-url.js';
import { runAsFunction } from './bus/identity.js';
import type { LocalStack } from './stack.js';

export async function startTokenFunction(stack: LocalStack, port?: number): Promise<FunctionUrl> {
  const { handler } = await import('../functions/issue-token/handler.js');
  const deployedName = `meshgate-${stack.env.MESHGATE_STAGE}-issueToken`;
  const asFunction: FunctionUrlHandler = (event, context) =>
    runAsFunction({ name: 'issueToken', deployedName }, () =>
      (handler as unknown as FunctionUrlHandler)(event, { ...context, functionName: deployedName }),
    );
  return startFunctionUrl(asFunction, {
    functionArn: `arn:aws:lambda:${stack.aws.region}:${stack.aws.account}:function:${deployedName}`,
    region: stack.aws.region,
    ...(port === undefined ? {} : { port }),
  });
}
