import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  buildImage,
  libDir,
  protoDir,
  type MessageDescriptorJson,
} from '../scripts/buf-workspace.mjs';
import {
  defaultJsonPath,
  defaultTablePath,
  formatWireTable,
  parseWireTable,
} from '../scripts/wire-table.mjs';
import { compareWireTables, wireViewOf, type WireTable } from './support/wire-view.js';

const committedTable = JSON.parse(readFileSync(defaultJsonPath, 'utf8')) as WireTable;
const isOpiPackage = (pkg: string) => pkg.startsWith('opi_api.');

/** Copies our proto tree to a temp dir and rewrites one line of one file in the copy. */
function mutatedProtoTree(file: string, from: string, to: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'opi-api-mutant-'));
  cpSync(protoDir, dir, { recursive: true });
  const path = join(dir, file);
  const text = readFileSync(path, 'utf8');
  if (!text.includes(from)) throw new Error(`mutation target "${from}" not in ${file}`);
  writeFileSync(path, text.replace(from, to));
  return dir;
}

describe('OPI wire compatibility', () => {
  const tempDirs: string[] = [];
  afterAll(() => tempDirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

  it('compiled opi_api protos match every service, field and enum value of the table', () => {
    const actual = wireViewOf(buildImage(), isOpiPackage);
    expect(compareWireTables(committedTable, actual)).toEqual([]);
  });

  it('every OPI field keeps its default proto3 JSON name (JSON clients such as buf curl rely on it)', () => {
    const defaultJsonName = (name: string) =>
      name.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());
    const renamed: string[] = [];
    const visit = (scope: string, messages: MessageDescriptorJson[] = []) => {
      for (const message of messages) {
        for (const field of message.field ?? []) {
          const jsonName = (field as { jsonName?: string }).jsonName;
          if (jsonName !== defaultJsonName(field.name)) {
            renamed.push(`${scope}.${message.name}.${field.name} -> ${jsonName}`);
          }
        }
        visit(`${scope}.${message.name}`, message.nestedType);
      }
    };
    for (const file of buildImage().file) {
      if (isOpiPackage(file.package ?? '')) visit(file.package ?? '', file.messageType);
    }
    expect(renamed).toEqual([]);
  });

  it('the table copy covers all five OPI packages and every RPC of them', () => {
    const packages = committedTable.packages;
    expect(Object.keys(packages).sort()).toEqual([
      'opi_api.inventory.v1',
      'opi_api.network.evpn_gw.v1alpha1',
      'opi_api.network.opinetcommon.v1alpha1',
      'opi_api.security.v1',
      'opi_api.storage.v1',
    ]);
    const rpcCount = Object.values(packages)
      .flatMap((p) => Object.values(p.services))
      .flat().length;
    expect(rpcCount).toBe(121);
  });

  it.runIf(existsSync(defaultTablePath))(
    'the committed JSON copy equals a fresh parse of shared/opi-api-wire-table.md',
    async () => {
      const fresh = await formatWireTable(parseWireTable(readFileSync(defaultTablePath, 'utf8')));
      expect(readFileSync(defaultJsonPath, 'utf8')).toBe(fresh);
    },
  );

  it('a renumbered field makes the comparison fail and names that field', () => {
    const mutant = mutatedProtoTree(
      'opi_api/storage/v1/backend_malloc.proto',
      'int64 blocks_count = 3',
      'int64 blocks_count = 13',
    );
    tempDirs.push(mutant);
    const problems = compareWireTables(
      committedTable,
      wireViewOf(buildImage(mutant), isOpiPackage),
    );
    expect(problems).toEqual([
      'field opi_api.storage.v1.MallocVolume.blocks_count: protos have 13 int64, the table says 3 int64',
    ]);
  });

  it('dropping proto3 optional (presence) is caught as a label change', () => {
    const mutant = mutatedProtoTree(
      'opi_api/network/evpn_gw/v1alpha1/l3_xpu_infra_mgr.proto',
      'optional uint32 vni = 1;',
      'uint32 vni = 1;',
    );
    tempDirs.push(mutant);
    const problems = compareWireTables(
      committedTable,
      wireViewOf(buildImage(mutant), isOpiPackage),
    );
    expect(problems).toEqual([
      'field opi_api.network.evpn_gw.v1alpha1.VrfSpec.vni: protos have 1 uint32, the table says 1 proto3_optional uint32',
    ]);
  });

  it('a changed enum value and a moved oneof member are both reported', () => {
    const mutant = mutatedProtoTree(
      'opi_api/security/v1/ipsec.proto',
      'INTEG_ALGORITHM_SHA384 = 7;',
      'INTEG_ALGORITHM_SHA384 = 10;',
    );
    tempDirs.push(mutant);
    const text = readFileSync(join(mutant, 'opi_api/storage/v1/frontend_nvme.proto'), 'utf8');
    writeFileSync(
      join(mutant, 'opi_api/storage/v1/frontend_nvme.proto'),
      text.replace(
        '    FabricsEndpoint fabrics_id = 4;\n  }',
        '  }\n  FabricsEndpoint fabrics_id = 4;',
      ),
    );
    const problems = compareWireTables(
      committedTable,
      wireViewOf(buildImage(mutant), isOpiPackage),
    );
    expect(problems).toEqual(
      expect.arrayContaining([
        'enum value opi_api.security.v1.IntegAlgorithm.INTEG_ALGORITHM_SHA384: protos have 10, the table says 7',
        'field opi_api.storage.v1.NvmeControllerSpec.fabrics_id: protos have 4 opi_api.storage.v1.FabricsEndpoint, the table says 4 opi_api.storage.v1.FabricsEndpoint (oneof endpoint)',
      ]),
    );
    expect(problems).toHaveLength(2);
  });

  it('the lib ships its protos next to the table copy it is checked against', () => {
    expect(existsSync(join(libDir, 'proto/opi_api/storage/v1/frontend_nvme.proto'))).toBe(true);
  });
});
