import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger } from './logging.js';

function capture() {
  const stream = new PassThrough();
  const chunks: string[] = [];
  stream.on('data', (chunk: Buffer) => chunks.push(chunk.toString()));
  return { stream, text: () => chunks.join('') };
}

describe('logger', () => {
  it('redacts secret-bearing fields at any depth up to four levels', () => {
    const out = capture();
    const logger = createLogger({ name: 't', level: 'debug', destination: out.stream });
    logger.info(
      {
        password: 'hunter2-top',
        request: { psk: 'psk-one-level', volume: { key: 'key-two-levels' } },
        a: { b: { c: { token: 'token-three-levels' } } },
      },
      'hello',
    );
    const text = out.text();
    for (const secret of ['hunter2-top', 'psk-one-level', 'key-two-levels', 'token-three-levels']) {
      expect(text).not.toContain(secret);
    }
    expect(text).toContain('[REDACTED]');
    expect(JSON.parse(text).msg).toBe('hello');
  });

  it('child loggers carry their component and keep redaction', () => {
    const out = capture();
    const logger = createLogger({ name: 't', level: 'info', destination: out.stream }).child({
      component: 'grpc',
    });
    logger.info({ natsPassword: 'pw-secret' }, 'x');
    const record = JSON.parse(out.text());
    expect(record.component).toBe('grpc');
    expect(out.text()).not.toContain('pw-secret');
  });
});
