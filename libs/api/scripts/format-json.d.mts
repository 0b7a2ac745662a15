// Types for format-json.mjs.
export function formatJson(value: unknown, path: string): Promise<string>;
