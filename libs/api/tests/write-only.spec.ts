import { describe, expect, it } from 'vitest';
import { buildImage, type MessageDescriptorJson } from '../scripts/buf-workspace.mjs';
import { writeOnlyFieldPaths } from '../src/index.js';

interface FieldOptions {
  '[google.api.field_behavior]'?: string[];
}

describe('write-only fields', () => {
  it('writeOnlyFieldPaths lists exactly the INPUT_ONLY fields of every OPI resource', () => {
    const image = buildImage();
    const messages = new Map<string, MessageDescriptorJson>();
    for (const file of image.file) {
      const visit = (scope: string, list: MessageDescriptorJson[] = []) => {
        for (const m of list) {
          messages.set(`${scope}.${m.name}`, m);
          visit(`${scope}.${m.name}`, m.nestedType);
        }
      };
      visit(file.package ?? '', file.messageType);
    }
    // Paths to INPUT_ONLY fields reachable from a message, in proto3 JSON (camelCase) names.
    const inputOnlyPaths = (typeName: string, prefix: string, depth: number): string[] =>
      depth > 4
        ? []
        : (messages.get(typeName)?.field ?? []).flatMap((field) => {
            const jsonName = field.name.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());
            const options = (field as { options?: FieldOptions }).options;
            if (options?.['[google.api.field_behavior]']?.includes('INPUT_ONLY')) {
              return [`${prefix}${jsonName}`];
            }
            return field.type === 'TYPE_MESSAGE' && field.typeName
              ? inputOnlyPaths(field.typeName.slice(1), `${prefix}${jsonName}.`, depth + 1)
              : [];
          });
    // Resources are the messages whose field 1 is `name`, and that are not requests.
    const expected: Record<string, string[]> = {};
    for (const [name, message] of messages) {
      if (!name.startsWith('opi_api.') || /Request$|Response$/.test(name)) continue;
      if (message.field?.[0]?.name !== 'name') continue;
      const paths = inputOnlyPaths(name, '', 0);
      if (paths.length > 0) expected[name] = paths.sort();
    }
    expect(expected).toEqual(writeOnlyFieldPaths);
    expect(Object.keys(expected)).toContain('opi_api.storage.v1.EncryptedVolume');
  });
});
