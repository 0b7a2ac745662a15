// Test credentials made on the spot: a decentralized-auth operator/account/user chain with a
// user .creds file (nkeys + JWT). TLS certificates come from @opi/testing's makePki.
import { randomUUID } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createAccount, createOperator, createUser, type KeyPair } from '@nats-io/nkeys';

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
