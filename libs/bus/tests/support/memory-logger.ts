import { Writable } from 'node:stream';
import { pino, type Logger } from 'pino';

/** A pino logger writing JSON lines into an array, for assertions on what was logged. */
export function memoryLogger(): {
  logger: Logger;
  lines: Array<Record<string, unknown>>;
  text: () => string;
} {
  const lines: Array<Record<string, unknown>> = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      for (const line of chunk.toString('utf8').split('\n').filter(Boolean))
        lines.push(JSON.parse(line));
      callback();
    },
  });
  return {
    logger: pino({ level: 'debug' }, stream),
    lines,
    text: () => lines.map((line) => JSON.stringify(line)).join('\n'),
  };
}
