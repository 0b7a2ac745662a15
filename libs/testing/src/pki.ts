// A private PKI made on the spot with openssl, for tests of TLS and mutual TLS.
import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

const exec = promisify(execFile);

/** File paths of a CA, a server certificate for 127.0.0.1 and a client certificate. */
export interface TestPki {
  caFile: string;
  serverCert: string;
  serverKey: string;
  clientCert: string;
  clientKey: string;
}

/** makePki writes a self-signed CA and two leaf certificates into `dir`. */
export async function makePki(dir: string): Promise<TestPki> {
  const path = (name: string) => join(dir, name);
  const openssl = (...args: string[]) => exec('openssl', args);
  await openssl(
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-days',
    '1',
    '-subj',
    '/CN=opi-test-ca',
    '-keyout',
    path('ca.key'),
    '-out',
    path('ca.pem'),
  );
  for (const [name, cn, ext] of [
    [
      'server',
      '127.0.0.1',
      'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth',
    ],
    ['client', 'opi-agent', 'extendedKeyUsage=clientAuth'],
  ] as const) {
    await writeFile(path(`${name}.ext`), `${ext}\n`);
    await openssl(
      'req',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-subj',
      `/CN=${cn}`,
      '-keyout',
      path(`${name}.key`),
      '-out',
      path(`${name}.csr`),
    );
    await openssl(
      'x509',
      '-req',
      '-in',
      path(`${name}.csr`),
      '-CA',
      path('ca.pem'),
      '-CAkey',
      path('ca.key'),
      '-CAcreateserial',
      '-days',
      '1',
      '-extfile',
      path(`${name}.ext`),
      '-out',
      path(`${name}.pem`),
    );
  }
  return {
    caFile: path('ca.pem'),
    serverCert: path('server.pem'),
    serverKey: path('server.key'),
    clientCert: path('client.pem'),
    clientKey: path('client.key'),
  };
}
