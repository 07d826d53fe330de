import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A throwaway CA and one server certificate it signed, as PEM (local stack and tests only). */
export interface TestPki {
  caCert: string;
  serverCert: string;
  serverKey: string;
}

/**
 * Generates a CA and a server certificate for `names` (DNS SANs, plus 127.0.0.1) with the openssl CLI: Node can
 * sign data but has no API to issue X.509 certificates. Keys are EC P-256 and live one day.
 */
export function issueTestPki(names: string[]): TestPki {
  const dir = mkdtempSync(join(tmpdir(), 'meshgate-pki-'));
  const run = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  try {
    run('ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', 'ca.key');
    run('req', '-x509', '-new', '-key', 'ca.key', '-days', '1', '-subj', '/CN=meshgate test mesh CA', '-out', 'ca.pem');
    run('ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', 'server.key');
    run('req', '-new', '-key', 'server.key', '-subj', `/CN=${names[0] ?? 'localhost'}`, '-out', 'server.csr');
    const sans = [...names.map((name) => `DNS:${name}`), 'IP:127.0.0.1'].join(',');
    writeFileSync(join(dir, 'ext.cnf'), `subjectAltName=${sans}\nbasicConstraints=CA:FALSE\n`);
    run(
      'x509',
      '-req',
      '-in',
      'server.csr',
      '-CA',
      'ca.pem',
      '-CAkey',
      'ca.key',
      '-CAcreateserial',
      '-days',
      '1',
      '-extfile',
      'ext.cnf',
      '-out',
      'server.pem',
    );
    const read = (name: string) => readFileSync(join(dir, name), 'utf8');
    return { caCert: read('ca.pem'), serverCert: read('server.pem'), serverKey: read('server.key') };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
