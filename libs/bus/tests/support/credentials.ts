// Test credentials made on the spot: a private CA with server and client certificates (openssl),
// and a decentralized-auth operator/account/user chain with a user .creds file (nkeys + JWT).
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { createAccount, createOperator, createUser, type KeyPair } from '@nats-io/nkeys';

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

function base64url(value: string | Uint8Array): string {
  return Buffer.from(value).toString('base64url');
}

function signJwt(issuer: KeyPair, claims: Record<string, unknown>): string {
  const header = base64url(JSON.stringify({ typ: 'JWT', alg: 'ed25519-nkey' }));
  const body = base64url(
    JSON.stringify({
      jti: randomUUID().replace(/-/g, ''),
      iat: Math.floor(Date.now() / 1000),
      iss: issuer.getPublicKey(),
      ...claims,
    }),
  );
  const signature = issuer.sign(new TextEncoder().encode(`${header}.${body}`));
  return `${header}.${body}.${base64url(signature)}`;
}

/** What {@link makeDecentralizedAuth} produced. */
export interface TestOperatorAuth {
  /** nats-server configuration (operator JWT, memory resolver preloaded with the account). */
  serverConfig: string;
  /** A user .creds file of that account. */
  credsFile: string;
  /** The user's nkey seed, which must never appear in logs. */
  userSeed: string;
}

/** makeDecentralizedAuth creates operator → account → user and writes the user's creds file. */
export async function makeDecentralizedAuth(dir: string): Promise<TestOperatorAuth> {
  const operator = createOperator();
  const account = createAccount();
  const user = createUser();
  const unlimited = { subs: -1, data: -1, payload: -1 };
  const operatorJwt = signJwt(operator, {
    sub: operator.getPublicKey(),
    name: 'opi-test-operator',
    nats: { type: 'operator', version: 2 },
  });
  const accountJwt = signJwt(operator, {
    sub: account.getPublicKey(),
    name: 'opi-test-account',
    nats: {
      type: 'account',
      version: 2,
      limits: { ...unlimited, imports: -1, exports: -1, wildcards: true, conn: -1, leaf: -1 },
    },
  });
  const userJwt = signJwt(account, {
    sub: user.getPublicKey(),
    name: 'opi-test-user',
    nats: { type: 'user', version: 2, pub: {}, sub: {}, ...unlimited },
  });
  const userSeed = new TextDecoder().decode(user.getSeed());
  const credsFile = join(dir, 'user.creds');
  await writeFile(
    credsFile,
    `-----BEGIN NATS USER JWT-----\n${userJwt}\n------END NATS USER JWT------\n\n` +
      `************************* IMPORTANT *************************\n` +
      `NKEY Seed printed below can be used to sign and prove identity.\n\n` +
      `-----BEGIN USER NKEY SEED-----\n${userSeed}\n------END USER NKEY SEED------\n`,
    { mode: 0o600 },
  );
  const serverConfig =
    `operator: ${operatorJwt}\n` +
    `resolver: MEMORY\n` +
    `resolver_preload: {\n  ${account.getPublicKey()}: ${accountJwt}\n}\n`;
  return { serverConfig, credsFile, userSeed };
}
