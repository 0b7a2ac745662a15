import { createServer } from 'node:net';

/**
 * freePort asks the kernel for an unused TCP port on 127.0.0.1 and releases it again.
 * Another process may grab the port before the caller binds it; callers that spawn servers
 * should retry on "address in use" (startNatsServer does).
 */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      if (address === null || typeof address === 'string') {
        server.close();
        reject(new Error('freePort: the kernel returned no TCP address'));
        return;
      }
      server.close(() => resolve(address.port));
    });
  });
}
