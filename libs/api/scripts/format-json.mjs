// Formats JSON the way the repo's prettier config does, so that committed generated JSON
// passes `prettier --check` unchanged.
import { resolveConfig, format } from 'prettier';

/** formatJson pretty-prints `value` for a file at `path` using the repo's prettier config. */
export async function formatJson(value, path) {
  const config = (await resolveConfig(path)) ?? {};
  return format(JSON.stringify(value), { ...config, parser: 'json', filepath: path });
}
