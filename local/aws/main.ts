import { parseArgs } from 'node:util';
import { startAwsDouble } from './server.js';

/** `npm run local:aws -- --port P`: the AWS double alone on 127.0.0.1:P, in the foreground until SIGTERM/SIGINT. */
const { values } = parseArgs({ options: { port: { type: 'string', default: '4566' } } });
const port = Number(values.port);
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  console.error(`--port must be an integer 0..65535, got '${values.port}'`);
  process.exit(2);
}

const double = await startAwsDouble({ port });
console.log(`AWS double listening on ${double.url} (App Mesh, Cloud Map, S3, EventBridge, Secrets Manager, Lambda)`);
console.log('Point the AWS SDK and CLI at it with:');
for (const [name, value] of Object.entries(double.env())) console.log(`  export ${name}=${value}`);
console.log(`  aws --endpoint-url ${double.url} appmesh list-meshes`);
console.log(
  "IAM is enforced for the functions' roles (serverless.yml); those keys are the operator, allowed all. As a role:",
);
for (const [fn, role] of Object.entries(double.functionRoles)) console.log(`  ${fn}: ${role}`);
console.log('  (credentialsForRole(roleArn) in local/aws/identity.ts gives its access keys)');

for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.once(signal, () => {
    void double.close().then(() => process.exit(0));
  });
}
